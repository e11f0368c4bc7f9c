import Analysis
import ArgumentParser
import Capture

extension SMTPScope {
    struct Live: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "live",
            abstract: "Watch an interface and report each SMTP transaction as soon as its outcome is known.",
            discussion: """
                Each transaction is reported when its reply arrives, when the client gives up, or, with no
                reply, once --reply-timeout has passed (a clock tick runs even when no packet arrives).
                Flows are reported when they close; at the stop, flows still open are reported with
                end_reason "open", then the summary. With --format jsonl every record is one JSON object
                (schema smtpscope/1) on its own line, flushed at once: `smtpscope live -i eth0 --format jsonl | jq`.
                Live `transaction` records are provisional (a late 2xx can still arrive); the flow record
                carries the final verdict. A `message` record is printed again each time a message gains an
                attempt; the last one printed for a message is current.

                Stop with Ctrl-C (SIGINT) or SIGTERM, --duration or --count; a second Ctrl-C exits at once
                (status 130) without the summary. Capturing needs root or CAP_NET_RAW (and CAP_NET_ADMIN for
                promiscuous mode); --user drops root once the interface is open, before -w files are created.
                Analysing the -w file later (`smtpscope analyze FILE --reply-timeout N`) gives the same results.

                Examples:
                  smtpscope live -i eth0
                  smtpscope live -i any --port 25 --format jsonl -w mail.pcap --rotate-mb 100 --user nobody

                Exit codes:
                  0  no problem found
                  1  problems found (a transaction not ok, a warning finding, a retried message, a middlebox)
                  2  error: the interface could not be opened or read, bad filter, output not writable, bad usage
                """
        )

        @Option(name: [.short, .customLong("interface")], help: ArgumentHelp("Interface to capture on ('any' for all).", valueName: "name"))
        var interface: String

        @Option(name: .customLong("port"), help: ArgumentHelp(
            "TCP port carrying SMTP; repeat for several (default: 25, 587, 2525).", valueName: "port"))
        var ports: [UInt16] = []

        @Option(help: ArgumentHelp("BPF capture filter (pcap-filter(7)); default: 'tcp port P or …' for the SMTP ports.",
                                   valueName: "expression"))
        var filter: String?

        @Option(help: ArgumentHelp("Bytes kept per packet.", valueName: "bytes"))
        var snaplen: Int32 = 262_144

        @Option(name: .customLong("buffer-size"), help: ArgumentHelp("Kernel capture buffer in KiB (as tcpdump -B).", valueName: "KiB"))
        var bufferSize: Int32 = 4_096

        @Flag(name: .customLong("no-promisc"), help: "Do not put the interface into promiscuous mode.")
        var noPromiscuous = false

        @Option(name: [.customShort("w"), .customLong("write")], help: ArgumentHelp(
            "Also write every captured packet to this pcap file.", valueName: "file"))
        var write: String?

        @Option(name: .customLong("rotate-mb"), help: ArgumentHelp(
            "With -w: start a new file (FILE1, FILE2, …, as tcpdump -C) when the current one reaches this many MB.", valueName: "MB"))
        var rotateMegabytes: Int?

        @Option(help: "Output format: text for people, jsonl for one JSON object per line (schema smtpscope/1).")
        var format: LiveFormat = .text

        @Option(name: .customLong("reply-timeout"), help: ArgumentHelp(
            "Seconds a transaction may wait for the reply to end-of-data before it is reported as unanswered.", valueName: "seconds"))
        var replyTimeout: Double = 30

        @Option(name: .customLong("idle-timeout"), help: ArgumentHelp(
            "Seconds without a packet after which a flow is closed.", valueName: "seconds"))
        var idleTimeout: Double = 300

        @Option(help: ArgumentHelp("Stop after this many seconds.", valueName: "seconds"))
        var duration: Double?

        @Option(help: ArgumentHelp("Stop after this many packets.", valueName: "packets"))
        var count: UInt64?

        @Option(help: ArgumentHelp("Drop root to this user once the interface is open (as tcpdump -Z).", valueName: "name"))
        var user: String?

        /// The SMTP ports in effect.
        var smtpPorts: [UInt16] { ports.isEmpty ? [25, 587, 2525] : ports }

        /// The capture filter in effect.
        var captureFilter: String { filter ?? smtpPorts.map { "tcp port \($0)" }.joined(separator: " or ") }

        func validate() throws {
            if interface.isEmpty { throw ValidationError("Give an interface with -i, e.g. -i eth0 or -i any.") }
            if ports.contains(0) { throw ValidationError("Port 0 is not a TCP port.") }
            if snaplen < 64 { throw ValidationError("--snaplen must be at least 64 bytes.") }
            if bufferSize < 1 || bufferSize > 2_097_152 { throw ValidationError("--buffer-size must be 1 to 2097152 KiB.") }
            if let rotateMegabytes, rotateMegabytes < 1 || rotateMegabytes > 1_000_000 {
                throw ValidationError("--rotate-mb must be 1 to 1000000.")
            }
            if rotateMegabytes != nil && write == nil { throw ValidationError("--rotate-mb needs -w FILE.") }
            for (name, value) in [("--reply-timeout", replyTimeout), ("--idle-timeout", idleTimeout)] where !(value > 0 && value <= 86_400 * 365) {
                throw ValidationError("\(name) must be a positive number of seconds.")
            }
            if let duration, !(duration > 0 && duration <= 86_400 * 365) { throw ValidationError("--duration must be a positive number of seconds.") }
            if count == 0 { throw ValidationError("--count must be at least 1.") }
            if let user, user.isEmpty { throw ValidationError("--user needs a user name.") }
        }

        func run() throws {
            var capture = LiveCapture.Options()
            capture.snapshotLength = snaplen
            capture.promiscuous = !noPromiscuous
            capture.bufferSize = bufferSize &* 1_024
            var analysis = AnalysisOptions()
            analysis.ports = Set(smtpPorts)
            analysis.replyTimeoutNanoseconds = Int64(replyTimeout * 1e9)
            analysis.reassembly.idleTimeoutNanoseconds = Int64(idleTimeout * 1e9)
            let session = LiveSession(
                interface: interface, capture: capture, filter: captureFilter, analysis: analysis,
                format: format == .jsonl ? .jsonl : .text, writePath: write, rotateBytes: rotateMegabytes.map { $0 * 1_000_000 },
                durationNanoseconds: duration.map { Int64($0 * 1e9) }, packetLimit: count, user: user)
            let status = session.run()
            if status != 0 { throw ExitCode(status) }
        }
    }
}

/// `live --format`.
enum LiveFormat: String, ExpressibleByArgument, CaseIterable {
    case text, jsonl
}
