import TestSupport
import Testing
import Wire

@testable import Reassembly

/// A frame the decoder's straight IPv4 pass takes can go to the reassembler as it lies
/// (``TCPReassembler/process(straight:_:frame:timestampNanoseconds:clock:emit:)``: a plain
/// in-order segment of a cached flow is handled from the frame's fields, without a segment).
/// That must be invisible: the random conversations of ``InOrderFastPathTests`` (in-order data
/// and everything at its boundary) and ``RecentFlowCacheTests`` (colliding tuples, IPv6 beside
/// IPv4, evictions, reused tuples, late packets), turned into Ethernet frames (some with TCP
/// options, some cut by the snapshot length, some on no SMTP port), give the same events,
/// reassembly statistics and decode statistics as each frame decoded into a segment and
/// handed to ``TCPReassembler/process(_:payload:frame:timestampNanoseconds:clock:emit:)``.
@Suite struct S8FrameStraightTests {
    struct Frame {
        var bytes: [UInt8]
        var wireLength: Int
        var time: Int64
    }

    /// `segment` as an Ethernet frame; a snaplen-cut segment's frame ends after its captured bytes.
    static func frame(_ segment: TCPSegment, payload: [UInt8], time: Int64, options: [PacketBuilder.TCPOption]) -> Frame {
        let missing = max(segment.wirePayloadLength - payload.count, 0)
        let packet = PacketBuilder.tcp(
            from: segment.source, to: segment.destination, seq: segment.sequenceNumber, ack: segment.acknowledgmentNumber,
            flags: segment.flags, window: segment.window, options: options,
            payload: payload + [UInt8](repeating: 0x5A, count: missing))
        let whole = PacketBuilder.ethernet(packet)
        return Frame(bytes: Array(whole.dropLast(missing)), wireLength: whole.count, time: time)
    }

