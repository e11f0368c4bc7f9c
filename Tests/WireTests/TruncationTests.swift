import Testing
import TestSupport
import Wire

/// Every prefix of a valid frame decodes cleanly: the layer that ran out of bytes
/// reports `truncated` at its own offset, and once the TCP header is complete the
/// segment is delivered with the payload cut short.
@Suite struct TruncationTests {
    static let payload = Array("DATA\r\n".utf8) + [UInt8](repeating: 0x61, count: 40)

    /// Link header length and the layer an empty frame fails at, per link type.
    static func linkHeader(_ linkType: LinkType, vlanTags: Int) -> Int {
        switch linkType {
        case .ethernet: return 14 + 4 * vlanTags
        case .linuxSLL: return 16
        case .linuxSLL2: return 20
        case .null, .loop: return 4
        default: return 0
        }
    }

    @Test(arguments: PacketBuilder.linkTypes)
    func everyPrefix(linkType: LinkType) {
        for v6 in [false, true] where !(v6 && linkType == .ipv4) && !(!v6 && linkType == .ipv6) {
            for vlanTags in (linkType == .ethernet ? [0, 2] : [0]) {
                let options: [PacketBuilder.TCPOption] = [.noOperation, .noOperation, .timestamp(value: 1, echo: 2)]
                let packet = PacketBuilder.tcp(
                    from: endpoint(v6 ? "2001:db8::1" : "192.0.2.1", 1025), to: endpoint(v6 ? "2001:db8::2" : "192.0.2.2", 25),
                    seq: 5, options: options, payload: Self.payload)
                let frame = linkType == .ethernet
                    ? PacketBuilder.ethernet(packet, vlanTags: Array(repeating: 10, count: vlanTags))
                    : PacketBuilder.frame(packet, linkType: linkType)
                checkPrefixes(frame, linkType: linkType, v6: v6, vlanTags: vlanTags)
            }
        }
    }

    func checkPrefixes(_ frame: [UInt8], linkType: LinkType, v6: Bool, vlanTags: Int) {
        let link = Self.linkHeader(linkType, vlanTags: vlanTags)
        let ipHeader = v6 ? 40 : 20
        let tcpHeader = 32
        let context = "\(linkType) v6=\(v6) tags=\(vlanTags)"
        #expect(frame.count == link + ipHeader + tcpHeader + Self.payload.count, "\(context)")
        var decoder = PacketDecoder()
        for length in 0...frame.count {
            let prefix = Array(frame[0..<length])
            let decoded = decoder.run(prefix, linkType, wireLength: frame.count)
            let expected: DecodeResult
            if linkType == .raw || linkType == .rawBSD12 || linkType == .rawBSD14, length == 0 {
                expected = failure(.link, 0, .truncated)
            } else if length < 14 && linkType == .ethernet || length < link && linkType != .ethernet {
                expected = failure(.link, 0, .truncated)
            } else if length < link {
                // Inside a VLAN tag: reported at the tag being read.
                expected = failure(.vlan, 14 + (length - 14) / 4 * 4, .truncated)
            } else if length < link + ipHeader {
                expected = failure(v6 ? .ipv6 : .ipv4, link, .truncated)
            } else if length < link + ipHeader + tcpHeader {
                expected = failure(.tcp, link + ipHeader, .truncated)
            } else {
                expected = .tcp
            }
            #expect(decoded.result == expected, "\(context) prefix \(length)")
            if expected == .tcp {
                let cut = length - link - ipHeader - tcpHeader
                #expect(decoded.segment?.payloadLength == cut, "\(context) prefix \(length)")
                #expect(decoded.segment?.wirePayloadLength == Self.payload.count)
                #expect(decoded.payload == Array(Self.payload.prefix(cut)))
                #expect(decoded.segment?.options.timestampEcho == 2)
            } else {
                #expect(decoded.calls == 0)
            }
        }
    }
}
