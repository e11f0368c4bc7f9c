import Capture
import Testing
import TestSupport
import Wire

@testable import Analysis

/// With worker threads the reader hands a frame the straight IPv4 pass takes to its worker as the
/// frame's leading bytes (``ParallelBatch/appendStraight(_:_:frame:timestampNanoseconds:now:)``,
/// ``ParallelFlows/dispatch(straight:_:frame:timestampNanoseconds:now:)``); any other frame is
/// decoded by the reader and handed over as its segment. Either way the worker must see what the
/// decoder sees, in the same worker for both kinds of frame of one flow, and the run must print
/// what one thread prints.
@Suite struct S9ReaderStraightTests {
    struct Frame {
        var nanoseconds: Int64
        var bytes: [UInt8]
        var wireLength: Int
    }

    /// The frame with 4 bytes of IPv4 options (NOP, NOP, NOP, end of list): the straight pass
    /// leaves it to the layered decoder. Only for untagged IPv4 without options.
    static func withIPv4Options(_ frame: [UInt8]) -> [UInt8]? {
        guard frame.count >= 34, frame[12] == 0x08, frame[13] == 0x00, frame[14] == 0x45 else { return nil }
        var header = Array(frame[14..<34])
        header[0] = 0x46
        let total = (Int(header[2]) << 8 | Int(header[3])) + 4
        header[2] = UInt8(total >> 8)
        header[3] = UInt8(total & 0xFF)
        header += [0x01, 0x01, 0x01, 0x00]
        header[10] = 0
        header[11] = 0
        let sum = PacketBuilder.checksum(header)
        header[10] = UInt8(sum >> 8)
        header[11] = UInt8(sum & 0xFF)
        return Array(frame[..<14]) + header + Array(frame[34...])
    }

    /// ``S8FrameStageTests``' 300 interleaved conversations (IPv4, IPv6, VLAN-tagged), changed so
    /// that one flow's frames take both paths: every 5th frame carries IPv4 options (the layered
    /// path), frames shorter than 60 bytes get Ethernet padding, and every 13th longer than 120
    /// bytes is cut to 120 (a snapshot length), its wire length kept.
    static func frames() -> [Frame] {
        S8FrameStageTests.frames().enumerated().map { index, frame in
            var bytes = frame.bytes
            let wireLength: Int
            if index % 13 == 6 && bytes.count > 120 {
                wireLength = bytes.count
                bytes = Array(bytes[..<120])
            } else {
                if index % 5 == 2, let optioned = withIPv4Options(bytes) { bytes = optioned }
                if bytes.count < 60 { bytes += [UInt8](repeating: 0, count: 60 - bytes.count) }
                wireLength = bytes.count
            }
            return Frame(nanoseconds: frame.nanoseconds, bytes: bytes, wireLength: wireLength)
        }
    }

    /// Every JSON line a run prints, in order.
    static func lines(threads: Int, frames: [Frame]) -> [String] {
        var options = AnalysisOptions()
        options.retainFlowRecords = false
        var out: [String] = []
        var writer = JSONLinesEncoder.LineWriter()
        let analyzer = Analyzer(options: options, threads: threads, onFlow: { flow in writer.write(flow, to: { out.append($0) }) })
        analyzer.beginCapture(name: "mixed")
        for (index, frame) in frames.enumerated() {
            let info = CaptureInfo(
                frameNumber: UInt64(index + 1), timestampNanoseconds: frame.nanoseconds, capturedLength: frame.bytes.count,
                wireLength: frame.wireLength, linkType: .ethernet)
            frame.bytes.withUnsafeBytes { analyzer.process(info, frame: $0) }
        }
        analyzer.endCapture()
        let result = analyzer.finish()
        writer.writeEnd(messages: result.messages, summary: result.summary, to: { out.append($0) })
        return out
    }

