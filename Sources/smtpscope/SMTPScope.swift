import Analysis
import ArgumentParser
import Capture

#if canImport(Glibc)
import Glibc
#endif

@main
struct SMTPScope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtpscope",
        abstract: "Find out why mail over SMTP gets stuck or duplicated, from packet captures.",
        discussion: """
            Examples:
              smtpscope analyze mail.pcap
              smtpscope analyze outside.pcap inside.pcap
              smtpscope analyze --format jsonl --output findings.jsonl a.pcap b.pcapng
              tcpdump -w - port 25 | smtpscope analyze -
              smtpscope analyze --port 25 --port 10025 --filter 'host 192.0.2.10' mail.pcap
              smtpscope extract mail.pcap --diagnosis split_terminator_stall -w stalls.pcap
              smtpscope report outside.pcap inside.pcap -o report.html
              smtpscope transcript mail.pcap --flow 3
              smtpscope live -i eth0 --format jsonl -w mail.pcap

            Exit codes:
              0  no problem found
              1  problems found (a transaction not ok, a warning or error finding,
                 a retried message, or a middlebox)
              2  error: an input could not be read at all (missing, a directory, unreadable,
                 not a capture, nothing readable in it), the output could not be written,
                 or bad usage
            """,
        version: "smtpscope \(SMTPScopeVersion.version) (\(libpcapVersion))",
        subcommands: [Analyze.self, Live.self, Transcript.self, Extract.self, ReportCommand.self]
    )

    /// Runs the command; usage errors exit 2 (not ArgumentParser's 64), as documented.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
                Glibc.exit(0)
            }
            if !message.isEmpty { Diagnostics.write(message) }
            Glibc.exit(code == .validationFailure ? ExitStatus.error : code.rawValue)
        }
    }
}

/// The process exit statuses smtpscope documents.
enum ExitStatus {
    static let ok: Int32 = 0
    static let problems: Int32 = 1
    static let error: Int32 = 2
}
