import Analysis
import ArgumentParser
import Capture

extension SMTPScope {
    struct Analyze: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "analyze",
            abstract: "Find out, per connection and per message, whether mail got through, and if not, why.",
            discussion: """
                All inputs of one run are analysed together, in the order given (e.g. the capture \
                outside a firewall and the one inside it): the same message seen in several \
                connections or files is grouped, with its retry interval.

                Text output: one block per connection with a problem (all with --all), the retried \
                messages, then the summary. JSON Lines (--format jsonl, schema smtpscope/1): one \
                `flow` record per connection, one `message` record per message seen in two or more \
                transactions, and a `summary` record last. Connections are written as they close \
                (those still open at the end of an input last), so memory follows the connections \
                open at once, not how many a capture holds.

                A damaged input (cut mid-record, bad record header) is reported on standard error as \
                'smtpscope: FILE: frame N: REASON', and every frame before it is still analysed.

                Exit codes: 0 no problem found, 1 problems found, 2 error (an input could not be \
                read at all, the output could not be written, or bad usage).
                """
        )

        @OptionGroup var input: InputOptions
        @OptionGroup var settings: AnalysisSettings
        @OptionGroup var threadOptions: ThreadOptions
        @OptionGroup var outputOptions: OutputOptions

        func run() throws {
            let output: OutputSink
            do {
                output = try OutputSink(path: outputOptions.output)
            } catch {
                Diagnostics.write("smtpscope: \(error)")
                throw ExitCode(ExitStatus.error)
            }
            // Each flow is written as it closes (close order), so memory follows the open
            // flows; messages and the summary follow once every input is read.
            let all = outputOptions.all
            var shownFlows = 0
            var lines = JSONLinesEncoder.LineWriter()
            var block = ""
            let onFlow: (FlowRecord, String) -> Void
            switch outputOptions.format {
            case .text:
                onFlow = { flow, captureName in
                    guard all || flow.hasProblems else { return }
                    block.removeAll(keepingCapacity: true)
                    TextReport.writeFlow(flow, captureName: captureName, to: &block)
                    output.write(block)
                    shownFlows += 1
                }
            case .jsonl:
                onFlow = { flow, _ in lines.write(flow, bytesTo: output.write(bytes:)) }
            }
            let run = CaptureRun.analyze(input, settings: settings, threads: threadOptions.count, onFlow: onFlow)
            if !run.inputs.isEmpty {
                switch outputOptions.format {
                case .text:
                    TextReport.writeEnd(messages: run.result.messages, summary: run.result.summary, shownFlows: shownFlows, write: output.write)
                case .jsonl:
                    lines.writeEnd(messages: run.result.messages, summary: run.result.summary, bytesTo: output.write(bytes:))
                }
            }
            if !output.close() {
                Diagnostics.write("smtpscope: \(outputOptions.output ?? "-"): cannot write output")
                throw ExitCode(ExitStatus.error)
            }
            throw ExitCode(ExitStatus.of(run))
        }
    }
}

extension ExitStatus {
    /// 2 when an input could not be read at all, else 1 when the analysis found problems, else 0.
    static func of(_ run: CaptureRun) -> Int32 {
        if run.unreadable > 0 { return error }
        return run.result.hasProblems ? problems : ok
    }
}
