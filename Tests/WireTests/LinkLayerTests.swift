import Testing
import TestSupport
import Wire

@Suite struct LinkLayerTests {
    static let client = endpoint("192.0.2.1", 40000)
    static let server = endpoint("192.0.2.2", 25)
    static let client6 = endpoint("2001:db8::1", 40000)
    static let server6 = endpoint("2001:db8::2", 25)
    static let payload = Array("MAIL FROM:<a@example.org>\r\n".utf8)

    static func packet(v6: Bool = false) -> [UInt8] {
        PacketBuilder.tcp(
            from: v6 ? client6 : client, to: v6 ? server6 : server, seq: 0xFFFF_FFF0, ack: 77, flags: [.psh, .ack],
            window: 502, payload: payload)
    }

    @Test(arguments: PacketBuilder.linkTypes)
    func everyLinkTypeCarriesIPv4AndIPv6(linkType: LinkType) {
        for v6 in [false, true] where !(v6 && linkType == .ipv4) && !(!v6 && linkType == .ipv6) {
            let decoded = decodeOnce(PacketBuilder.frame(Self.packet(v6: v6), linkType: linkType), linkType)
            #expect(decoded.result == .tcp, "\(linkType) v6=\(v6)")
            #expect(decoded.segment?.source == (v6 ? Self.client6 : Self.client))
            #expect(decoded.segment?.sequenceNumber == 0xFFFF_FFF0)
            #expect(decoded.segment?.acknowledgmentNumber == 77)
            #expect(decoded.segment?.window == 502)
            #expect(decoded.payload == Self.payload)
        }
    }

    /// VLAN frames built with PacketBuilder (no tagged interface to record on).
    @Test func vlanAndQinQTags() {
        let ip = Self.packet()
        for tpid: UInt16 in [0x8100, 0x88a8, 0x9100] {
            #expect(decodeOnce(PacketBuilder.ethernet(ip, vlanTags: [100], outerTagProtocol: tpid), .ethernet).result == .tcp)
            #expect(decodeOnce(PacketBuilder.ethernet(ip, vlanTags: [100, 200], outerTagProtocol: tpid), .ethernet).payload == Self.payload)
        }
        #expect(decodeOnce(PacketBuilder.ethernet(ip, vlanTags: Array(repeating: 7, count: 8)), .ethernet).result == .tcp)
        // Nine tags exceed the default limit of eight: reported, not walked forever.
        let tooMany = PacketBuilder.ethernet(ip, vlanTags: Array(repeating: 7, count: 9))
        #expect(decodeOnce(tooMany, .ethernet).result == failure(.vlan, 14 + 8 * 4, .unsupported))
        // Tagged IPv6.
        #expect(decodeOnce(PacketBuilder.ethernet(Self.packet(v6: true), vlanTags: [5]), .ethernet).result == .tcp)
    }

    @Test func nonIPAndUnknownLinkTypes() {
        let arp: [UInt8] = [0, 1, 8, 0, 6, 4, 0, 1] + [UInt8](repeating: 0, count: 20)
        #expect(decodeOnce(PacketBuilder.ethernet(arp, etherType: 0x0806), .ethernet).result == .notTCP)
        #expect(decodeOnce(PacketBuilder.ethernet(arp, etherType: 0x0806, vlanTags: [3]), .ethernet).result == .notTCP)
        #expect(decodeOnce(PacketBuilder.sll(arp, etherType: 0x0806), .linuxSLL).result == .notTCP)
        #expect(decodeOnce(PacketBuilder.sll2(arp, etherType: 0x0806), .linuxSLL2).result == .notTCP)
        #expect(decodeOnce(Self.packet(), LinkType(rawValue: 147)).result == failure(.link, 0, .unsupported))
        // RAW with a version nibble that is neither 4 nor 6.
        #expect(decodeOnce([0x55] + Self.packet().dropFirst(), .raw).result == failure(.link, 0, .malformed))
        // UDP and ICMPv6 are not TCP.
        let udp = PacketBuilder.ipv4(source: ip("192.0.2.1"), destination: ip("192.0.2.2"), protocolNumber: 17, payload: [0, 53, 0, 53, 0, 8, 0, 0])
        #expect(decodeOnce(udp, .raw).result == .notTCP)
        let icmp6 = PacketBuilder.ipv6(source: ip("2001:db8::1"), destination: ip("2001:db8::2"), nextHeader: 58, payload: [128, 0, 0, 0, 0, 1, 0, 1])
        #expect(decodeOnce(icmp6, .raw).result == .notTCP)
    }

