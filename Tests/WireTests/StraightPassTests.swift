import TestSupport
import Testing

@testable import Wire

/// The decoder's straight pass (``PacketDecoder/decodeEthernetIPv4TCP(_:wireLength:now:onSegment:)``)
/// must be invisible: frame by frame, the same result, segment, payload and counts as the
/// layered path, on frames that take it and on everything at its edge (IP options, fragments,
/// VLAN tags, IPv6, other link layers, snaplen cuts, Ethernet padding, segmentation offload,
/// impossible lengths, random corruption of every header byte).
@Suite struct StraightPassTests {
    struct Frame {
        var bytes: [UInt8]
        var wireLength: Int
        var linkType: LinkType
        var time: Int64
    }

    static func randomFrame(_ random: inout SplitMix64, time: Int64) -> Frame {
        let payload = (0..<Int.random(in: 0...120, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        let v6 = Int.random(in: 0..<5, using: &random) == 0
        let client = Endpoint(address: v6 ? .v6(high: 0x2001_0db8_0000_0000, low: 1) : .v4(0xC000_0201), port: UInt16.random(in: 1024...65535, using: &random))
        let server = Endpoint(address: v6 ? .v6(high: 0x2001_0db8_0000_0000, low: 2) : .v4(0xC633_6419), port: 25)
        let forward = Bool.random(using: &random)
        var options: [PacketBuilder.TCPOption] = []
        switch Int.random(in: 0..<6, using: &random) {
        case 0, 1, 2: options = [.noOperation, .noOperation, .timestamp(value: random.next32(), echo: random.next32())]
        case 3: options = [.maximumSegmentSize(1460), .sackPermitted, .windowScale(7)]
        default: break
        }
        let flags = TCPFlags(rawValue: UInt16.random(in: 0...0x1ff, using: &random))
        var packet = PacketBuilder.tcp(
            from: forward ? client : server, to: forward ? server : client, seq: random.next32(), ack: random.next32(),
            flags: flags, window: UInt16.random(in: 0...65535, using: &random), options: options, payload: payload)
        var linkType = LinkType.ethernet
        var bytes: [UInt8]
        switch Int.random(in: 0..<40, using: &random) {
        case 0:  // IP options
            if !v6 {
                let tcp = Array(packet[20...])
                packet = PacketBuilder.ipv4(source: client.address, destination: server.address, protocolNumber: 6, payload: tcp, options: [1, 1, 1, 0])
            }
            bytes = PacketBuilder.ethernet(packet)
        case 1:  // a fragment
            let pieces = PacketBuilder.fragments(packet, count: 2)
            bytes = PacketBuilder.ethernet(pieces[Int.random(in: 0..<pieces.count, using: &random)])
        case 2: bytes = PacketBuilder.ethernet(packet, vlanTags: [100])
        case 3:
            linkType = .linuxSLL
            bytes = PacketBuilder.sll(packet)
        case 4:  // Ethernet padding after the datagram
            bytes = PacketBuilder.ethernet(packet) + [UInt8](repeating: 0, count: Int.random(in: 1...20, using: &random))
        case 5:  // segmentation offload (IPv4 total length 0), jumbogram (IPv6 payload length 0)
            bytes = PacketBuilder.ethernet(packet)
            if v6 { bytes[18] = 0; bytes[19] = 0 } else { bytes[16] = 0; bytes[17] = 0 }
        case 6:  // not TCP
            bytes = PacketBuilder.ethernet(packet)
            if v6 { bytes[20] = 17 } else { bytes[23] = 17 }
        case 7 where v6:  // an 8-byte hop-by-hop header before TCP (the layered path walks it)
            bytes = PacketBuilder.ethernet(packet)
            bytes[20] = 0
            bytes.insert(contentsOf: [6, 0, 0, 0, 0, 0, 0, 0], at: 54)
            let length = (Int(bytes[18]) << 8 | Int(bytes[19])) + 8
            bytes[18] = UInt8(length >> 8)
            bytes[19] = UInt8(length & 0xff)
        case 8 where v6:  // a payload length shorter than the TCP header, or longer than the frame
            bytes = PacketBuilder.ethernet(packet)
            let length = Bool.random(using: &random) ? Int.random(in: 0...40, using: &random) : bytes.count + 10
            bytes[18] = UInt8(length >> 8)
            bytes[19] = UInt8(length & 0xff)
        default:
            bytes = PacketBuilder.ethernet(packet)
        }
        // Random corruption of one or two header bytes.
        if Int.random(in: 0..<4, using: &random) == 0 {
            for _ in 0..<Int.random(in: 1...2, using: &random) {
                let at = Int.random(in: 0..<min(bytes.count, 80), using: &random)
                bytes[at] = UInt8.random(in: 0...255, using: &random)
            }
        }
        let wireLength = bytes.count
        // Snapshot length cuts (anywhere, headers included).
        if Int.random(in: 0..<5, using: &random) == 0 {
            bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
        }
        return Frame(bytes: bytes, wireLength: wireLength, linkType: linkType, time: time)
    }

    static func describe(_ decoded: Decoded) -> String {
        "\(decoded.result) \(decoded.calls) \(decoded.segment.map { String(describing: $0) } ?? "-") \(decoded.payload)"
    }

    @Test(arguments: 0..<40)
    func straightAndLayeredPathsAgree(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var straight = PacketDecoder()
        var layered = PacketDecoder()
        layered.straightPass = false
        var time: Int64 = 1_000_000_000
        for _ in 0..<300 {
            time += Int64.random(in: 0...2_000_000_000, using: &random)
            let frame = Self.randomFrame(&random, time: time)
            let a = straight.run(frame.bytes, frame.linkType, wireLength: frame.wireLength, time: frame.time)
            let b = layered.run(frame.bytes, frame.linkType, wireLength: frame.wireLength, time: frame.time)
            #expect(Self.describe(a) == Self.describe(b), "frame \(frame.bytes)")
        }
        #expect(straight.statistics == layered.statistics)
    }

    /// The generator reaches both paths' outcomes (otherwise the comparison would prove little).
    @Test func framesReachEveryOutcome() {
        var random = SplitMix64(seed: 7)
        var decoder = PacketDecoder()
        for _ in 0..<3000 {
            let frame = Self.randomFrame(&random, time: 0)
            _ = decoder.run(frame.bytes, frame.linkType, wireLength: frame.wireLength)
        }
        let statistics = decoder.statistics
        #expect(statistics.tcpSegments > 1000)
        #expect(statistics.truncatedPayloadSegments > 10)
        #expect(statistics.truncatedFrames > 100)
        #expect(statistics.fragmentsReceived > 10)
        #expect(statistics.notTCP > 10)
        #expect(statistics.failed > 10)
    }

    /// A plain frame, and the same frame padded, cut inside the payload, or with the DF bit
    /// off: each gives the hand-built segment (ports, numbers, flags, payload and wire length).
    @Test func plainFramesDecodeToTheirHeaders() {
        let client = Endpoint(address: .v4(0xC000_0201), port: 40000)
        let server = Endpoint(address: .v4(0xC633_6419), port: 25)
        let packet = PacketBuilder.tcp(
            from: client, to: server, seq: 1000, ack: 2000, flags: [.ack, .psh], window: 512,
            options: [.noOperation, .noOperation, .timestamp(value: 7, echo: 9)], payload: Array("MAIL FROM:<a@b>\r\n".utf8))
        let frame = PacketBuilder.ethernet(packet)
        for (bytes, wire) in [(frame, frame.count), (frame + [0, 0, 0], frame.count + 3), (Array(frame.prefix(frame.count - 5)), frame.count)] {
            var decoder = PacketDecoder()
            let decoded = decoder.run(bytes, .ethernet, wireLength: wire)
            #expect(decoded.result == .tcp)
            #expect(decoded.segment?.source == client)
            #expect(decoded.segment?.destination == server)
            #expect(decoded.segment?.sequenceNumber == 1000)
            #expect(decoded.segment?.acknowledgmentNumber == 2000)
            #expect(decoded.segment?.flags == [.ack, .psh])
            #expect(decoded.segment?.window == 512)
            #expect(decoded.segment?.options.timestampValue == 7)
            #expect(decoded.segment?.options.timestampEcho == 9)
            #expect(decoded.segment?.wirePayloadLength == 17)
            #expect(decoded.payload == Array(Array("MAIL FROM:<a@b>\r\n".utf8).prefix(bytes.count == frame.count - 5 ? 12 : 17)))
        }
    }

    /// The same for IPv6 (the IPv6 straight pass): padded, cut inside the payload.
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

extension SplitMix64 {
    mutating func next32() -> UInt32 { UInt32(truncatingIfNeeded: next()) }
}