    /// Options as real stacks send them: none, NOP NOP Timestamps (the decoder's inline case), or others.
    static func options(_ random: inout SplitMix64) -> [PacketBuilder.TCPOption] {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return []
        case 1: return [.maximumSegmentSize(1460), .sackPermitted]
        default:
            return [.noOperation, .noOperation, .timestamp(value: UInt32.random(in: 0...UInt32.max, using: &random), echo: 7)]
        }
    }

    static func frames(seed: UInt64) -> [Frame] {
        var random = SplitMix64(seed: seed ^ 0xA5A5)
        var frames: [Frame] = []
        for item in InOrderFastPathTests.conversation(seed: seed) {
            frames.append(frame(item.segment, payload: item.payload, time: item.time, options: options(&random)))
        }
        let start = frames.last?.time ?? 0
        for item in RecentFlowCacheTests.traffic(seed: seed) {
            frames.append(frame(item.segment, payload: item.payload, time: start + item.time, options: options(&random)))
        }
        // Now and then a frame on no SMTP port, between two of the flows' frames.
        let others = Endpoint(address: .v4(0xC000_0263), port: 443)
        for index in stride(from: frames.count - 1, to: 0, by: -7) {
            let noise = TCPSegment(
                source: others, destination: Endpoint(address: .v4(0xC633_6401), port: 51000), sequenceNumber: 9,
                acknowledgmentNumber: 1, flags: [.ack], window: 512, payloadLength: 3)
            frames.insert(frame(noise, payload: [1, 2, 3], time: frames[index - 1].time, options: []), at: index)
        }
        return frames
    }

    struct Outcome: Equatable {
        var events: [String] = []
        var reassembly = ReassemblyStatistics()
        var decode = DecodeStatistics()
    }

    /// Feeds `frames` as the flow stage does: clock-driven, with a tick every 2 s of capture time.
    static func run(_ frames: [Frame], straight: Bool, maxFlows: Int) -> Outcome {
        var options = ReassemblyOptions()
        options.maxFlows = maxFlows
        options.ports.insert(40000)
        var reassembler = TCPReassembler(options: options, seed: 5)
        var decoder = PacketDecoder()
        var outcome = Outcome()
        var clock = Int64.min
        var nextTick = Int64.min
        for (index, frame) in frames.enumerated() {
            let number = UInt64(index + 1)
            clock = max(clock, frame.time)
            if clock >= nextTick {
                nextTick = clock + 2_000_000_000
                reassembler.advanceClock(to: clock) { outcome.events.append(InOrderFastPathTests.describe($0)) }
            }
            frame.bytes.withUnsafeBytes { bytes in
                if straight,
                    let layout = decoder.takeStraightIPv4(
                        bytes, wireLength: frame.wireLength, linkType: .ethernet, timestampNanoseconds: frame.time)
                {
                    reassembler.process(straight: bytes, layout, frame: number, timestampNanoseconds: frame.time, clock: clock) {
                        outcome.events.append(InOrderFastPathTests.describe($0))
                    }
                    return
                }
                _ = decoder.decode(frame: bytes, wireLength: frame.wireLength, linkType: .ethernet, timestampNanoseconds: frame.time) {
                    segment, payload in
                    reassembler.process(segment, payload: payload, frame: number, timestampNanoseconds: frame.time, clock: clock) {
                        outcome.events.append(InOrderFastPathTests.describe($0))
                    }
                }
            }
        }
        reassembler.finish { outcome.events.append(InOrderFastPathTests.describe($0)) }
        outcome.reassembly = reassembler.statistics
        outcome.decode = decoder.statistics
        return outcome
    }

    @Test(arguments: 0..<200)
    func straightFramesAgreeWithSegments(seed: UInt64) {
        let frames = Self.frames(seed: seed)
        for maxFlows in [3, 100] {
            let straight = Self.run(frames, straight: true, maxFlows: maxFlows)
            let segments = Self.run(frames, straight: false, maxFlows: maxFlows)
            #expect(straight.events == segments.events)
            #expect(straight.reassembly == segments.reassembly)
            #expect(straight.decode == segments.decode)
        }
    }

    /// The frames reach what the comparison must cover, counted independently of either path.
    @Test func framesReachTheEdges() {
        var total = Outcome()
        var ipv4 = 0
        var noise = 0
        for seed in 0..<200 as Range<UInt64> {
            let frames = Self.frames(seed: seed)
            for frame in frames where frame.bytes[12] == 0x08 {
                ipv4 += 1
                if frame.bytes[34] == 0x01 && frame.bytes[35] == 0xBB { noise += 1 }
            }
            let run = Self.run(frames, straight: true, maxFlows: 3)
            total.reassembly.flowsEvicted += run.reassembly.flowsEvicted
            total.reassembly.flowsReused += run.reassembly.flowsReused
            total.reassembly.packetsAfterClose += run.reassembly.packetsAfterClose
            total.reassembly.keepAlives += run.reassembly.keepAlives
            total.reassembly.retransmittedSegments += run.reassembly.retransmittedSegments
            total.reassembly.packetsIgnored += run.reassembly.packetsIgnored
            total.reassembly.bytesDeliveredInPlace += run.reassembly.bytesDeliveredInPlace
            total.decode.truncatedPayloadSegments += run.decode.truncatedPayloadSegments
            total.decode.tcpSegments += run.decode.tcpSegments
        }
        #expect(total.reassembly.flowsEvicted > 0)
        #expect(total.reassembly.flowsReused > 0)
        #expect(total.reassembly.packetsAfterClose > 0)
        #expect(total.reassembly.keepAlives > 0)
        #expect(total.reassembly.retransmittedSegments > 0)
        #expect(total.reassembly.bytesDeliveredInPlace > 50_000)
        #expect(total.decode.truncatedPayloadSegments > 0)
        // Every frame on port 443 is set aside, and nothing else is.
        #expect(noise > 1000)
        #expect(total.reassembly.packetsIgnored == UInt64(noise))
        #expect(ipv4 > total.decode.tcpSegments / 2)
    }
}