    @Test(arguments: [2, 3, 5])
    func mixedPathsPrintWhatOneThreadPrints(threads: Int) {
        let frames = Self.frames()
        // The case is what it says: frames the straight pass takes and frames it leaves, padded
        // and cut ones among the first.
        var decoder = PacketDecoder()
        var straight = 0
        var padded = 0
        for frame in frames {
            let layout = frame.bytes.withUnsafeBytes {
                decoder.takeStraightIPv4($0, wireLength: frame.wireLength, linkType: .ethernet, timestampNanoseconds: frame.nanoseconds)
            }
            if let layout {
                straight += 1
                if layout.end < frame.bytes.count { padded += 1 }
            }
        }
        #expect(straight > frames.count / 3 && straight < frames.count * 9 / 10)
        #expect(padded > 100)
        #expect(frames.contains { $0.wireLength > $0.bytes.count })

        let one = Self.lines(threads: 1, frames: frames)
        let many = Self.lines(threads: threads, frames: frames)
        #expect(one.filter { $0.hasPrefix("{\"type\":\"flow\"") }.count == S8FrameStageTests.flows)
        #expect(many.count == one.count)
        if let first = zip(one, many).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            Issue.record("threads \(threads): line \(first.offset + 1) differs:\n  1: \(first.element.0)\n  \(threads): \(first.element.1)")
        }
    }

    /// A straight entry, replayed by a fresh decoder on the worker's side, gives the segment and
    /// payload the decoder gives for the original frame; segment entries between them stay intact.
    @Test func straightEntriesDecodeAsTheirFrames() {
        var frames = Self.frames().map(\.bytes)
        // TCP headers of 20, 40 and 60 bytes, payloads of odd lengths, Ethernet padding.
        let client = Endpoint(address: .v4(0xC000_0207), port: 41_000)
        let server = Endpoint(address: .v4(0xC633_6419), port: 25)
        let longOptions: [PacketBuilder.TCPOption] =
            [.maximumSegmentSize(1_460), .windowScale(7), .sackPermitted, .timestamp(value: 9, echo: 8)]
            + Array(repeating: .noOperation, count: 20)
        for (index, options) in [[], [PacketBuilder.TCPOption.timestamp(value: 1, echo: 2)], longOptions].enumerated() {
            for length in [0, 1, 5, 7, 1_459] {
                var frame = PacketBuilder.ethernet(
                    PacketBuilder.tcp(
                        from: client, to: server, seq: UInt32(1_000 + index), ack: 77, flags: [.ack, .psh], options: options,
                        payload: (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ index) }))
                if frame.count < 60 { frame += [UInt8](repeating: 0xEE, count: 60 - frame.count) }
                frames.append(frame)
            }
        }

        let batch = ParallelBatch(workers: 2)
        var taker = PacketDecoder()
        var expected: [(segment: TCPSegment, payload: [UInt8], straight: Bool)] = []
        for (index, frame) in frames.enumerated() {
            frame.withUnsafeBytes { bytes in
                var reference = PacketDecoder()
                var seen: (TCPSegment, [UInt8])?
                _ = reference.decode(frame: bytes, wireLength: bytes.count, linkType: .ethernet, timestampNanoseconds: 0) {
                    seen = ($0, Array($1))
                }
                guard let seen else { return }
                if let layout = taker.takeStraightIPv4(bytes, wireLength: bytes.count, linkType: .ethernet, timestampNanoseconds: 0) {
                    batch.appendStraight(bytes, layout, frame: UInt64(index), timestampNanoseconds: Int64(index), now: Int64(index) + 1)
                    expected.append((seen.0, seen.1, true))
                } else {
                    _ = seen.1.withUnsafeBytes { payload in
                        batch.appendSegment(seen.0, payload: payload, frame: UInt64(index), timestampNanoseconds: Int64(index), now: Int64(index) + 1)
                    }
                    expected.append((seen.0, seen.1, false))
                }
            }
        }
        #expect(expected.filter(\.straight).count > 200 && expected.contains { !$0.straight })

        var seen = 0
        batch.forEachEntry { entry, contents in
            defer { seen += 1 }
            guard seen < expected.count else { return }
            let want = expected[seen]
            #expect(entry.now == entry.timestampNanoseconds + 1)
            var got: (TCPSegment, [UInt8])?
            switch contents {
            case .straight(let frame):
                #expect(want.straight, "entry \(seen)")
                var replay = PacketDecoder()
                let result = replay.decode(frame: frame, wireLength: frame.count, linkType: .ethernet, timestampNanoseconds: 0) {
                    got = ($0, Array($1))
                }
                #expect(result == .tcp)
            case .segment(let segment, let payload):
                #expect(!want.straight, "entry \(seen)")
                got = (segment, Array(payload))
            case .none:
                Issue.record("entry \(seen) carries nothing")
            }
            guard let got else {
                Issue.record("entry \(seen): no segment")
                return
            }
            let (segment, payload) = got
            #expect(segment.source == want.segment.source && segment.destination == want.segment.destination, "entry \(seen)")
            #expect(segment.sequenceNumber == want.segment.sequenceNumber && segment.acknowledgmentNumber == want.segment.acknowledgmentNumber)
            #expect(segment.flags == want.segment.flags && segment.window == want.segment.window && segment.options == want.segment.options)
            #expect(segment.payloadLength == want.segment.payloadLength && segment.wirePayloadLength == want.segment.wirePayloadLength)
            #expect(payload == want.payload, "entry \(seen)")
        }
        #expect(seen == expected.count)
    }

    /// A straight frame goes to the worker its segment would go to (``ParallelFlows/slot(straight:count:)``,
    /// read in place, against ``ParallelFlows/slot(for:count:)`` of the decoded segment), both
    /// directions alike, or one flow's frames taking different paths would be split between two
    /// reassemblers.
    @Test(arguments: [2, 3, 4, 7, 16])
    func straightFramesGoWhereTheirSegmentsGo(count: Int) {
        var random = SplitMix64(seed: UInt64(count))
        var decoder = PacketDecoder()
        var checked = 0
        for _ in 0..<2_000 {
            let ports = random.next()
            let client = Endpoint(address: .v4(UInt32(truncatingIfNeeded: random.next())), port: UInt16(truncatingIfNeeded: ports))
            let server = Endpoint(address: .v4(UInt32(truncatingIfNeeded: random.next())), port: UInt16(truncatingIfNeeded: ports >> 16))
            var slots: [Int] = []
            for (source, destination) in [(client, server), (server, client)] {
                let frame = PacketBuilder.ethernet(PacketBuilder.tcp(from: source, to: destination, seq: 1, payload: [0x2E]))
                frame.withUnsafeBytes { bytes in
                    var segment: TCPSegment?
                    _ = decoder.decode(frame: bytes, wireLength: bytes.count, linkType: .ethernet, timestampNanoseconds: 0) { found, _ in segment = found }
                    guard let segment else { return }
                    let straight = ParallelFlows.slot(straight: bytes, count: count)
                    #expect(straight == ParallelFlows.slot(for: segment, count: count), "\(source) → \(destination)")
                    slots.append(straight)
                    checked += 1
                }
            }
            #expect(slots.count == 2 && slots.first == slots.last)
        }
        #expect(checked == 4_000)
    }
}
