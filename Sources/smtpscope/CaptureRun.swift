import Analysis
import Capture

#if canImport(Glibc)
import Glibc
#endif

/// One analysis over every input of a command line: each file in the order given is one
/// capture of the same ``Analyzer`` run, so attempts seen in several files are correlated.
///
/// Problems with an input go to standard error as `smtpscope: FILE: frame N: REASON`;
/// frames read before a damaged record are kept.
struct CaptureRun {
    /// An input that was analysed (at least its header could be read).
    struct Input {
        var path: String
        /// Size of the file in bytes; nil for standard input.
        var sizeBytes: Int?
    }

    var result: AnalysisResult
    /// Inputs analysed, in capture-index order.
    var inputs: [Input]
    /// Inputs of which nothing at all could be read.
    var unreadable: Int

    /// Reads and analyses every input. With `onFlow`, each flow record goes to it as the
    /// flow closes (with its capture's name) and none is kept: `result.flows` stays empty,
    /// so memory follows the open flows, not how many a capture holds. Without it, every
    /// flow record is kept in `result.flows` (for commands that need them all at the end).
    /// `threads` > 1 splits the flows over that many worker threads (same records, same order).
    static func analyze(
        _ input: InputOptions, settings: AnalysisSettings, threads: Int = 1, onFlow: ((FlowRecord, String) -> Void)? = nil
    ) -> CaptureRun {
        var options = settings.options(ports: input.smtpPorts)
        var names: [String] = []
        let analyzer: Analyzer
        if let onFlow {
            options.retainFlowRecords = false
            analyzer = Analyzer(options: options, threads: threads, onFlow: { flow in
                onFlow(flow, names.indices.contains(flow.capture) ? names[flow.capture] : "capture \(flow.capture)")
            })
        } else {
            analyzer = Analyzer(options: options, threads: threads)
        }
        func begin(_ path: String) {
            names.append(path)
            analyzer.beginCapture(name: path)
        }
        var inputs: [Input] = []
        var unreadable = 0
        for path in input.files {
            guard let capture = open(path, filter: input.filter) else {
                unreadable += 1
                continue
            }
            let size = path == "-" ? nil : fileSize(path)
            let loop = InputLoop(
                analyzer: analyzer, progress: Progress(name: path, totalBytes: size, format: capture.format),
                begin: { begin(path) })
            let outcome = capture.readPackets { info, bytes in
                loop.frame(info, bytes)
                return .next
            }
            loop.progress.clear()
            report(capture, outcome: outcome)
            if case .failed(0, _) = outcome {
                unreadable += 1
                continue
            }
            if !loop.begun { begin(path) }
            analyzer.noteRead(outcome)
            analyzer.endCapture()
            inputs.append(Input(path: path, sizeBytes: size))
        }
        return CaptureRun(result: analyzer.finish(), inputs: inputs, unreadable: unreadable)
    }

    /// One input's per-frame state, in one object: the read loop's closure then carries a single
    /// reference (with the five values it captured before, a forwarding thunk copied them per frame).
    /// Touched only by the read loop, never re-entered: no dynamic access checks.
    private final class InputLoop {
        let analyzer: Analyzer
        @exclusivity(unchecked) var progress: Progress
        /// The input is begun at its first frame: one that cannot be read at all is not an input.
        let begin: () -> Void
        @exclusivity(unchecked) private(set) var begun = false

        init(analyzer: Analyzer, progress: Progress, begin: @escaping () -> Void) {
            self.analyzer = analyzer
            self.progress = progress
            self.begin = begin
        }

        @inline(__always)
        func frame(_ info: CaptureInfo, _ bytes: UnsafeRawBufferPointer) {
            if !begun {
                begin()
                begun = true
            }
            analyzer.process(info, frame: bytes)
            progress.advance(info: info)
        }
    }

    /// Opens one input and installs the filter; nil (after one line on standard error) when it cannot be read.
    static func open(_ path: String, filter: String?) -> OfflineCapture? {
        do {
            let capture = try OfflineCapture(path: path)
            if let filter { try capture.setFilter(filter) }
            return capture
        } catch {
            Diagnostics.write("smtpscope: \(error.description)")
            return nil
        }
    }

    /// Says on standard error how reading ended when it was not cleanly.
    static func report(_ capture: OfflineCapture, outcome: ReadOutcome) {
        if let over = capture.recordsOverSnapshot {
            Diagnostics.write(
                "smtpscope: \(capture.name): frame \(over.firstFrame): captured length \(over.firstCapturedLength) exceeds "
                    + "the file's snapshot length \(capture.snapshotLength); libpcap kept the first \(capture.snapshotLength) bytes "
                    + "(\(over.count) record\(over.count == 1 ? "" : "s") like this)")
        }
        if case .failed(let framesRead, let reason) = outcome {
            Diagnostics.write("smtpscope: \(capture.name): frame \(framesRead &+ 1): \(reason)")
        }
    }

    static func fileSize(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(info.st_size)
    }
}
