/// TCP header and options (RFC 9293 §3.1, RFC 7323, RFC 2018).
@usableFromInline enum TCPDecoder {
    static let minimumHeaderLength = 20

    /// Decodes the TCP header at the start of `bytes` (captured bytes, IP padding
    /// already trimmed) whose wire length is `wireLength`, and hands the segment and
    /// its captured payload to `onSegment`.
    static func decode(
        _ bytes: UnsafeRawBufferPointer, wireLength: Int, source: IPAddress, destination: IPAddress, errorBase: Int,
        onSegment: (TCPSegment, UnsafeRawBufferPointer) -> Void
    ) -> DecodeResult {
        guard bytes.count >= minimumHeaderLength else {
            return .failed(WireError(layer: .tcp, offset: errorBase, reason: wireLength < minimumHeaderLength ? .malformed : .truncated))
        }
        let offsetAndFlags = bytes.u16(12)
        let headerLength = Int(offsetAndFlags >> 12) * 4
        guard headerLength >= minimumHeaderLength, headerLength <= wireLength else {
            return .failed(WireError(layer: .tcp, offset: errorBase + 12, reason: .malformed))
        }
        guard bytes.count >= headerLength else { return .failed(WireError(layer: .tcp, offset: errorBase, reason: .truncated)) }
        let segment = TCPSegment(
            source: Endpoint(address: source, port: bytes.u16(0)),
            destination: Endpoint(address: destination, port: bytes.u16(2)),
            sequenceNumber: bytes.u32(4), acknowledgmentNumber: bytes.u32(8),
            flags: TCPFlags(rawValue: offsetAndFlags & 0x01ff), window: bytes.u16(14),
            options: options(bytes, headerLength: headerLength),
            payloadLength: bytes.count - headerLength, wirePayloadLength: wireLength - headerLength)
        onSegment(segment, bytes.bytes(headerLength..<bytes.count))
        return .tcp
    }

    /// The options of the TCP header at the start of `bytes` (`headerLength` bytes, checked).
    /// Inlined into the decoder: what nearly every segment after the handshake carries (Linux,
    /// BSD), NOP, NOP, Timestamps, and no options at all are written straight into the segment;
    /// the general loop (a call, and its result packed and unpacked) reads only the others.
    /// Inlinable with ``PacketDecoder/segment(ofStraight:_:)``: 20 is ``minimumHeaderLength``, a
    /// literal (inlined into another module, a constant costs an addressor call).
    @inlinable @inline(__always)
    static func options(_ bytes: UnsafeRawBufferPointer, headerLength: Int) -> TCPOptions {
        if headerLength == 32 && bytes.u32(20) == 0x0101_080A {
            return TCPOptions(timestamps: bytes.u32(20 + 4), echo: bytes.u32(20 + 8))
        }
        if headerLength == 20 { return TCPOptions() }
        return parseOptions(bytes.bytes(20..<headerLength))
    }

    /// Reads the options smtpscope keeps; stops quietly at end-of-list or at an
    /// option whose length is impossible (the segment itself stays usable).
    @usableFromInline
    static func parseOptions(_ bytes: UnsafeRawBufferPointer) -> TCPOptions {
        var options = TCPOptions()
        // Fast path for what nearly every segment after the handshake carries (Linux, BSD):
        // NOP, NOP, Timestamps. The loop below reads it the same way, in three rounds.
        if bytes.count == 12 && bytes.u32(0) == 0x0101_080A {
            options.timestampValue = bytes.u32(4)
            options.timestampEcho = bytes.u32(8)
            return options
        }
        return parseOptionList(bytes)
    }

    /// The general loop over an option list (no fast path).
    static func parseOptionList(_ bytes: UnsafeRawBufferPointer) -> TCPOptions {
        var options = TCPOptions()
        var cursor = 0
        while cursor < bytes.count {
            let kind = bytes.u8(cursor)
            if kind == 0 { break }
            if kind == 1 {
                cursor += 1
                continue
            }
            guard bytes.count - cursor >= 2 else { break }
            let length = Int(bytes.u8(cursor + 1))
            guard length >= 2, bytes.count - cursor >= length else { break }
            switch (kind, length) {
            case (2, 4): options.maximumSegmentSize = bytes.u16(cursor + 2)
            case (3, 3): options.windowScale = bytes.u8(cursor + 2)
            case (4, 2): options.sackPermitted = true
            case (5, _): options.sackBlockCount = UInt8(truncatingIfNeeded: (length - 2) / 8)
            case (8, 10):
                options.timestampValue = bytes.u32(cursor + 2)
                options.timestampEcho = bytes.u32(cursor + 6)
            default: break
            }
            cursor += length
        }
        return options
    }
}
