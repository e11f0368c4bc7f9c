/// Where the straight IPv4 pass found a frame's TCP header and payload: offsets into the
/// frame (Ethernet II, 14 bytes, then IPv4 without options, 20 bytes, then TCP at 34).
public struct StraightIPv4Frame: Sendable {
    /// Length of the TCP header (20 to 60).
    public var headerLength: Int
    /// End of the captured datagram in the frame (without Ethernet padding).
    public var end: Int
    /// TCP bytes (header and payload) on the wire, from the IPv4 total length.
    public var wireTCPLength: Int

    /// Offset of the TCP header in the frame.
    @inlinable public static var tcp: Int { 34 }

    init(headerLength: Int, end: Int, wireTCPLength: Int) {
        self.headerLength = headerLength
        self.end = end
        self.wireTCPLength = wireTCPLength
    }

    /// The captured payload in `frame` (borrowed like `frame`).
    @inlinable
    public func payload(_ frame: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        frame.bytes(Self.tcp &+ headerLength..<end)
    }

    /// Payload bytes the segment carried on the wire.
    @inlinable public var wirePayloadLength: Int { wireTCPLength &- headerLength }
}

extension PacketDecoder {
    /// Decodes what nearly every frame of an SMTP capture is, untagged Ethernet II, IPv4
    /// without options and not a fragment, then TCP, in one pass over fixed offsets, and
    /// hands the segment on: returns true. Returns false, having changed nothing, for any
    /// other frame (then the layered path decodes it, and reports why it is not TCP).
    /// It checks what the layered path checks, in one go (`StraightPassTests` compares them).
    @inline(__always)
    mutating func decodeEthernetIPv4TCP(
        _ frame: UnsafeRawBufferPointer, wireLength: Int, now: Int64,
        onSegment: (TCPSegment, UnsafeRawBufferPointer) -> Void
    ) -> Bool {
        guard let layout = Self.straightIPv4Layout(frame) else { return false }
        countStraightIPv4(frame, layout, wireLength: wireLength, now: now)
        onSegment(Self.segment(ofStraight: frame, layout), layout.payload(frame))
        return true
    }

    /// The frame as the straight IPv4 pass takes it, counted as decoded (one TCP segment), or
    /// nil, having changed nothing, for any other frame (the straight pass turned off, another
    /// link type: ``decode(frame:wireLength:linkType:timestampNanoseconds:onSegment:)`` takes
    /// those). The segment is ``segment(ofStraight:_:)``, read only when needed: a caller that
    /// reads the fields it needs in place skips building it. A call: inlined into the analyzer's
    /// frame loop it cost ~1.4 M instructions more on the 100 MB bench capture.
    public mutating func takeStraightIPv4(
        _ frame: UnsafeRawBufferPointer, wireLength: Int, linkType: LinkType, timestampNanoseconds: Int64
    ) -> StraightIPv4Frame? {
        guard straightPass, linkType == .ethernet, let layout = Self.straightIPv4Layout(frame) else { return nil }
        countStraightIPv4(frame, layout, wireLength: wireLength, now: timestampNanoseconds)
        return layout
    }

    /// The straight IPv4 pass's checks: what the layered path checks, in one go.
    @inline(__always)
    static func straightIPv4Layout(_ frame: UnsafeRawBufferPointer) -> StraightIPv4Frame? {
        // Ethernet (14) + IPv4 without options (20) + TCP (20).
        let ip = LinkDecoder.ethernetHeaderLength
        let tcp = StraightIPv4Frame.tcp
        let count = frame.count
        guard count >= tcp + TCPDecoder.minimumHeaderLength else { return nil }
        // EtherType IPv4, then version 4 with a 20-byte header (any type of service), in one word.
        guard frame.u32(12) & 0xFFFF_FF00 == 0x0800_4500 else { return nil }
        let totalLength = Int(frame.u16(ip + 2))
        // Total length 0 (segmentation offload) and impossible lengths go the long way.
        guard totalLength >= IPv4Decoder.minimumHeaderLength + TCPDecoder.minimumHeaderLength,
            frame.u8(ip + 9) == 6,
            // More fragments or a fragment offset: the fragment store.
            frame.u16(ip + 6) & 0x3FFF == 0
        else { return nil }
        let wireTCPLength = totalLength - IPv4Decoder.minimumHeaderLength
        // The captured datagram, without Ethernet padding.
        let end = min(count, ip + totalLength)
        let headerLength = Int(frame.u8(tcp + 12) >> 4) * 4
        guard headerLength >= TCPDecoder.minimumHeaderLength, headerLength <= wireTCPLength, end - tcp >= headerLength
        else { return nil }
        return StraightIPv4Frame(headerLength: headerLength, end: end, wireTCPLength: wireTCPLength)
    }

