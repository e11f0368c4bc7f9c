import Analysis
import Testing

@Suite struct TextSummaryWordingTests {
    @Test func countsOfOneAreSingular() {
        let one = Analyzer()
        one.beginCapture(name: "one.pcap")
        AnalyzerTests.feed(one, frames: 1)
        #expect(renderText(one.finish()).hasPrefix("Summary: 1 packet, 0 SMTP flows, 0 transactions\n"))
        let two = Analyzer()
        two.beginCapture(name: "two.pcap")
        AnalyzerTests.feed(two, frames: 2)
        #expect(renderText(two.finish()).hasPrefix("Summary: 2 packets, 0 SMTP flows, 0 transactions\n"))
    }
}
