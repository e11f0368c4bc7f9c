/// The fixed IPv6 header fields smtpscope uses.
struct IPv6Header {
    var source: IPAddress
    var destination: IPAddress
    var nextHeader: UInt8
    var payloadStart: Int
    /// Frame offset where the captured payload ends (trimmed to the payload length).
    var payloadEnd: Int
    var wirePayloadLength: Int
}

/// Where an extension-header walk ended.
enum IPv6WalkOutcome {
    /// TCP starts at `start`; `wireLength` is its length on the wire.
    case tcp(start: Int, wireLength: Int)
    /// A fragment header at `headerOffset`; the fragmentable part starts at `dataStart`.
    case fragment(headerOffset: Int, nextHeader: UInt8, fragmentOffset: Int, more: Bool, identification: UInt32, dataStart: Int)
    case notTCP
    case failed(WireError)
}

enum IPv6Decoder {
    static let headerLength = 40

    static func parse(_ frame: UnsafeRawBufferPointer, offset: Int, wireLength: Int) -> Result<IPv6Header, WireError> {
        let available = frame.count - offset
        guard available >= headerLength else { return .failure(WireError(layer: .ipv6, offset: offset, reason: .truncated)) }
        guard frame.u8(offset) >> 4 == 6 else { return .failure(WireError(layer: .ipv6, offset: offset, reason: .malformed)) }
        let payloadLength = Int(frame.u16(offset + 4))
        let capturedPayload = available - headerLength
        // Payload length 0: a jumbogram or segmentation offload; the capture holds the size.
        let wirePayload = payloadLength == 0 ? max(capturedPayload, wireLength - offset - headerLength) : payloadLength
        return .success(IPv6Header(
            source: .v6(high: frame.u64(offset + 8), low: frame.u64(offset + 16)),
            destination: .v6(high: frame.u64(offset + 24), low: frame.u64(offset + 32)),
            nextHeader: frame.u8(offset + 6), payloadStart: offset + headerLength,
            payloadEnd: offset + headerLength + min(capturedPayload, wirePayload), wirePayloadLength: wirePayload))
    }

    /// Walks extension headers in `bytes[start..<end]` (captured), where the payload
    /// extends on the wire to `wireEnd`; at most `maxHeaders` of them.
    /// `errorBase` is added to offsets reported in errors.
    static func walk(
        _ bytes: UnsafeRawBufferPointer, start: Int, end: Int, wireEnd: Int, nextHeader: UInt8, maxHeaders: Int,
        errorBase: Int
    ) -> IPv6WalkOutcome {
        var next = nextHeader
        var cursor = start
        var walked = 0
        while true {
            switch next {
            case 6:
                return .tcp(start: cursor, wireLength: wireEnd - cursor)
            case 0, 43, 60, 51:
                // Hop-by-hop, routing, destination options: (len + 1) * 8; AH: (len + 2) * 4.
                guard walked < maxHeaders else { return fail(errorBase + cursor, .unsupported) }
                guard end - cursor >= 2 else { return fail(errorBase + cursor, .truncated) }
                let lengthField = Int(bytes.u8(cursor + 1))
                let length = next == 51 ? (lengthField + 2) * 4 : (lengthField + 1) * 8
                guard wireEnd - cursor >= length else { return fail(errorBase + cursor, .malformed) }
                guard end - cursor >= length else { return fail(errorBase + cursor, .truncated) }
                next = bytes.u8(cursor)
                cursor += length
                walked += 1
            case 44:
                guard walked < maxHeaders else { return fail(errorBase + cursor, .unsupported) }
                guard wireEnd - cursor >= 8 else { return fail(errorBase + cursor, .malformed) }
                guard end - cursor >= 8 else { return fail(errorBase + cursor, .truncated) }
                let offsetField = bytes.u16(cursor + 2)
                return .fragment(
                    headerOffset: cursor, nextHeader: bytes.u8(cursor), fragmentOffset: Int(offsetField >> 3) * 8,
                    more: offsetField & 1 != 0, identification: bytes.u32(cursor + 4), dataStart: cursor + 8)
            default:
                // ESP (50), no next header (59), UDP, ICMPv6, …
                return .notTCP
            }
        }
    }

    private static func fail(_ offset: Int, _ reason: WireError.Reason) -> IPv6WalkOutcome {
        .failed(WireError(layer: .ipv6Extension, offset: offset, reason: reason))
    }
}
