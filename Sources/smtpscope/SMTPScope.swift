import Analysis
import ArgumentParser
import Capture

@main
struct SMTPScope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtpscope",
        abstract: "Find out why mail over SMTP gets stuck or duplicated, from packet captures.",
        version: "smtpscope \(SMTPScopeVersion.version) (\(libpcapVersion))"
    )
}
