import Analysis
import Capture
import Testing

/// How reading each input ended reaches the summary: `packets` counts every record read
/// (also those a BPF filter skipped), and a damaged record is kept as the read error.
@Suite struct ReadStatisticsTests {
    @Test func filteredFramesStillCountAsPackets() {
        let analyzer = Analyzer()
        analyzer.beginCapture(name: "filtered.pcap")
        AnalyzerTests.feed(analyzer, frames: 2)  // 2 of 5 records passed the filter
        analyzer.noteRead(.endOfInput(framesRead: 5))
        let result = analyzer.finish()
        let stats = result.summary.captures.first
        #expect(stats?.packets == 5)
        #expect(stats?.framesAnalyzed == 2)
        #expect(stats?.capturedBytes == UInt64(2 * AnalyzerTests.arp.count))
        #expect(stats?.readError == nil)
        #expect(result.summary.readErrors == 0)
    }

    @Test func readFailureNamesTheFailedFrame() {
        let analyzer = Analyzer()
        analyzer.beginCapture(name: "cut.pcap")
        AnalyzerTests.feed(analyzer, frames: 3)
        analyzer.noteRead(.failed(framesRead: 3, reason: ReadFailure(kind: .cutMidRecord, message: "truncated dump file")))
        analyzer.beginCapture(name: "whole.pcap")
        AnalyzerTests.feed(analyzer, frames: 1)
        analyzer.noteRead(.endOfInput(framesRead: 1))
        let result = analyzer.finish()
        #expect(result.summary.packets == 4)
        #expect(result.summary.readErrors == 1)
        #expect(result.summary.captures.first?.readError?.frame == 4)
        let summary = JSONLinesEncoder.encode(result).last ?? ""
        #expect(summary.contains("\"read_errors\":1,"))
        #expect(summary.contains("\"read_error\":{\"frame\":4,\"reason\":\"file cut in the middle of a record (truncated dump file)\"}"))
        #expect(renderText(result).contains("cut.pcap unreadable from frame 4"))
    }
}
