import Analysis
import ArgumentParser
import Capture
import Wire

extension SMTPScope {
    struct Extract: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "extract",
            abstract: "Write the frames of chosen connections to a new pcap, to open in Wireshark or send to a vendor.",
            discussion: """
                Two passes over the capture: the analysis (over every input, exactly as 'analyze' \
                runs it, so flow numbers match its output) chooses the connections; then every frame \
                of the chosen input whose TCP endpoints are those of a chosen connection, between the \
                connection's first and last frame, is copied unchanged (same link type, nanosecond \
                timestamps). Connections are chosen by --flow and --diagnosis (both must match when \
                both are given); with neither, every connection with a problem is taken.

                Exit codes: 0 frames written, 1 no connection matched (no file is written), \
                2 error (an input could not be read, the output could not be written, bad usage).
                """
        )

        @OptionGroup var input: InputOptions
        @OptionGroup var settings: AnalysisSettings

        @Option(name: [.customShort("w"), .customLong("write")], help: ArgumentHelp("The pcap file to write.", valueName: "file"))
        var outputPath: String

        @Option(help: ArgumentHelp(
            "Only connections with a transaction of this diagnosis; repeat for several (\(Diagnosis.allCases.map(\.rawValue).joined(separator: ", "))).",
            valueName: "diagnosis"))
        var diagnosis: [String] = []

        @Option(help: ArgumentHelp("Only this connection (the `flow` number of 'analyze'); repeat for several.", valueName: "n"))
        var flow: [Int] = []

        @Option(name: .customLong("capture-index"), help: ArgumentHelp(
            "Which input (0-based, in the order given) to copy frames from when several are analysed.", valueName: "i"))
        var captureIndex: Int = 0

        func validate() throws {
            let known = Set(Diagnosis.allCases.map(\.rawValue))
            if let unknown = diagnosis.first(where: { !known.contains($0) }) {
                throw ValidationError("Unknown diagnosis '\(unknown)'; one of: \(Diagnosis.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            if captureIndex < 0 || captureIndex >= input.files.count {
                throw ValidationError("--capture-index must name one of the \(input.files.count) input(s), from 0.")
            }
            if input.files[captureIndex] == "-" {
                throw ValidationError("extract reads its capture twice: give a file, not standard input.")
            }
        }

        func run() throws {
            let run = CaptureRun.analyze(input, settings: settings)
            if run.unreadable > 0 { throw ExitCode(ExitStatus.error) }
            let chosen = run.result.flows.filter(matches)
            guard !chosen.isEmpty else {
                Diagnostics.write("smtpscope: no connection matched; nothing written")
                throw ExitCode(ExitStatus.problems)
            }
            let path = run.inputs[captureIndex].path
            let written: UInt64
            do {
                written = try copyFrames(
                    of: chosen, among: run.result.flows.filter { $0.capture == captureIndex }, from: path)
            } catch {
                Diagnostics.write("smtpscope: \(error.description)")
                throw ExitCode(ExitStatus.error)
            }
            let names = chosen.map { String($0.flow) }.joined(separator: ", ")
            print("wrote \(written) frame\(written == 1 ? "" : "s") of flow\(chosen.count == 1 ? "" : "s") \(names) to \(outputPath)")
        }

        private func matches(_ record: FlowRecord) -> Bool {
            guard record.capture == captureIndex else { return false }
            if !flow.isEmpty && !flow.contains(record.flow) { return false }
            if !diagnosis.isEmpty {
                return record.transactions.contains { diagnosis.contains($0.diagnosis.rawValue) }
            }
            return !flow.isEmpty || record.hasProblems
        }

        /// Second pass: copies every frame of `flows` from `path` to the output file.
        private func copyFrames(of flows: [FlowRecord], among allFlows: [FlowRecord], from path: String) throws(CaptureError) -> UInt64 {
            guard let capture = CaptureRun.open(path, filter: input.filter) else {
                throw .cannotOpen(path: path, reason: "could not be opened again")
            }
            let selection = FlowSelection(flows, among: allFlows)
            let writer = try PcapWriter(
                path: outputPath, linkType: capture.linkType,
                snapshotLength: capture.snapshotLength > 0 ? capture.snapshotLength : 262_144)
            var decoder = PacketDecoder()
            var written: UInt64 = 0
            let outcome = capture.readPackets { info, bytes in
                guard info.frameNumber >= selection.firstFrame else { return .next }
                var wanted = false
                _ = decoder.decode(
                    frame: bytes, wireLength: info.wireLength, linkType: info.linkType,
                    timestampNanoseconds: info.timestampNanoseconds
                ) { segment, _ in
                    wanted = selection.contains(
                        segment.source, segment.destination, frame: info.frameNumber, syn: segment.flags.contains(.syn))
                }
                if wanted {
                    writer.write(info, bytes)
                    written += 1
                }
                return .next
            }
            try writer.close()
            if case .failed(let framesRead, let reason) = outcome {
                Diagnostics.write("smtpscope: \(path): frame \(framesRead &+ 1): \(reason)")
            }
            return written
        }
    }
}

/// The connections to copy: their endpoint pairs and frame ranges.
///
/// A connection's frames run from its first frame to its last one, plus the segments
/// without SYN that follow with the same endpoints (the final ACKs after both FINs, which
/// the reassembler no longer counts) until the next connection of that endpoint pair begins.
struct FlowSelection {
    private struct Pair: Hashable {
        var a: EndpointRecord
        var b: EndpointRecord
        init(_ x: EndpointRecord, _ y: EndpointRecord) {
            (a, b) = (x.ip, x.port) < (y.ip, y.port) ? (x, y) : (y, x)
        }
    }
    private struct Span {
        var first: UInt64
        var last: UInt64
        /// Last frame a trailing segment may have: just before the next connection of the pair.
        var trailingLimit: UInt64
    }
    private var spans: [Pair: [Span]] = [:]
    /// The first frame any chosen connection has (a quick first check).
    let firstFrame: UInt64

    /// `chosen` among `all` flows of the same capture.
    init(_ chosen: [FlowRecord], among all: [FlowRecord]) {
        var first = UInt64.max
        for flow in chosen {
            let pair = Pair(flow.client, flow.server)
            let next = all.filter { Pair($0.client, $0.server) == pair && $0.firstFrame > flow.firstFrame }.map(\.firstFrame).min()
            spans[pair, default: []].append(
                Span(first: flow.firstFrame, last: flow.lastFrame, trailingLimit: next.map { $0 &- 1 } ?? .max))
            first = min(first, flow.firstFrame)
        }
        firstFrame = first
    }

    /// A segment between `source` and `destination` (either way round) in frame `frame` belongs to a chosen connection.
    func contains(_ source: Endpoint, _ destination: Endpoint, frame: UInt64, syn: Bool) -> Bool {
        guard let found = spans[Pair(EndpointRecord(source), EndpointRecord(destination))] else { return false }
        return found.contains { span in
            (span.first...span.last).contains(frame) || (!syn && frame > span.last && frame <= span.trailingLimit)
        }
    }
}
