import Analysis
import ArgumentParser
import Report

extension SMTPScope {
    struct ReportCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Write a self-contained HTML report: verdict, retry timeline, terminator pictures, connections.",
            discussion: """
                Runs the same analysis as 'analyze' (same inputs and options) and draws the report from \
                its JSON Lines records: inline CSS and SVG, nothing fetched from anywhere, printable. \
                To look at it as an image:
                  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \\
                      --screenshot=report.png --window-size=1280,2400 file://$PWD/report.html

                Exit codes: as 'analyze': 0 no problem found, 1 problems found, 2 error.
                """
        )

        @OptionGroup var input: InputOptions
        @OptionGroup var settings: AnalysisSettings

        @Option(name: [.short, .long], help: ArgumentHelp("Write the report to this file (default: standard output).", valueName: "file"))
        var output: String?

        @Option(help: ArgumentHelp("Heading of the report.", valueName: "text"))
        var title: String = ReportOptions().title

        func run() throws {
            let sink: OutputSink
            do {
                sink = try OutputSink(path: output)
            } catch {
                Diagnostics.write("smtpscope: \(error)")
                throw ExitCode(ExitStatus.error)
            }
            let run = CaptureRun.analyze(input, settings: settings)
            if !run.inputs.isEmpty {
                let files = run.inputs.map { ReportInputFile(name: $0.path, sizeBytes: $0.sizeBytes) }
                let report: ReportInput
                do {
                    report = try ReportInput(jsonLines: JSONLinesEncoder.encode(run.result), files: files)
                } catch {
                    Diagnostics.write("smtpscope: internal error: the analysis records do not decode: \(error)")
                    throw ExitCode(ExitStatus.error)
                }
                sink.write(renderHTMLReport(report, options: ReportOptions(title: title)))
            }
            if !sink.close() {
                Diagnostics.write("smtpscope: \(output ?? "-"): cannot write output")
                throw ExitCode(ExitStatus.error)
            }
            throw ExitCode(ExitStatus.of(run))
        }
    }
}
