import Wire

/// Builds synthetic frames for tests: TCP over IPv4/IPv6 (extension headers,
/// fragmentation) inside any link layer smtpscope decodes, with correct IPv4
/// header and TCP checksums.
///
/// ```swift
/// let ip = PacketBuilder.tcp(from: client, to: server, seq: 1, flags: [.psh, .ack], payload: Array("EHLO x\r\n".utf8))
/// let frame = PacketBuilder.ethernet(ip, vlanTags: [100])
/// ```
public enum PacketBuilder {
    /// A TCP option to put in the header (padded with NOPs/EOL to a 4-byte multiple).
    public enum TCPOption: Sendable {
        case maximumSegmentSize(UInt16)
        case windowScale(UInt8)
        case sackPermitted
        /// SACK blocks as (left edge, right edge).
        case sack([SACKBlock])
        case timestamp(value: UInt32, echo: UInt32)
        case noOperation
        case endOfList
        /// Any option as kind + data (the length byte is added).
        case raw(kind: UInt8, data: [UInt8])
    }

    public struct SACKBlock: Sendable {
        public var left: UInt32
        public var right: UInt32
        public init(_ left: UInt32, _ right: UInt32) {
            self.left = left
            self.right = right
        }
    }

    /// An IPv6 extension header placed between the fixed header and TCP.
    public enum IPv6ExtensionHeader: Sendable {
        /// Hop-by-hop options (type 0), padded with PadN to `length` bytes (a multiple of 8).
        case hopByHop(length: Int = 8)
        /// Routing header (type 43), segments left 0, `length` bytes.
        case routing(length: Int = 8)
        /// Destination options (type 60), `length` bytes.
        case destinationOptions(length: Int = 8)
        /// Authentication header (type 51), `length` bytes (a multiple of 4, at least 12).
        case authentication(length: Int = 16)

        var type: UInt8 {
            switch self {
            case .hopByHop: return 0
            case .routing: return 43
            case .destinationOptions: return 60
            case .authentication: return 51
            }
        }
    }

    // MARK: - TCP / IP

    /// A whole IP packet (IPv4 or IPv6, after the addresses' family) carrying one TCP segment.
    public static func tcp(
        from source: Endpoint, to destination: Endpoint, seq: UInt32, ack: UInt32 = 0, flags: TCPFlags = [.ack],
        window: UInt16 = 65535, options: [TCPOption] = [], payload: [UInt8] = [], ipID: UInt16 = 1, ttl: UInt8 = 64,
        ipv6ExtensionHeaders: [IPv6ExtensionHeader] = []
    ) -> [UInt8] {
        var segment: [UInt8] = []
        segment += bigEndian(source.port) + bigEndian(destination.port) + bigEndian(seq) + bigEndian(ack)
        let optionBytes = encode(options)
        let dataOffset = UInt16((20 + optionBytes.count) / 4)
        segment += bigEndian(dataOffset << 12 | (flags.rawValue & 0x01ff)) + bigEndian(window)
        segment += [0, 0, 0, 0]  // checksum, urgent pointer
        segment += optionBytes + payload
        let sum = checksum(pseudoHeader(source.address, destination.address, length: segment.count) + segment)
        segment[16] = UInt8(sum >> 8)
        segment[17] = UInt8(sum & 0xff)
        switch source.address {
        case .v4:
            return ipv4(source: source.address, destination: destination.address, protocolNumber: 6, payload: segment, identification: ipID, ttl: ttl)
        case .v6:
            return ipv6(source: source.address, destination: destination.address, nextHeader: 6, payload: segment, hopLimit: ttl, extensionHeaders: ipv6ExtensionHeaders)
        }
    }

    /// An IPv4 datagram with a correct header checksum. `flagsAndOffset` is the raw
    /// flags/fragment-offset field (default: don't fragment).
    public static func ipv4(
        source: IPAddress, destination: IPAddress, protocolNumber: UInt8, payload: [UInt8], identification: UInt16 = 1,
        ttl: UInt8 = 64, flagsAndOffset: UInt16 = 0x4000, options: [UInt8] = []
    ) -> [UInt8] {
        let headerLength = 20 + (options.count + 3) / 4 * 4
        var header: [UInt8] = [0x40 | UInt8(headerLength / 4), 0]
        header += bigEndian(UInt16(truncatingIfNeeded: headerLength + payload.count))
        header += bigEndian(identification) + bigEndian(flagsAndOffset) + [ttl, protocolNumber, 0, 0]
        header += addressBytes(source) + addressBytes(destination)
        header += options + [UInt8](repeating: 0, count: headerLength - 20 - options.count)
        let sum = checksum(header)
        header[10] = UInt8(sum >> 8)
        header[11] = UInt8(sum & 0xff)
        return header + payload
    }

