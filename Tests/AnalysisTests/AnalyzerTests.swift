import Analysis
import Capture
import TestSupport
import Testing
import Wire

@Suite struct AnalyzerTests {
    /// An ARP request on Ethernet: never TCP, whatever the decoder's state.
    static let arp: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06]
        + [0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 192, 0, 2, 2]

    static func feed(_ analyzer: Analyzer, frames: Int, truncateFrame: UInt64? = nil) {
        for n in 1...frames {
            let frame = UInt64(n)
            let info = CaptureInfo(frameNumber: frame, timestampNanoseconds: t0 + Int64(n) * 1_000_000, capturedLength: arp.count,
                                   wireLength: frame == truncateFrame ? arp.count + 20 : arp.count, linkType: .ethernet)
            arp.withUnsafeBytes { analyzer.process(info, frame: $0) }
        }
    }

    @Test func countsEveryFrameOfEveryCapture() {
        let analyzer = Analyzer()
        analyzer.beginCapture(name: "outside.pcap")
        Self.feed(analyzer, frames: 3, truncateFrame: 2)
        analyzer.endCapture()
        analyzer.beginCapture(name: "inside.pcap")
        Self.feed(analyzer, frames: 4)
        analyzer.noteDrops(7)
        let result = analyzer.finish()
        #expect(result.summary.captures.map(\.name) == ["outside.pcap", "inside.pcap"])
        #expect(result.summary.captures.map(\.packets) == [3, 4])
        #expect(result.summary.packets == 7)
        #expect(result.summary.truncatedFrames == 1)
        #expect(result.summary.decodeErrors == 0)
        #expect(result.summary.drops == 7)
        #expect(result.flows.isEmpty)
        #expect(result.summary.association.sentence == "No end of data was seen with a decided outcome.")
        #expect(!result.hasProblems)
        let summary = JSONLinesEncoder.encode(result).last ?? ""
        #expect(summary.contains("\"packets\":7,"))
        #expect(summary.contains("\"drops\":7,"))
    }

    @Test func decodeErrorsAndTCPOffSMTPPortsAreCounted() {
        let analyzer = Analyzer()
        analyzer.beginCapture(name: "mixed")
        // Ethernet saying IPv4, then only 5 bytes: the IPv4 header is cut short.
        let broken: [UInt8] = [0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 20, 0]
        // A TCP segment between two ports that are not SMTP ports.
        let web = PacketBuilder.ethernet(PacketBuilder.tcp(
            from: Endpoint(address: .v4(0xC000_0201), port: 50000), to: Endpoint(address: .v4(0xC000_0202), port: 80),
            seq: 1, flags: [.syn]))
        for (n, bytes) in [broken, web].enumerated() {
            let info = CaptureInfo(frameNumber: UInt64(n + 1), timestampNanoseconds: t0, capturedLength: bytes.count,
                                   wireLength: bytes.count, linkType: .ethernet)
            bytes.withUnsafeBytes { analyzer.process(info, frame: $0) }
        }
        let result = analyzer.finish()
        #expect(result.summary.decodeErrors == 1)
        #expect(result.summary.captures.first?.tcpSegments == 1)
        #expect(result.flows.isEmpty)
    }
}