    @Test func ethernetPaddingNeverReachesTCP() {
        // A bare ACK is 54 bytes; Ethernet pads it to 60 with zeros.
        let ack = PacketBuilder.tcp(from: Self.client, to: Self.server, seq: 1, ack: 1)
        let padded = PacketBuilder.ethernet(ack) + [0, 0, 0, 0, 0, 0]
        let decoded = decodeOnce(padded, .ethernet)
        #expect(decoded.result == .tcp)
        #expect(decoded.segment?.payloadLength == 0)
        #expect(decoded.segment?.wirePayloadLength == 0)
        // IPv6 likewise trims to the payload length.
        let ack6 = PacketBuilder.tcp(from: Self.client6, to: Self.server6, seq: 1, ack: 1, payload: [0x41])
        #expect(decodeOnce(PacketBuilder.ethernet(ack6) + [0xEE, 0xEE], .ethernet).payload == [0x41])
    }

    @Test func ipv4TotalLengthZeroIsSegmentationOffload() {
        var packet = Self.packet()
        packet[2] = 0
        packet[3] = 0
        let decoded = decodeOnce(packet, .raw)
        #expect(decoded.result == .tcp)
        #expect(decoded.payload == Self.payload)
    }

    @Test func ipv4OptionsAreSkipped() {
        // Record-route-like option padded to 8 bytes: IHL 7.
        let options: [UInt8] = [7, 7, 4, 0, 0, 0, 0, 0]
        let tcp = Array(Self.packet()[20...])
        let packet = PacketBuilder.ipv4(source: Self.client.address, destination: Self.server.address, protocolNumber: 6, payload: tcp, options: options)
        #expect(packet[0] == 0x47)
        #expect(decodeOnce(packet, .raw).payload == Self.payload)
        // IHL below 5 is malformed.
        var bad = Self.packet()
        bad[0] = 0x44
        #expect(decodeOnce(bad, .raw).result == failure(.ipv4, 0, .malformed))
        // Total length below the header length is malformed.
        var short = Self.packet()
        short[2] = 0
        short[3] = 10
        #expect(decodeOnce(short, .raw).result == failure(.ipv4, 2, .malformed))
    }

    @Test func ipv6ExtensionHeaders() {
        let headers: [[PacketBuilder.IPv6ExtensionHeader]] = [
            [.hopByHop()], [.routing(length: 24)], [.destinationOptions(length: 16)], [.authentication()],
            [.hopByHop(), .destinationOptions(), .routing(), .authentication(length: 24), .destinationOptions()],
        ]
        for chain in headers {
            let packet = PacketBuilder.tcp(from: Self.client6, to: Self.server6, seq: 9, payload: Self.payload, ipv6ExtensionHeaders: chain)
            let decoded = decodeOnce(packet, .raw)
            #expect(decoded.result == .tcp, "\(chain)")
            #expect(decoded.payload == Self.payload)
            #expect(decoded.segment?.wirePayloadLength == Self.payload.count)
        }
        // ESP and no-next-header are not TCP.
        for next: UInt8 in [50, 59] {
            let packet = PacketBuilder.ipv6(source: Self.client6.address, destination: Self.server6.address, nextHeader: next, payload: [UInt8](repeating: 0, count: 16))
            #expect(decodeOnce(packet, .raw).result == .notTCP)
        }
        // More extension headers than the limit: reported at the header past the limit.
        let nine = [PacketBuilder.IPv6ExtensionHeader](repeating: .destinationOptions(), count: 9)
        let long = PacketBuilder.tcp(from: Self.client6, to: Self.server6, seq: 9, ipv6ExtensionHeaders: nine)
        #expect(decodeOnce(long, .raw).result == failure(.ipv6Extension, 40 + 8 * 8, .unsupported))
        // An extension header claiming to run past the payload length is malformed.
        var lying = PacketBuilder.tcp(from: Self.client6, to: Self.server6, seq: 9, ipv6ExtensionHeaders: [.hopByHop()])
        lying[41] = 200
        #expect(decodeOnce(lying, .raw).result == failure(.ipv6Extension, 40, .malformed))
    }

