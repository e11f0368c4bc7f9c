import Analysis
import ArgumentParser
import Capture
import Reassembly

extension SMTPScope {
    struct Transcript: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "transcript",
            abstract: "Print the SMTP dialog of one flow with frame numbers, segment boundaries and terminator splits.",
            discussion: """
                Flows are numbered from 0 in order of their first frame, among TCP connections on the SMTP ports
                (see --list). Each line shows the frames that carried it, the time since the flow's first frame,
                C: or S:, and its bytes escaped (\\r, \\n, \\xNN); '¦' ('|' with --ascii) marks every TCP segment
                boundary inside a line. Each end of data shows its 5 bytes with the split, e.g.
                  end of data: \\r\\n ¦ .\\r\\n   split after byte 2: frames 19 | 20 (+0.2 ms)
                Exit status 0, or 2 on error (unreadable input, no such flow, bad usage).
                """
        )

        @Argument(help: ArgumentHelp("Capture file (pcap or pcapng); '-' reads standard input.", valueName: "file"))
        var file: String

        @Option(help: ArgumentHelp("Flow number (see --list).", valueName: "n"))
        var flow: Int?

        @Flag(help: "List the flows on SMTP ports: number, client, server, frames, first frame and time.")
        var list = false

        @Flag(help: "Print the flow's raw segment map (stream offset ranges, frames, repeats, gaps) instead.")
        var segments = false

        @Flag(help: "Use '|' and '->' instead of '¦' and '→'.")
        var ascii = false

        @Option(name: .customLong("port"), help: ArgumentHelp(
            "TCP port carrying SMTP; repeat for several (default: 25, 587, 2525).", valueName: "port"))
        var ports: [UInt16] = []

        @Option(help: ArgumentHelp("Only frames matching this BPF filter (pcap-filter(7)); frame numbers stay those of the file.",
                                   valueName: "expression"))
        var filter: String?

        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            if ports.contains(0) { throw ValidationError("Port 0 is not a TCP port.") }
            if !list && flow == nil { throw ValidationError("Give --flow N (see --list).") }
            if let flow, flow < 0 { throw ValidationError("Flow numbers start at 0.") }
            if let filter {
                do { try PacketFilter.validate(filter) } catch { throw ValidationError(error.description) }
            }
        }

        func run() throws {
            let capture: OfflineCapture
            do {
                capture = try OfflineCapture(path: file)
                if let filter { try capture.setFilter(filter) }
            } catch {
                Diagnostics.write("smtpscope: \(error.description)")
                throw ExitCode(ExitStatus.error)
            }
            var options = TranscriptOptions()
            options.ascii = ascii
            let chosen = list ? nil : flow.map(FlowID.init)
            let portSet = Set(ports.isEmpty ? AnalysisOptions.defaultPorts : ports)
            let result = TranscriptReader.read(from: capture, ports: portSet, flow: chosen, options: options)
            if case .failed(let read, let reason) = result.outcome {
                Diagnostics.write("smtpscope: \(file): frame \(read + 1): \(reason)")
            }
            let renderer = TranscriptRenderer(options: options)
            var text: String
            if list {
                switch outputOptions.format {
                case .text: text = renderer.list(result.flows)
                case .jsonl: text = renderer.listJSONLines(result.flows).map { $0 + "\n" }.joined()
                }
            } else {
                guard let recording = result.recording, let chosen else {
                    Diagnostics.write("smtpscope: \(file): no flow \(flow ?? -1) (\(result.flows.count) flow\(result.flows.count == 1 ? "" : "s") on SMTP ports)")
                    throw ExitCode(ExitStatus.error)
                }
                if segments {
                    text = result.segmentLog.render(flow: chosen)
                } else {
                    let entries = TranscriptBuilder.entries(recording, options: options)
                    switch outputOptions.format {
                    case .text: text = renderer.text(recording, entries: entries)
                    case .jsonl: text = renderer.jsonLines(recording, entries: entries).map { $0 + "\n" }.joined()
                    }
                }
            }
            let output: OutputSink
            do {
                output = try OutputSink(path: outputOptions.output)
            } catch {
                Diagnostics.write("smtpscope: \(error)")
                throw ExitCode(ExitStatus.error)
            }
            output.write(text)
            if !output.close() {
                Diagnostics.write("smtpscope: \(outputOptions.output ?? "-"): cannot write output")
                throw ExitCode(ExitStatus.error)
            }
            if case .failed(0, _) = result.outcome { throw ExitCode(ExitStatus.error) }
        }
    }
}
