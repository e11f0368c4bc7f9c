import Testing
import TestSupport
import Wire

/// SplitMix64: a small seeded generator so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct RobustnessTests {
    static func validFrames(for linkType: LinkType) -> [[UInt8]] {
        var packets: [[UInt8]] = []
        if linkType != .ipv6 {
            packets.append(PacketBuilder.tcp(from: endpoint("192.0.2.1", 1), to: endpoint("192.0.2.2", 25), seq: 1, options: [.maximumSegmentSize(1460), .sackPermitted, .windowScale(7)], payload: Array("HELO x\r\n".utf8)))
            packets += PacketBuilder.fragments(packets[0], count: 2)
        }
        if linkType != .ipv4 {
            let v6 = PacketBuilder.tcp(from: endpoint("2001:db8::1", 1), to: endpoint("2001:db8::2", 25), seq: 1, options: [.timestamp(value: 1, echo: 2)], payload: Array("QUIT\r\n".utf8), ipv6ExtensionHeaders: [.hopByHop(), .routing()])
            packets.append(v6)
            packets += PacketBuilder.fragments(v6, count: 2)
        }
        var frames = packets.map { PacketBuilder.frame($0, linkType: linkType) }
        if linkType == .ethernet { frames += packets.map { PacketBuilder.ethernet($0, vlanTags: [1, 2]) } }
        return frames
    }

    /// Checks the invariants every result must satisfy.
    static func check(_ decoded: Decoded, frameLength: Int, context: @autoclosure () -> String) {
        switch decoded.result {
        case .tcp:
            #expect(decoded.calls == 1, "\(context())")
            if let segment = decoded.segment {
                #expect(segment.payloadLength == decoded.payload.count, "\(context())")
                #expect(segment.payloadLength <= segment.wirePayloadLength, "\(context())")
                #expect(segment.payloadLength <= 65535, "\(context())")
            }
        case .failed(let error):
            #expect(decoded.calls == 0, "\(context())")
            #expect(error.offset >= 0 && error.offset <= max(frameLength, 65535), "\(context())")
        case .notTCP, .fragmentHeld:
            #expect(decoded.calls == 0, "\(context())")
        }
    }

    @Test(arguments: PacketBuilder.linkTypes + [LinkType(rawValue: 147)])
    func randomBytesAndMutationsNeverTrap(linkType: LinkType) {
        var random = SeededGenerator(state: 0x5EED_0000 + UInt64(linkType.rawValue))
        var decoder = PacketDecoder(options: DecoderOptions(maxFragmentedDatagrams: 16, maxFragmentBytesHeld: 8192))
        var tcpCount = 0
        for round in 0..<3000 {
            let length = Int.random(in: 0...160, using: &random)
            let frame = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            let decoded = decoder.run(frame, linkType, wireLength: length + Int.random(in: 0...3, using: &random) * 100, time: Int64(round))
            Self.check(decoded, frameLength: length, context: "random \(linkType) #\(round)")
        }
        let valid = Self.validFrames(for: linkType)
        for round in 0..<3000 {
            var frame = valid[round % valid.count]
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                guard !frame.isEmpty else { break }
                switch Int.random(in: 0..<3, using: &random) {
                case 0: frame[Int.random(in: 0..<frame.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                case 1: frame[Int.random(in: 0..<min(frame.count, 80), using: &random)] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
                default: frame.removeLast(Int.random(in: 0...min(frame.count, 30), using: &random))
                }
            }
            let decoded = decoder.run(frame, linkType, time: Int64(round) * 1_000_000_000)
            if decoded.result == .tcp { tcpCount += 1 }
            Self.check(decoded, frameLength: frame.count, context: "mutated \(linkType) #\(round)")
        }
        // Bounds held throughout.
        #expect(decoder.statistics.peakFragmentBytesHeld <= 8192)
        #expect(decoder.statistics.fragmentDatagramsInProgress <= 16)
        #expect(decoder.statistics.frames == 6000)
        // Mutations leave many frames intact enough to decode (the loop did reach TCP).
        if linkType.rawValue != 147 { #expect(tcpCount > 100) }
    }

    /// A decoder that has seen dissimilar traffic gives the same answers as a fresh
    /// one for self-contained frames, and `reset()` forgets held fragments and counts.
    @Test func reusedDecoderMatchesFreshDecoder() {
        let inputs: [([UInt8], LinkType)] = [
            (RecordedFrames.ethernetIPv4SYN, .ethernet), (RecordedFrames.sll2IPv4Data, .linuxSLL2),
            (RecordedFrames.sllIPv6SYN, .linuxSLL), ([1, 2, 3], .ethernet), (RecordedFrames.rawIPv6SYNACK, .raw),
            (Array(RecordedFrames.ethernetIPv6Data.prefix(70)), .ethernet), ([0x45] + [UInt8](repeating: 0, count: 30), .raw),
            (RecordedFrames.ethernetIPv6Data, .ethernet), (RecordedFrames.rawIPv4Data, .linuxSLL2),
        ]
        var reused = PacketDecoder()
        for (frame, linkType) in FragmentTests.fragmentFrames(v6: false).prefix(2).map({ ($0, LinkType.ethernet) }) + inputs {
            let again = reused.run(frame, linkType)
            let fresh = decodeOnce(frame, linkType)
            if FragmentTests.fragmentFrames(v6: false).contains(frame) { continue }
            #expect(again.result == fresh.result)
            #expect(again.payload == fresh.payload)
            #expect(again.segment?.sequenceNumber == fresh.segment?.sequenceNumber)
            #expect(again.segment?.options == fresh.segment?.options)
        }
        #expect(reused.statistics.fragmentDatagramsInProgress == 1)
        reused.reset()
        #expect(reused.statistics == DecodeStatistics())
        // The two held fragments are gone: the remaining ones no longer complete the datagram.
        let rest = Array(FragmentTests.fragmentFrames(v6: false)[2...])
        let (results, delivered) = FragmentTests.feed(rest, into: &reused)
        #expect(results == [.fragmentHeld, .fragmentHeld])
        #expect(delivered == nil)
    }
}
