#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Analysis
import ArgumentParser
import Capture
import Reassembly
import SMTP

/// Which captures to read and which of their traffic counts; shared by the
/// commands that read captures.
struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp(
        "Capture files (pcap or pcapng), analysed together in the order given; '-' reads standard input.",
        valueName: "file"))
    var files: [String]

    @Option(name: .customLong("port"), help: ArgumentHelp(
        "TCP port carrying SMTP; repeat for several (default: 25, 587, 2525).", valueName: "port"))
    var ports: [UInt16] = []

    @Option(help: ArgumentHelp("Only frames matching this BPF filter (pcap-filter(7)); frame numbers stay those of the file.",
                               valueName: "expression"))
    var filter: String?

    /// The SMTP ports in effect.
    var smtpPorts: [UInt16] { ports.isEmpty ? AnalysisOptions.defaultPorts : ports }

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one capture file, or '-' for standard input.") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("Standard input ('-') can be read only once.") }
        if ports.contains(0) { throw ValidationError("Port 0 is not a TCP port.") }
        if let filter {
            do { try PacketFilter.validate(filter) } catch { throw ValidationError(error.description) }
        }
    }
}

/// How the analysis judges and what it may hold: the reply timeout and the main limits.
/// Defaults are those of ``AnalysisOptions``, ``ReassemblyOptions`` and ``SMTPOptions``.
struct AnalysisSettings: ParsableArguments {
    private static let defaults = AnalysisOptions()

    @Option(name: .customLong("reply-timeout"), help: ArgumentHelp(
        "Seconds a client waits for the reply to end-of-data; a capture that ends this long after an unanswered terminator counts it as unanswered.",
        valueName: "seconds"))
    var replyTimeout: Double = 30

    @Option(name: .customLong("max-flows"), help: ArgumentHelp(
        "TCP connections tracked at once; the least recently active is dropped beyond it (reported).", valueName: "n"))
    var maxFlows: Int = defaults.reassembly.maxFlows

    @Option(name: .customLong("max-out-of-order-bytes"), help: ArgumentHelp(
        "Out-of-order bytes buffered per connection before a gap is declared (reported).", valueName: "bytes"))
    var maxOutOfOrderBytes: Int = defaults.reassembly.maxOutOfOrderBytesPerFlow

    @Option(name: .customLong("max-out-of-order-total"), help: ArgumentHelp(
        "Out-of-order bytes buffered over all connections (reported).", valueName: "bytes"))
    var maxOutOfOrderTotal: Int = defaults.reassembly.maxOutOfOrderBytesTotal

    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp(
        "Seconds of capture time without a packet after which a connection is ended as idle (checked once per second of capture time).",
        valueName: "seconds"))
    var idleTimeout: Double = Double(defaults.reassembly.idleTimeoutNanoseconds) / 1e9

    @Option(name: .customLong("max-line-length"), help: ArgumentHelp(
        "Longest SMTP command or reply line kept; longer ones are cut (reported).", valueName: "bytes"))
    var maxLineLength: Int = defaults.smtp.maxLineLength

    @Option(name: .customLong("max-pending-commands"), help: ArgumentHelp(
        "Pipelined commands waiting for replies per connection (reported when exceeded).", valueName: "n"))
    var maxPendingCommands: Int = defaults.smtp.maxPendingCommands

    @Option(name: .customLong("max-transactions-per-flow"), help: ArgumentHelp(
        "Transactions followed per connection; one that starts more is followed no further (reported).", valueName: "n"))
    var maxTransactionsPerFlow: Int = defaults.maxTransactionsPerFlow

    func validate() throws {
        for (name, seconds) in [("--reply-timeout", replyTimeout), ("--idle-timeout", idleTimeout)]
        where !(seconds.isFinite && seconds > 0 && seconds < 1e9) {
            throw ValidationError("\(name) must be a positive number of seconds.")
        }
        for (name, value) in [
            ("--max-flows", maxFlows), ("--max-out-of-order-bytes", maxOutOfOrderBytes),
            ("--max-out-of-order-total", maxOutOfOrderTotal), ("--max-line-length", maxLineLength),
            ("--max-pending-commands", maxPendingCommands), ("--max-transactions-per-flow", maxTransactionsPerFlow),
        ] where value < 1 {
            throw ValidationError("\(name) must be at least 1.")
        }
    }

    /// The analysis options these settings and `ports` describe.
    func options(ports: [UInt16]) -> AnalysisOptions {
        var options = AnalysisOptions()
        options.ports = Set(ports)
        options.replyTimeoutNanoseconds = Int64((replyTimeout * 1e9).rounded())
        options.reassembly.maxFlows = maxFlows
        options.reassembly.maxOutOfOrderBytesPerFlow = maxOutOfOrderBytes
        options.reassembly.maxOutOfOrderBytesTotal = maxOutOfOrderTotal
        options.reassembly.idleTimeoutNanoseconds = Int64((idleTimeout * 1e9).rounded())
        options.smtp.maxLineLength = maxLineLength
        options.smtp.maxPendingCommands = maxPendingCommands
        options.maxTransactionsPerFlow = maxTransactionsPerFlow
        return options
    }
}

/// How many threads analyse the flows (`analyze` only; other commands run on one thread).
struct ThreadOptions: ParsableArguments {
    /// The default: one thread per core.
    static var cores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    @Option(help: ArgumentHelp(
        "Threads: the reading thread and n-1 workers that split the connections between them by address hash "
            + "(default: the number of cores; 1 = all on one thread). "
            + "The output is identical for any count unless a flow-table or buffer limit (--max-flows, --max-out-of-order-total) "
            + "is reached, which is reported: each worker gets an equal share of those limits.",
        valueName: "n"))
    var threads: Int?

    /// The thread count in effect.
    var count: Int { threads ?? min(Self.cores, 64) }

    func validate() throws {
        if let threads, !(1...64).contains(threads) { throw ValidationError("--threads must be between 1 and 64.") }
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

    @Flag(help: "Text format: also show connections where nothing went wrong.")
    var all = false
}
