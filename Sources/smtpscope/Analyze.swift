import Analysis
import ArgumentParser
import Capture

extension SMTPScope {
    struct Analyze: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summarise captures: frames, bytes, time span, link types, TCP and SMTP segments, decode problems.",
            discussion: """
                Each input is reported on its own; one unreadable input does not stop the others.
                A damaged input (cut mid-record, bad record header) is reported on standard error as
                'smtpscope: FILE: frame N: REASON', and every frame before it is still counted.
                Exit status 2 when any input could not be read at all, else 0.
                """
        )

        @OptionGroup var input: InputOptions
        @OptionGroup var outputOptions: OutputOptions

        func run() throws {
            let output: OutputSink
            do {
                output = try OutputSink(path: outputOptions.output)
            } catch {
                Diagnostics.write("smtpscope: \(error)")
                throw ExitCode(ExitStatus.error)
            }
            var unreadable = 0
            for (index, path) in input.files.enumerated() {
                guard let summary = summarize(path) else {
                    unreadable += 1
                    continue
                }
                switch outputOptions.format {
                case .text: output.write((index > 0 ? "\n" : "") + summary.text + "\n")
                case .jsonl: output.write(summary.jsonLine + "\n")
                }
            }
            if !output.close() {
                Diagnostics.write("smtpscope: \(outputOptions.output ?? "-"): cannot write output")
                throw ExitCode(ExitStatus.error)
            }
            if unreadable > 0 { throw ExitCode(ExitStatus.error) }
        }

        /// Reads one input; reports problems on standard error. Nil when nothing could be read.
        private func summarize(_ path: String) -> CaptureSummary? {
            let capture: OfflineCapture
            do {
                capture = try OfflineCapture(path: path)
                if let filter = input.filter { try capture.setFilter(filter) }
            } catch {
                Diagnostics.write("smtpscope: \(error.description)")
                return nil
            }
            let summary = CaptureSummary.read(from: capture, smtpPorts: input.smtpPorts)
            if let over = summary.recordsOverSnapshot {
                Diagnostics.write(
                    "smtpscope: \(path): frame \(over.firstFrame): captured length \(over.firstCapturedLength) exceeds "
                        + "the file's snapshot length \(capture.snapshotLength); libpcap kept the first \(capture.snapshotLength) bytes "
                        + "(\(over.count) record\(over.count == 1 ? "" : "s") like this)")
            }
            if let failure = summary.readFailure {
                Diagnostics.write("smtpscope: \(path): frame \(failure.frame): \(failure.reason)")
                if summary.packets == 0 { return nil }
            }
            return summary
        }
    }
}
