import ArgumentParser

@main
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtpscope-gen", abstract: "Write a deterministic synthetic SMTP capture and its truth file.")
}