    /// An IPv6 packet; `extensionHeaders` are chained in order before `nextHeader`.
    public static func ipv6(
        source: IPAddress, destination: IPAddress, nextHeader: UInt8, payload: [UInt8], hopLimit: UInt8 = 64,
        extensionHeaders: [IPv6ExtensionHeader] = []
    ) -> [UInt8] {
        var chain: [UInt8] = []
        for (index, header) in extensionHeaders.enumerated() {
            let following = index + 1 < extensionHeaders.count ? extensionHeaders[index + 1].type : nextHeader
            chain += encode(header, next: following)
        }
        let first = extensionHeaders.first?.type ?? nextHeader
        let body = chain + payload
        var packet: [UInt8] = [0x60, 0, 0, 0] + bigEndian(UInt16(truncatingIfNeeded: body.count)) + [first, hopLimit]
        packet += addressBytes(source) + addressBytes(destination)
        return packet + body
    }

    /// Splits an IPv4 or IPv6 packet into `count` fragments (8-byte aligned, in
    /// order). IPv6 keeps hop-by-hop and routing headers in every fragment.
    public static func fragments(_ packet: [UInt8], count: Int, identification: UInt32 = 0x4242) -> [[UInt8]] {
        guard let first = packet.first else { return [] }
        if first >> 4 == 4 {
            let headerLength = Int(first & 0x0f) * 4
            let header = Array(packet[0..<headerLength])
            return pieces(of: Array(packet[headerLength...]), count: count).map { offset, data, more in
                var fragment = header
                let total = UInt16(truncatingIfNeeded: headerLength + data.count)
                fragment[2] = UInt8(total >> 8)
                fragment[3] = UInt8(total & 0xff)
                fragment[4] = UInt8(truncatingIfNeeded: identification >> 8)
                fragment[5] = UInt8(truncatingIfNeeded: identification)
                let field = UInt16(offset / 8) | (more ? 0x2000 : 0)
                fragment[6] = UInt8(field >> 8)
                fragment[7] = UInt8(field & 0xff)
                fragment[10] = 0
                fragment[11] = 0
                let sum = checksum(Array(fragment[0..<headerLength]))
                fragment[10] = UInt8(sum >> 8)
                fragment[11] = UInt8(sum & 0xff)
                return fragment + data
            }
        }
        // IPv6: the unfragmentable part is the fixed header plus hop-by-hop/routing headers.
        var nextField = 6  // index of the "next header" byte to patch
        var cursor = 40
        while cursor + 2 <= packet.count, packet[nextField] == 0 || packet[nextField] == 43 {
            nextField = cursor
            cursor += (Int(packet[cursor + 1]) + 1) * 8
        }
        let originalNext = packet[nextField]
        var unfragmentable = Array(packet[0..<min(cursor, packet.count)])
        unfragmentable[nextField] = 44
        return pieces(of: Array(packet[min(cursor, packet.count)...]), count: count).map { offset, data, more in
            var fragment = unfragmentable
            fragment += [originalNext, 0] + bigEndian(UInt16(offset) | (more ? 1 : 0)) + bigEndian(identification)
            fragment += data
            let payloadLength = UInt16(truncatingIfNeeded: fragment.count - 40)
            fragment[4] = UInt8(payloadLength >> 8)
            fragment[5] = UInt8(payloadLength & 0xff)
            return fragment
        }
    }

    // MARK: - Link layers

    /// Ethernet II, with optional VLAN tags (outermost first; the first uses
    /// `outerTagProtocol`, e.g. 0x88a8 for QinQ, the rest 0x8100).
    public static func ethernet(
        _ payload: [UInt8], etherType: UInt16? = nil, vlanTags: [UInt16] = [], outerTagProtocol: UInt16 = 0x8100,
        destinationMAC: [UInt8] = [0x02, 0, 0, 0, 0, 0x02], sourceMAC: [UInt8] = [0x02, 0, 0, 0, 0, 0x01]
    ) -> [UInt8] {
        var frame = destinationMAC + sourceMAC
        for (index, tag) in vlanTags.enumerated() {
            frame += bigEndian(index == 0 ? outerTagProtocol : 0x8100) + bigEndian(tag & 0x0fff)
        }
        return frame + bigEndian(etherType ?? ipEtherType(payload)) + payload
    }

    /// Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 16-byte header).
    public static func sll(_ payload: [UInt8], etherType: UInt16? = nil, packetType: UInt16 = 0) -> [UInt8] {
        bigEndian(packetType) + bigEndian(UInt16(1)) + bigEndian(UInt16(6)) + [0x02, 0, 0, 0, 0, 0x01, 0, 0]
            + bigEndian(etherType ?? ipEtherType(payload)) + payload
    }

    /// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 20-byte header).
    public static func sll2(_ payload: [UInt8], etherType: UInt16? = nil, interfaceIndex: UInt32 = 1) -> [UInt8] {
        bigEndian(etherType ?? ipEtherType(payload)) + [0, 0] + bigEndian(interfaceIndex) + bigEndian(UInt16(1))
            + [0, 6, 0x02, 0, 0, 0, 0, 0x01, 0, 0] + payload
    }

