import Capture
import Testing
import TestSupport
import Wire

@testable import Analysis

/// The flow stage's frame entry (``FlowStage/process(frame:info:decoder:)``): frames the
/// straight IPv4 pass takes go to the reassembler as they lie, the rest through the decoder's
/// segment. Many interleaved conversations (split terminators, clients that give up, one flow
/// per 512 sharing the tracker cache), with every fourth conversation's frames under a VLAN tag
/// (the layered path) and IPv6 conversations among them, must give the same records, closes
/// and decode counts as every frame through the decoder's segment, and each flow its message.
@Suite struct S8FrameStageTests {
    static let flows = 300

    static func frames() -> [(nanoseconds: Int64, bytes: [UInt8])] {
        (0..<flows).flatMap { index -> [(nanoseconds: Int64, bytes: [UInt8])] in
            let client = syntheticClient(index)
            let conversation = MailConversation(
                client: client, startMs: 1_000 + Int64(index), messageID: "<m\(index)@example.org>",
                body: String(repeating: "line \(index) of the body\r\n", count: 1 + index % 9), split: index % 3 == 0,
                reply: index % 7 != 0)
            var frames = conversation.frames()
            if index % 5 == 4 {
                let v6 = Endpoint(address: .v6(high: 0x2001_0db8_0000_0000, low: UInt64(index)), port: client.port)
                frames = frames.map { ($0.nanoseconds, Self.ipv6($0.bytes, client: v6)) }
            }
            if index % 4 == 1 {
                frames = frames.map { ($0.nanoseconds, Array($0.bytes[..<12]) + [0x81, 0x00, 0x00, 0x64] + Array($0.bytes[12...])) }
            }
            return frames
        }
        .enumerated()
        .sorted { ($0.element.nanoseconds, $0.offset) < ($1.element.nanoseconds, $1.offset) }
        .map(\.element)
    }

    /// The same TCP segment over IPv6 between `client` and the server 2001:db8::19 (the IPv4
    /// frame's TCP header and payload, re-checksummed).
    static func ipv6(_ frame: [UInt8], client: Endpoint) -> [UInt8] {
        let tcp = Array(frame[34...])
        let fromClient = UInt16(frame[34]) << 8 | UInt16(frame[35]) == client.port
        let server = Endpoint(address: .v6(high: 0x2001_0db8_0000_0000, low: 0x19), port: 25)
        let source = fromClient ? client : server
        let destination = fromClient ? server : client
        let seq = UInt32(tcp[4]) << 24 | UInt32(tcp[5]) << 16 | UInt32(tcp[6]) << 8 | UInt32(tcp[7])
        let ack = UInt32(tcp[8]) << 24 | UInt32(tcp[9]) << 16 | UInt32(tcp[10]) << 8 | UInt32(tcp[11])
        let headerLength = Int(tcp[12] >> 4) * 4
        let flags = TCPFlags(rawValue: (UInt16(tcp[12]) << 8 | UInt16(tcp[13])) & 0x01ff)
        let window = UInt16(tcp[14]) << 8 | UInt16(tcp[15])
        let packet = PacketBuilder.tcp(
            from: source, to: destination, seq: seq, ack: ack, flags: flags, window: window,
            payload: Array(tcp[headerLength...]))
        return PacketBuilder.ethernet(packet)
    }

    struct Outcome: Equatable {
        var records: [FlowRecord] = []
        var closes: [CloseOrder] = []
        var decode = DecodeStatistics()
        var results: [String] = []
    }

    /// Feeds the frames as the analyzer does on one thread: the clock, a tick each second, then each frame.
    static func run(straight: Bool) -> Outcome {
        var outcome = Outcome()
        let stage = FlowStage(options: AnalysisOptions()) { record, order in
            outcome.records.append(record)
            outcome.closes.append(order)
        }
        stage.recordsOutliveClose = true
        stage.straightFrames = straight
        stage.begin(capture: 0)
        var decoder = PacketDecoder()
        var nextTick = Int64.min
        for (index, frame) in frames().enumerated() {
            let info = CaptureInfo(
                frameNumber: UInt64(index + 1), timestampNanoseconds: frame.nanoseconds, capturedLength: frame.bytes.count,
                wireLength: frame.bytes.count, linkType: .ethernet)
            stage.now = max(stage.now, frame.nanoseconds)
            if stage.now >= nextTick {
                nextTick = stage.now + 1_000_000_000
                stage.tick(beforeFrame: info.frameNumber)
            }
            let result = frame.bytes.withUnsafeBytes { stage.process(frame: $0, info: info, decoder: &decoder) }
            outcome.results.append("\(result)")
        }
        stage.finish()
        outcome.decode = decoder.statistics
        return outcome
    }

    @Test func straightFramesGiveTheSameRecords() {
        let straight = Self.run(straight: true)
        let segments = Self.run(straight: false)
        #expect(straight.records.count == Self.flows)
        #expect(straight.records == segments.records)
        #expect(straight.closes == segments.closes)
        #expect(straight.decode == segments.decode)
        #expect(straight.results == segments.results)
        // Independent of either path: each flow carries the message its client sent.
        for record in straight.records {
            let index = record.transactions.first?.messageID.flatMap { id in Int(id.dropFirst(2).prefix { $0 != "@" }) }
            #expect(index.map { UInt16(20_000 + $0 / 250) } == record.client.port)
        }
        // Every frame was TCP, and the IPv6 and VLAN-tagged ones were decoded too.
        #expect(straight.decode.tcpSegments == straight.results.count)
        #expect(straight.results.allSatisfy { $0 == "tcp" })
    }
}

