import Foundation
import Report
import Testing

/// Writes the hand-made KB fixture's report to `$TMPDIR/smtpscope-kb-report.html` for a look in a browser:
///
/// ```sh
/// swift test --filter ReportTests
/// chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
///     --screenshot=/tmp/kb-report.png --window-size=1280,2400 file://$TMPDIR/smtpscope-kb-report.html
/// ```
@Test func writesTheKBReportForAVisualCheck() throws {
    let files = [ReportInputFile(name: "kb-q295725.pcap", sizeBytes: 9_216, vantage: "outside")]
    let html = renderHTMLReport(try ReportInput(jsonLines: Fixtures.kb, files: files), options: ReportOptions())
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("smtpscope-kb-report.html")
    try html.write(to: url, atomically: true, encoding: .utf8)
    #expect(try String(contentsOf: url, encoding: .utf8) == html)

    let both = renderHTMLReport(
        try ReportInput(jsonLines: Fixtures.outsideInside,
                        files: [ReportInputFile(name: "kb-outside.pcap", sizeBytes: 4_096),
                                ReportInputFile(name: "kb-inside.pcap", sizeBytes: 2_048)]),
        options: ReportOptions())
    let bothURL = FileManager.default.temporaryDirectory.appendingPathComponent("smtpscope-outside-inside-report.html")
    try both.write(to: bothURL, atomically: true, encoding: .utf8)
    #expect(FileManager.default.fileExists(atPath: bothURL.path))
}
