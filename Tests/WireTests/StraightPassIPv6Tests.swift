import TestSupport
import Testing

@testable import Wire

/// The decoder's IPv6 straight pass (``PacketDecoder/decodeEthernetIPv6TCP(_:wireLength:now:onSegment:)``:
/// untagged Ethernet, IPv6 without extension headers, TCP) must be invisible: frame by frame,
/// the same result, segment, payload and counts as the layered path, on frames that take it and
/// on everything at its edge (a hop-by-hop header, a next header other than TCP, payload length
/// 0 (jumbogram or offload), payload lengths shorter than the TCP header or longer than the
/// frame, a VLAN tag, Ethernet padding, snaplen cuts anywhere, random corruption of header bytes).
@Suite struct StraightPassIPv6Tests {
    static func randomFrame(_ random: inout SplitMix64) -> (bytes: [UInt8], wireLength: Int) {
        let payload = (0..<Int.random(in: 0...120, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        let client = Endpoint(
            address: .v6(high: 0x2001_0db8_0000_0000, low: UInt64.random(in: 1...3, using: &random)),
            port: UInt16.random(in: 1024...65535, using: &random))
        let server = Endpoint(address: .v6(high: 0x2001_0db8_0000_0001, low: 0x25), port: 25)
        let forward = Bool.random(using: &random)
        var options: [PacketBuilder.TCPOption] = []
        switch Int.random(in: 0..<6, using: &random) {
        case 0, 1, 2:
            options = [
                .noOperation, .noOperation,
                .timestamp(value: UInt32.random(in: 0...UInt32.max, using: &random), echo: UInt32.random(in: 0...UInt32.max, using: &random)),
            ]
        case 3: options = [.maximumSegmentSize(1440), .sackPermitted, .windowScale(7)]
        default: break
        }
        let packet = PacketBuilder.tcp(
            from: forward ? client : server, to: forward ? server : client, seq: UInt32.random(in: 0...UInt32.max, using: &random),
            ack: UInt32.random(in: 0...UInt32.max, using: &random), flags: TCPFlags(rawValue: UInt16.random(in: 0...0x1ff, using: &random)),
            window: UInt16.random(in: 0...65535, using: &random), options: options, payload: payload)
        var bytes = PacketBuilder.ethernet(packet)
        #expect(bytes[12] == 0x86 && bytes[13] == 0xDD)
        func setPayloadLength(_ length: Int) {
            bytes[18] = UInt8(truncatingIfNeeded: length >> 8)
            bytes[19] = UInt8(truncatingIfNeeded: length)
        }
        switch Int.random(in: 0..<12, using: &random) {
        case 0:  // jumbogram or segmentation offload: payload length 0
            setPayloadLength(0)
        case 1:  // not TCP
            bytes[20] = 17
        case 2:  // an 8-byte hop-by-hop header before TCP (the layered path walks it)
            bytes[20] = 0
            bytes.insert(contentsOf: [6, 0, 0, 0, 0, 0, 0, 0], at: 54)
            setPayloadLength((Int(bytes[18]) << 8 | Int(bytes[19])) + 8)
        case 3:  // a payload length shorter than the TCP header, or longer than the frame
            setPayloadLength(Bool.random(using: &random) ? Int.random(in: 1...40, using: &random) : bytes.count + 10)
        case 4:  // a VLAN tag
            bytes = PacketBuilder.ethernet(packet, vlanTags: [100])
        case 5:  // Ethernet padding after the datagram
            bytes += [UInt8](repeating: 0, count: Int.random(in: 1...20, using: &random))
        default:
            break
        }
        // Random corruption of one or two header bytes.
        if Int.random(in: 0..<4, using: &random) == 0 {
            for _ in 0..<Int.random(in: 1...2, using: &random) {
                bytes[Int.random(in: 0..<min(bytes.count, 90), using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
        }
        let wireLength = bytes.count
        // Snapshot length cuts (anywhere, headers included).
        if Int.random(in: 0..<5, using: &random) == 0 {
            bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
        }
        return (bytes, wireLength)
    }

    @Test(arguments: 0..<30)
    func straightAndLayeredPathsAgree(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var straight = PacketDecoder()
        var layered = PacketDecoder()
        layered.straightPass = false
        for index in 0..<300 {
            let frame = Self.randomFrame(&random)
            let time = Int64(index) * 1_000_000
            let a = straight.run(frame.bytes, .ethernet, wireLength: frame.wireLength, time: time)
            let b = layered.run(frame.bytes, .ethernet, wireLength: frame.wireLength, time: time)
            #expect(StraightPassTests.describe(a) == StraightPassTests.describe(b), "frame \(frame.bytes)")
        }
        #expect(straight.statistics == layered.statistics)
    }

    /// The generator reaches both paths' outcomes (otherwise the comparison would prove little).
    @Test func framesReachEveryOutcome() {
        var random = SplitMix64(seed: 3)
        var decoder = PacketDecoder()
        for _ in 0..<3000 {
            let frame = Self.randomFrame(&random)
            _ = decoder.run(frame.bytes, .ethernet, wireLength: frame.wireLength)
        }
        let statistics = decoder.statistics
        #expect(statistics.tcpSegments > 1500)
        #expect(statistics.truncatedPayloadSegments > 10)
        #expect(statistics.truncatedFrames > 100)
        #expect(statistics.notTCP > 10)
        #expect(statistics.failed > 10)
    }

    /// A plain IPv6 frame, padded, and cut inside the payload: each gives the hand-built segment.
    @Test func plainIPv6FramesDecodeToTheirHeaders() {
        let client = Endpoint(address: .v6(high: 0x2001_0db8_0000_0000, low: 0x10), port: 40000)
        let server = Endpoint(address: .v6(high: 0x2001_0db8_0000_0001, low: 0x19), port: 25)
        let packet = PacketBuilder.tcp(
            from: client, to: server, seq: 0xFFFF_FFF0, ack: 7, flags: [.ack], window: 100, options: [],
            payload: Array("DATA\r\n".utf8))
        let frame = PacketBuilder.ethernet(packet)
        #expect(frame.count == 14 + 40 + 20 + 6)
        for (bytes, wire) in [(frame, frame.count), (frame + [0, 0], frame.count + 2), (Array(frame.prefix(frame.count - 2)), frame.count)] {
            var decoder = PacketDecoder()
            let decoded = decoder.run(bytes, .ethernet, wireLength: wire)
            #expect(decoded.result == .tcp)
            #expect(decoded.segment?.source == client)
            #expect(decoded.segment?.destination == server)
            #expect(decoded.segment?.sequenceNumber == 0xFFFF_FFF0)
            #expect(decoded.segment?.acknowledgmentNumber == 7)
            #expect(decoded.segment?.flags == [.ack])
            #expect(decoded.segment?.window == 100)
            #expect(decoded.segment?.wirePayloadLength == 6)
            #expect(decoded.payload == Array(Array("DATA\r\n".utf8).prefix(bytes.count == frame.count - 2 ? 4 : 6)))
            #expect(decoder.statistics.truncatedPayloadSegments == (bytes.count == frame.count - 2 ? 1 : 0))
        }
    }
}
