@testable import Analysis
import Capture
import Reassembly
import SMTP
import TestSupport
import Testing
import Wire

/// A flow holds no dialog, no segment ring storage and no options copy until it carries
/// something. These tests pin that starting them late changes nothing a flow reports.
@Suite struct MemoryLazyStateTests {
    static let client = Endpoint(address: .v4(0xC000_020A), port: 41234)  // 192.0.2.10
    static let server = Endpoint(address: .v4(0xC633_6419), port: 25)  // 198.51.100.25

    /// Runs `packets` (Ethernet frames 1…n, 1 ms apart from t0) through one capture.
    static func analyze(_ packets: [[UInt8]]) -> AnalysisResult {
        let analyzer = Analyzer()
        analyzer.beginCapture(name: "lazy")
        for (n, bytes) in packets.enumerated() {
            let info = CaptureInfo(frameNumber: UInt64(n + 1), timestampNanoseconds: t0 + Int64(n) * 1_000_000,
                                   capturedLength: bytes.count, wireLength: bytes.count, linkType: .ethernet)
            bytes.withUnsafeBytes { analyzer.process(info, frame: $0) }
        }
        return analyzer.finish()
    }

    static func syn() -> [UInt8] {
        PacketBuilder.ethernet(PacketBuilder.tcp(from: client, to: server, seq: 1000, flags: [.syn]))
    }

    /// One SYN, nothing else: the record says so (open at the capture's end, no findings).
    @Test func synOnlyFlowKeepsItsRecord() throws {
        let result = Self.analyze([Self.syn()])
        let flow = try #require(result.flows.first)
        #expect(result.flows.count == 1)
        #expect(flow.client == EndpointRecord(Self.client))
        #expect(flow.server == EndpointRecord(Self.server))
        #expect(flow.firstFrame == 1 && flow.lastFrame == 1 && flow.packets == 1)
        #expect(flow.startNanoseconds == t0 && flow.endNanoseconds == t0)
        #expect(flow.endReason == .open)
        #expect(flow.closedBy == nil)
        #expect(flow.banner == nil && !flow.tls && !flow.midstream)
        #expect(flow.transactions.isEmpty)
        #expect(flow.findings.isEmpty)
    }

    /// SYN answered by RST: no payload ever, so the dialog only starts at the stream ends.
    @Test func synAnsweredByResetIsAResetFlow() throws {
        let rst = PacketBuilder.ethernet(PacketBuilder.tcp(from: Self.server, to: Self.client, seq: 0, ack: 1001, flags: [.rst, .ack]))
        let flow = try #require(Self.analyze([Self.syn(), rst]).flows.first)
        #expect(flow.endReason == .rst)
        #expect(flow.closedBy == .server)
        #expect(flow.lastFrame == 2 && flow.packets == 2)
        let reset = try #require(flow.findings.first { $0.code == .reset })
        #expect(reset.message == "the server reset the connection (frame 2)")
        #expect(reset.frames == [2])
    }

    /// The server's greeting is the first payload: the dialog starts on it and reads it whole.
    @Test func greetingAsFirstPayloadStartsTheDialog() throws {
        let banner = Array("220 mx.example.org ESMTP ready\r\n".utf8)
        let packets = [
            Self.syn(),
            PacketBuilder.ethernet(PacketBuilder.tcp(from: Self.server, to: Self.client, seq: 5000, ack: 1001, flags: [.syn, .ack])),
            PacketBuilder.ethernet(PacketBuilder.tcp(from: Self.client, to: Self.server, seq: 1001, ack: 5001)),
            PacketBuilder.ethernet(PacketBuilder.tcp(from: Self.server, to: Self.client, seq: 5001, ack: 1001, flags: [.ack, .psh], payload: banner)),
        ]
        let flow = try #require(Self.analyze(packets).flows.first)
        #expect(flow.banner == "220 mx.example.org ESMTP ready")
        #expect(flow.lastFrame == 4)
        #expect(flow.transactions.isEmpty)
    }

    /// The ring is allocated by the first client chunk; with room for exactly five, a
    /// terminator sent one byte per segment as the flow's first client payload is traced whole.
    @Test func lateRingTracesATerminatorInTheFirstClientSegments() {
        var options = AnalysisOptions()
        options.segmentRingCapacity = 5
        var h = TrackerHarness(options: options)
        // Chunks: body + "\r" (frame 10), "\n" (11), "." (12), "\r" (13), "\n" (14): the first five client chunks.
        let last = h.sendMessage(splitAfter: [1, 2, 3, 4])
        h.reply(250, "ok", answering: .endOfData(transaction: 0), frame: 15, ms: last.ms + 5)
        let t = h.close(now: 2000).transactions[0]
        #expect(t.terminator.frames == [10, 11, 12, 13, 14])
        #expect(t.terminator.splitAfter == [1, 2, 3, 4])
        #expect(t.terminator.spreadNanoseconds == 4_000_000)
        #expect(t.outcome == .accepted)
    }

    @Test func freshRingRemembersNothingUntilItsFirstChunk() {
        var ring = SegmentRing(capacity: 3)
        #expect(ring.entry(containing: 0) == nil)
        ring.append(offset: 0, length: 0, frame: 1, timestampNanoseconds: 0)  // empty chunks are not kept
        #expect(ring.entry(containing: 0) == nil)
        for frame in UInt64(1)...4 { ring.append(offset: (frame - 1) * 10, length: 10, frame: frame, timestampNanoseconds: 0) }
        // Capacity 3: frame 1 (offsets 0…9) was overwritten by frame 4 (30…39).
        #expect(ring.entry(containing: 5) == nil)
        #expect(ring.entry(containing: 15)?.frame == 2)
        #expect(ring.entry(containing: 39)?.frame == 4)
        #expect(ring.entry(containing: 40) == nil)
    }

    /// The shared-settings tracker and the one built with its own dialog report the same.
    @Test func sharedSettingsTrackerStartsItsDialogWhenFed() throws {
        var options = AnalysisOptions()
        options.maxEvidenceFrames = 2
        let info = FlowInfo(id: FlowID(0), client: Self.client, server: Self.server, firstFrame: 1,
                            firstTimestampNanoseconds: t0, midstream: false)
        var tracker = FlowTracker(info: info, capture: 0, shared: FlowTrackerShared(options: options))
        let greeting = Array("220 ***********************************************\r\n".utf8)
        let segment = SegmentInfo(frame: 2, sequenceNumber: 1, timestampNanoseconds: t0 + 1_000_000, flags: [.ack],
                                  streamOffset: 0, length: greeting.count)
        greeting.withUnsafeBytes { tracker.handle(.data(info.id, .serverToClient, offset: 0, bytes: $0, segment: segment)) }
        let flow = tracker.close(summary: nil, now: t0 + 1_000_000)
        #expect(flow.banner == "220 ***********************************************")
        #expect(flow.findings.map(\.code) == [.bannerMasked])
    }
}