    /// BSD loopback (LINKTYPE_NULL): family in host order of the writer, little- or big-endian.
    public static func null(_ payload: [UInt8], bigEndianFamily: Bool = false, ipv6Family: UInt32 = 30) -> [UInt8] {
        let family: UInt32 = payload.first.map { $0 >> 4 == 6 } == true ? ipv6Family : 2
        let bytes = bigEndian(family)
        return (bigEndianFamily ? bytes : bytes.reversed()) + payload
    }

    /// OpenBSD loopback (LINKTYPE_LOOP): family in network order.
    public static func loop(_ payload: [UInt8], ipv6Family: UInt32 = 24) -> [UInt8] {
        null(payload, bigEndianFamily: true, ipv6Family: ipv6Family)
    }

    /// Wraps an IP packet in the given link type's header (raw types return it unchanged).
    public static func frame(_ packet: [UInt8], linkType: LinkType) -> [UInt8] {
        switch linkType {
        case .ethernet: return ethernet(packet)
        case .linuxSLL: return sll(packet)
        case .linuxSLL2: return sll2(packet)
        case .null: return null(packet)
        case .loop: return loop(packet)
        default: return packet
        }
    }

    /// The link types `frame(_:linkType:)` can build.
    public static let linkTypes: [LinkType] = [
        .ethernet, .linuxSLL, .linuxSLL2, .null, .loop, .raw, .rawBSD12, .rawBSD14, .ipv4, .ipv6,
    ]

    // MARK: - Checksums and encoding

    /// The Internet checksum (RFC 1071) of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// The bytes of an address in network order.
    public static func addressBytes(_ address: IPAddress) -> [UInt8] {
        switch address {
        case .v4(let value): return bigEndian(value)
        case .v6(let high, let low): return bigEndian(high) + bigEndian(low)
        }
    }

    static func pseudoHeader(_ source: IPAddress, _ destination: IPAddress, length: Int) -> [UInt8] {
        switch source {
        case .v4: return addressBytes(source) + addressBytes(destination) + [0, 6] + bigEndian(UInt16(truncatingIfNeeded: length))
        case .v6: return addressBytes(source) + addressBytes(destination) + bigEndian(UInt32(length)) + [0, 0, 0, 6]
        }
    }

    static func encode(_ options: [TCPOption]) -> [UInt8] {
        var bytes: [UInt8] = []
        for option in options {
            switch option {
            case .maximumSegmentSize(let mss): bytes += [2, 4] + bigEndian(mss)
            case .windowScale(let shift): bytes += [3, 3, shift]
            case .sackPermitted: bytes += [4, 2]
            case .sack(let blocks):
                bytes += [5, UInt8(2 + 8 * blocks.count)]
                for block in blocks { bytes += bigEndian(block.left) + bigEndian(block.right) }
            case .timestamp(let value, let echo): bytes += [8, 10] + bigEndian(value) + bigEndian(echo)
            case .noOperation: bytes += [1]
            case .endOfList: bytes += [0]
            case .raw(let kind, let data): bytes += [kind, UInt8(2 + data.count)] + data
            }
        }
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }

    static func encode(_ header: IPv6ExtensionHeader, next: UInt8) -> [UInt8] {
        switch header {
        case .hopByHop(let length), .destinationOptions(let length):
            let size = max(8, (length + 7) / 8 * 8)
            // PadN option covering the rest of the header.
            return [next, UInt8(size / 8 - 1), 1, UInt8(size - 4)] + [UInt8](repeating: 0, count: size - 4)
        case .routing(let length):
            let size = max(8, (length + 7) / 8 * 8)
            return [next, UInt8(size / 8 - 1), 0, 0] + [UInt8](repeating: 0, count: size - 4)
        case .authentication(let length):
            let size = max(12, (length + 3) / 4 * 4)
            return [next, UInt8(size / 4 - 2), 0, 0] + [0, 0, 0x10, 0x01] + [0, 0, 0, 1]
                + [UInt8](repeating: 0, count: size - 12)
        }
    }

    static func pieces(of payload: [UInt8], count: Int) -> [(Int, [UInt8], Bool)] {
        let size = max(8, (payload.count + max(1, count) - 1) / max(1, count) + 7) / 8 * 8
        var result: [(Int, [UInt8], Bool)] = []
        var offset = 0
        while offset < payload.count {
            let end = min(payload.count, offset + size)
            result.append((offset, Array(payload[offset..<end]), end < payload.count))
            offset = end
        }
        return result
    }

    static func ipEtherType(_ payload: [UInt8]) -> UInt16 {
        payload.first.map { $0 >> 4 == 6 } == true ? 0x86dd : 0x0800
    }

    static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }
}