    @Test func tcpHeaderLengthChecks() {
        var low = Self.packet()
        low[32] = 0x40  // data offset 4 words
        #expect(decodeOnce(low, .raw).result == failure(.tcp, 32, .malformed))
        var beyond = Self.packet()
        beyond[32] = 0xF0  // 60-byte header, but the IP packet holds only 20 + 28 bytes of TCP
        #expect(decodeOnce(beyond, .raw).result == failure(.tcp, 32, .malformed))
    }

    @Test func tcpOptionsAreRead() {
        let options: [PacketBuilder.TCPOption] = [
            .noOperation, .noOperation, .timestamp(value: 0xDEAD_BEEF, echo: 7),
            .sack([.init(1, 2), .init(3, 4), .init(5, 6)]),
        ]
        let packet = PacketBuilder.tcp(from: Self.client, to: Self.server, seq: 1, options: options, payload: [1, 2, 3])
        let decoded = decodeOnce(packet, .raw)
        #expect(decoded.segment?.options == TCPOptions(sackBlockCount: 3, timestampValue: 0xDEAD_BEEF, timestampEcho: 7))
        #expect(decoded.payload == [1, 2, 3])
        // A broken option length stops option parsing but keeps the segment.
        let broken = PacketBuilder.tcp(from: Self.client, to: Self.server, seq: 1, options: [.maximumSegmentSize(1400), .raw(kind: 30, data: [])], payload: [9])
        var mutated = broken
        mutated[20 + 20 + 5] = 40  // length of the kind-30 option now runs past the header
        let result = decodeOnce(mutated, .raw)
        #expect(result.result == .tcp)
        #expect(result.segment?.options.maximumSegmentSize == 1400)
        #expect(result.payload == [9])
    }

    @Test func snaplenCutPayloadIsDeliveredWithWireLength() {
        let frame = PacketBuilder.ethernet(Self.packet())
        let cut = Array(frame[0..<(frame.count - 10)])
        let decoded = decodeOnce(cut, .ethernet, wireLength: frame.count)
        #expect(decoded.result == .tcp)
        #expect(decoded.segment?.payloadLength == Self.payload.count - 10)
        #expect(decoded.segment?.wirePayloadLength == Self.payload.count)
        #expect(decoded.segment?.isPayloadTruncated == true)
        #expect(decoded.payload == Array(Self.payload.prefix(Self.payload.count - 10)))
        var decoder = PacketDecoder()
        _ = decoder.run(cut, .ethernet, wireLength: frame.count)
        #expect(decoder.statistics.truncatedFrames == 1)
        #expect(decoder.statistics.truncatedPayloadSegments == 1)
        #expect(decoder.statistics.tcpSegments == 1)
        // IPv6 likewise.
        let frame6 = PacketBuilder.ethernet(Self.packet(v6: true))
        _ = decoder.run(Array(frame6.prefix(frame6.count - 1)), .ethernet, wireLength: frame6.count)
        #expect(decoder.statistics.truncatedPayloadSegments == 2)
        _ = decoder.run(frame6, .ethernet)
        #expect(decoder.statistics.truncatedPayloadSegments == 2)
    }
}
