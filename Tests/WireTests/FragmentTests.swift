import Testing
import TestSupport
import Wire

@Suite struct FragmentTests {
    static let payload: [UInt8] = (0..<1200).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
    static let second: Int64 = 1_000_000_000

    static func segment(v6: Bool, ipv6Headers: [PacketBuilder.IPv6ExtensionHeader] = []) -> [UInt8] {
        PacketBuilder.tcp(
            from: endpoint(v6 ? "2001:db8::1" : "192.0.2.1", 1025), to: endpoint(v6 ? "2001:db8::2" : "192.0.2.2", 25),
            seq: 123_456, ack: 654_321, flags: [.psh, .ack], options: [.maximumSegmentSize(536)], payload: payload,
            ipv6ExtensionHeaders: ipv6Headers)
    }

    static func fragmentFrames(v6: Bool, count: Int = 4) -> [[UInt8]] {
        let headers: [PacketBuilder.IPv6ExtensionHeader] = v6 ? [.hopByHop(), .destinationOptions()] : []
        return PacketBuilder.fragments(segment(v6: v6, ipv6Headers: headers), count: count).map { PacketBuilder.ethernet($0) }
    }

    /// Feeds frames in order; returns the results and the one delivered segment (if any).
    static func feed(_ frames: [[UInt8]], into decoder: inout PacketDecoder, time: Int64 = 0) -> ([DecodeResult], Decoded?) {
        var results: [DecodeResult] = []
        var delivered: Decoded?
        for frame in frames {
            let decoded = decoder.run(frame, .ethernet, time: time)
            results.append(decoded.result)
            if decoded.calls > 0 { delivered = decoded }
        }
        return (results, delivered)
    }

    func expectOriginal(_ decoded: Decoded?, v6: Bool) {
        #expect(decoded?.result == .tcp)
        #expect(decoded?.payload == Self.payload)
        #expect(decoded?.segment?.sequenceNumber == 123_456)
        #expect(decoded?.segment?.acknowledgmentNumber == 654_321)
        #expect(decoded?.segment?.options.maximumSegmentSize == 536)
        #expect(decoded?.segment?.source.address == ip(v6 ? "2001:db8::1" : "192.0.2.1"))
        #expect(decoded?.segment?.wirePayloadLength == Self.payload.count)
    }

    @Test(arguments: [false, true])
    func inOrderAndReversed(v6: Bool) {
        let frames = Self.fragmentFrames(v6: v6)
        #expect(frames.count == 4)
        for order in [frames, frames.reversed()] {
            var decoder = PacketDecoder()
            let (results, delivered) = Self.feed(order, into: &decoder)
            #expect(results == [.fragmentHeld, .fragmentHeld, .fragmentHeld, .tcp])
            expectOriginal(delivered, v6: v6)
            #expect(decoder.statistics.datagramsReassembled == 1)
            #expect(decoder.statistics.fragmentsReceived == 4)
            #expect(decoder.statistics.fragmentDatagramsInProgress == 0)
            #expect(decoder.statistics.fragmentBytesHeld == 0)
        }
    }

    @Test(arguments: [false, true])
    func duplicatedFragmentsCountAsOverlaps(v6: Bool) {
        let frames = Self.fragmentFrames(v6: v6)
        var decoder = PacketDecoder()
        let duplicated = [frames[0], frames[0], frames[2], frames[1], frames[2], frames[3]]
        let (results, delivered) = Self.feed(duplicated, into: &decoder)
        #expect(results == [.fragmentHeld, .fragmentHeld, .fragmentHeld, .fragmentHeld, .fragmentHeld, .tcp])
        expectOriginal(delivered, v6: v6)
        #expect(decoder.statistics.fragmentOverlaps == 2)
    }

    /// Overlapping fragments with different bytes: the bytes seen first win.
    @Test func overlapKeepsFirstSeenBytes() {
        let packet = Self.segment(v6: false)
        let ipPayload = Array(packet[20...])
        func fragment(offset: Int, bytes: [UInt8], more: Bool) -> [UInt8] {
            let field = UInt16(offset / 8) | (more ? 0x2000 : 0)
            return PacketBuilder.ethernet(PacketBuilder.ipv4(
                source: ip("192.0.2.1"), destination: ip("192.0.2.2"), protocolNumber: 6, payload: bytes,
                identification: 77, flagsAndOffset: field))
        }
        let head = fragment(offset: 0, bytes: Array(ipPayload[0..<512]), more: true)
        let tail = fragment(offset: 512, bytes: Array(ipPayload[512...]), more: false)
        // Forged bytes over payload offsets 480..<560 (TCP payload bytes 456..<536).
        let forged = fragment(offset: 480, bytes: [UInt8](repeating: 0xEE, count: 80), more: true)

        var first = PacketDecoder()
        let (_, original) = Self.feed([head, tail, forged], into: &first)
        #expect(original?.payload == Self.payload)  // complete before the forgery arrived
        var second = PacketDecoder()
        let (results, kept) = Self.feed([head, forged, tail], into: &second)
        #expect(results == [.fragmentHeld, .fragmentHeld, .tcp])
        // 480..<512 was already held from `head`; 512..<560 came first from `forged`.
        var expected = Self.payload
        for index in (512 - 24)..<(560 - 24) { expected[index] = 0xEE }
        #expect(kept?.payload == expected)
        #expect(second.statistics.fragmentOverlaps == 2)
    }