    /// Counts a frame the straight IPv4 pass took: a frame, a TCP segment, what was cut.
    @inline(__always)
    mutating func countStraightIPv4(_ frame: UnsafeRawBufferPointer, _ layout: StraightIPv4Frame, wireLength: Int, now: Int64) {
        statistics.frames &+= 1
        if frame.count < wireLength { statistics.truncatedFrames &+= 1 }
        fragments.expire(now: now, statistics: &statistics)
        statistics.tcpSegments &+= 1
        if layout.end &- StraightIPv4Frame.tcp < layout.wireTCPLength { statistics.truncatedPayloadSegments &+= 1 }
    }

    /// The segment of a frame the straight IPv4 pass took (`layout` from ``takeStraightIPv4(_:wireLength:linkType:timestampNanoseconds:)``).
    /// Inlined (also into the reassembler, which builds it only for the frames its fast path
    /// does not take): a call here cost the layered path ~25 instructions a frame.
    @inlinable @inline(__always)
    public static func segment(ofStraight frame: UnsafeRawBufferPointer, _ layout: StraightIPv4Frame) -> TCPSegment {
        let tcp = StraightIPv4Frame.tcp
        let bytes = frame.bytes(tcp..<layout.end)
        return TCPSegment(
            source: Endpoint(address: .v4(frame.u32(26)), port: bytes.u16(0)),
            destination: Endpoint(address: .v4(frame.u32(30)), port: bytes.u16(2)),
            sequenceNumber: bytes.u32(4), acknowledgmentNumber: bytes.u32(8),
            flags: TCPFlags(rawValue: bytes.u16(12) & 0x01ff), window: bytes.u16(14),
            options: TCPDecoder.options(bytes, headerLength: layout.headerLength),
            payloadLength: layout.end &- tcp &- layout.headerLength, wirePayloadLength: layout.wirePayloadLength)
    }

    /// The same for untagged Ethernet II, IPv6 without extension headers and TCP (not a jumbogram
    /// or offloaded segment, whose payload length is 0): true when it took the frame; false,
    /// having changed nothing, for any other (the layered path decodes it).
    @inline(__always)
    mutating func decodeEthernetIPv6TCP(
        _ frame: UnsafeRawBufferPointer, wireLength: Int, now: Int64,
        onSegment: (TCPSegment, UnsafeRawBufferPointer) -> Void
    ) -> Bool {
        // Ethernet (14) + IPv6 (40) + TCP (20).
        let ip = LinkDecoder.ethernetHeaderLength
        let tcp = ip + IPv6Decoder.headerLength
        let count = frame.count
        guard count >= tcp + TCPDecoder.minimumHeaderLength,
            // EtherType IPv6, version 6, next header TCP.
            frame.u16(12) == 0x86DD, frame.u8(ip) >> 4 == 6, frame.u8(ip + 6) == 6
        else { return false }
        let wireTCPLength = Int(frame.u16(ip + 4))
        let end = min(count, tcp + wireTCPLength)
        let headerLength = Int(frame.u8(tcp + 12) >> 4) * 4
        guard wireTCPLength >= TCPDecoder.minimumHeaderLength, headerLength >= TCPDecoder.minimumHeaderLength,
            headerLength <= wireTCPLength, end - tcp >= headerLength
        else { return false }

        statistics.frames &+= 1
        if count < wireLength { statistics.truncatedFrames &+= 1 }
        fragments.expire(now: now, statistics: &statistics)
        let bytes = frame.bytes(tcp..<end)
        let options = TCPDecoder.options(bytes, headerLength: headerLength)
        let segment = TCPSegment(
            source: Endpoint(address: .v6(high: frame.u64(ip + 8), low: frame.u64(ip + 16)), port: bytes.u16(0)),
            destination: Endpoint(address: .v6(high: frame.u64(ip + 24), low: frame.u64(ip + 32)), port: bytes.u16(2)),
            sequenceNumber: bytes.u32(4), acknowledgmentNumber: bytes.u32(8),
            flags: TCPFlags(rawValue: bytes.u16(12) & 0x01ff), window: bytes.u16(14), options: options,
            payloadLength: end &- tcp &- headerLength, wirePayloadLength: wireTCPLength &- headerLength)
        onSegment(segment, bytes.bytes(headerLength..<bytes.count))
        statistics.tcpSegments &+= 1
        if end - tcp < wireTCPLength { statistics.truncatedPayloadSegments &+= 1 }
        return true
    }
}
