import Analysis
import ArgumentParser
import Capture

/// Which captures to read and which of their traffic counts; shared by the
/// commands that read captures.
struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("Capture files (pcap or pcapng); '-' reads standard input.", valueName: "file"))
    var files: [String]

    @Option(name: .customLong("port"), help: ArgumentHelp(
        "TCP port carrying SMTP; repeat for several (default: 25, 587, 2525).", valueName: "port"))
    var ports: [UInt16] = []

    @Option(help: ArgumentHelp("Only frames matching this BPF filter (pcap-filter(7)); frame numbers stay those of the file.",
                               valueName: "expression"))
    var filter: String?

    /// The SMTP ports in effect.
    var smtpPorts: [UInt16] { ports.isEmpty ? CaptureSummary.defaultSMTPPorts : ports }

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one capture file, or '-' for standard input.") }
        if ports.contains(0) { throw ValidationError("Port 0 is not a TCP port.") }
        if let filter {
            do { try PacketFilter.validate(filter) } catch { throw ValidationError(error.description) }
        }
    }
}

/// How and where results are written.
struct OutputOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, jsonl
    }

    @Option(help: "Output format: text for people, jsonl for one JSON object per line (schema smtpscope/1).")
    var format: Format = .text

    @Option(name: [.short, .long], help: ArgumentHelp("Write results to this file instead of standard output.", valueName: "file"))
    var output: String?
}
