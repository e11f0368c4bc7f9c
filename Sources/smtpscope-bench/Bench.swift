import ArgumentParser

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtpscope-bench", abstract: "Measure each pipeline stage on a capture and print the figures.")
}
