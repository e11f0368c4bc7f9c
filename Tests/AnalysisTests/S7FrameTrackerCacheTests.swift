import Capture
import Testing
import Wire

@testable import Analysis

/// The flow stage finds a flow's tracker through a direct-mapped cache keyed by flow index
/// (512 entries) before its table. Flows whose indices are 512 apart share an entry: 700
/// conversations starting 1 ms apart, every third one waiting 15 s for a reply that never
/// comes (so flows 0, 3, 6, ... are still open when flows 512 and on arrive), in two captures
/// of one run (indices restart), must give the same records with the cache on and off, and
/// each flow its own message.
@Suite struct S7FrameTrackerCacheTests {
    static let flows = 700

    static func frames() -> [(nanoseconds: Int64, bytes: [UInt8])] {
        (0..<flows).map { index in
            MailConversation(
                client: syntheticClient(index), startMs: 1_000 + Int64(index), messageID: "<m\(index)@example.org>",
                body: "line \(index)\r\n", reply: index % 3 != 0)
        }
        .flatMap { $0.frames() }.enumerated()
        .sorted { ($0.element.nanoseconds, $0.offset) < ($1.element.nanoseconds, $1.offset) }
        .map(\.element)
    }

    static func run(cache: Bool) -> [FlowRecord] {
        let analyzer = Analyzer()
        analyzer.trackerCache = cache
        let frames = frames()
        for capture in 0..<2 {
            analyzer.beginCapture(name: "capture \(capture)")
            var frameNumber: UInt64 = 0
            feed(frames, to: analyzer, frameNumber: &frameNumber)
            analyzer.endCapture()
        }
        return analyzer.finish().flows
    }

    @Test func cachedAndTableLookupsGiveTheSameRecords() {
        let cached = Self.run(cache: true)
        let table = Self.run(cache: false)
        #expect(cached.count == 2 * Self.flows)
        #expect(cached == table)
        // Independent of either path: each flow carries the message its client sent.
        for record in cached {
            let index = record.transactions.first?.messageID.flatMap { id in
                Int(id.dropFirst(2).prefix { $0 != "@" })
            }
            // Client `i` is 192.0.2.(1 + i % 250), port 20000 + i / 250 (`syntheticClient`).
            #expect(index.map { UInt16(20_000 + $0 / 250) } == record.client.port)
            #expect(index.map { "192.0.2.\(1 + $0 % 250)" } == record.client.ip)
        }
    }
}