    @Test(arguments: [false, true])
    func timeoutUsesCaptureTime(v6: Bool) {
        let frames = Self.fragmentFrames(v6: v6)
        var decoder = PacketDecoder()
        _ = decoder.run(frames[0], .ethernet, time: 100 * Self.second)
        // 29 s later the datagram is still there.
        let (results, delivered) = Self.feed(Array(frames[1...]), into: &decoder, time: 129 * Self.second)
        #expect(results.last == .tcp)
        expectOriginal(delivered, v6: v6)

        var late = PacketDecoder()
        _ = late.run(frames[0], .ethernet, time: 100 * Self.second)
        let (lateResults, lateDelivered) = Self.feed(Array(frames[1...]), into: &late, time: 131 * Self.second)
        #expect(lateResults == [.fragmentHeld, .fragmentHeld, .fragmentHeld])
        #expect(lateDelivered == nil)
        #expect(late.statistics.datagramsExpired == 1)
        #expect(late.statistics.fragmentDatagramsInProgress == 1)
    }

    @Test func floodStaysWithinBounds() {
        let options = DecoderOptions(maxFragmentedDatagrams: 64, maxFragmentBytesHeld: 64 * 1024)
        var decoder = PacketDecoder(options: options)
        var template = Self.fragmentFrames(v6: false)[0]
        let count = 100_000
        for index in 0..<count {
            // Distinct (source, id) per datagram: id in bytes 18-19, source's low bytes 28-29.
            template[18] = UInt8(truncatingIfNeeded: index)
            template[19] = UInt8(truncatingIfNeeded: index >> 8)
            template[28] = UInt8(truncatingIfNeeded: index >> 16)
            let result = decoder.run(template, .ethernet, time: Int64(index)).result
            if result != .fragmentHeld {
                Issue.record("fragment \(index): \(result)")
                break
            }
        }
        let stats = decoder.statistics
        #expect(stats.fragmentDatagramsInProgress == 64)
        #expect(stats.datagramsEvicted == count - 64)
        #expect(stats.peakFragmentBytesHeld <= 64 * 1024)
        #expect(stats.fragmentHeld == count)

        // Byte bound: 1,000 datagrams of ~300 bytes each against a 10,000-byte budget.
        var small = PacketDecoder(options: DecoderOptions(maxFragmentedDatagrams: 1000, maxFragmentBytesHeld: 10_000))
        for index in 0..<1000 {
            template[18] = UInt8(truncatingIfNeeded: index)
            template[19] = UInt8(truncatingIfNeeded: index >> 8)
            _ = small.run(template, .ethernet)
        }
        let fragmentBytes = template.count - 14 - 20
        #expect(small.statistics.peakFragmentBytesHeld <= 10_000)
        #expect(small.statistics.fragmentDatagramsInProgress == 10_000 / fragmentBytes)
        #expect(small.statistics.datagramsEvicted == 1000 - 10_000 / fragmentBytes)

        // After the flood, a real datagram still reassembles.
        let (_, delivered) = Self.feed(Self.fragmentFrames(v6: true), into: &decoder)
        expectOriginal(delivered, v6: true)
    }

    @Test func inconsistentAndTruncatedFragmentsAreDropped() {
        let frames = Self.fragmentFrames(v6: false)
        var decoder = PacketDecoder()
        // A fragment cut by the snapshot length cannot be reassembled.
        let cut = Array(frames[1].prefix(frames[1].count - 5))
        #expect(decoder.run(cut, .ethernet, wireLength: frames[1].count).result.isFailure(.fragment, .truncated))
        // Reassembly past 65535 bytes is malformed.
        var huge = frames[3]
        huge[20] = 0x1f
        huge[21] = 0xff  // offset 65528 bytes, last fragment
        #expect(decoder.run(huge, .ethernet).result.isFailure(.fragment, .malformed))
        #expect(decoder.statistics.fragmentsDropped == 2)
    }
}

extension DecodeResult {
    func isFailure(_ layer: WireError.Layer, _ reason: WireError.Reason) -> Bool {
        if case .failed(let error) = self { return error.layer == layer && error.reason == reason }
        return false
    }
}
