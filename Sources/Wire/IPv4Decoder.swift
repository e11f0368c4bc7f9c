/// The IPv4 header fields smtpscope uses.
struct IPv4Header {
    var source: UInt32
    var destination: UInt32
    var protocolNumber: UInt8
    var identification: UInt16
    /// Fragment offset in bytes.
    var fragmentOffset: Int
    var moreFragments: Bool
    /// Frame offset of the payload (after options).
    var payloadStart: Int
    /// Frame offset where the captured payload ends (trimmed to the total length: no padding).
    var payloadEnd: Int
    /// Payload length on the wire, from the total length (or the frame for TSO, total length 0).
    var wirePayloadLength: Int

    var isFragment: Bool { moreFragments || fragmentOffset != 0 }
    /// True when the snapshot length cut the datagram.
    var isCut: Bool { payloadEnd - payloadStart < wirePayloadLength }
}

enum IPv4Decoder {
    static let minimumHeaderLength = 20

    /// Parses the header at `offset`; the header checksum is deliberately not checked
    /// (checksum offload leaves captures with wrong ones). Inlined into its one caller, so
    /// the `Result` is never built in memory.
    @inline(__always)
    static func parse(_ frame: UnsafeRawBufferPointer, offset: Int, wireLength: Int) -> Result<IPv4Header, WireError> {
        let available = frame.count - offset
        guard available >= minimumHeaderLength else { return .failure(WireError(layer: .ipv4, offset: offset, reason: .truncated)) }
        let versionAndLength = frame.u8(offset)
        guard versionAndLength >> 4 == 4 else { return .failure(WireError(layer: .ipv4, offset: offset, reason: .malformed)) }
        let headerLength = Int(versionAndLength & 0x0f) * 4
        guard headerLength >= minimumHeaderLength else {
            return .failure(WireError(layer: .ipv4, offset: offset, reason: .malformed))
        }
        guard available >= headerLength else { return .failure(WireError(layer: .ipv4, offset: offset, reason: .truncated)) }
        let totalLength = Int(frame.u16(offset + 2))
        let wireDatagramLength: Int
        if totalLength == 0 {
            // TCP segmentation offload: the capture holds the real size.
            wireDatagramLength = max(available, wireLength - offset)
        } else {
            guard totalLength >= headerLength else {
                return .failure(WireError(layer: .ipv4, offset: offset + 2, reason: .malformed))
            }
            wireDatagramLength = totalLength
        }
        let flagsAndOffset = frame.u16(offset + 6)
        return .success(IPv4Header(
            source: frame.u32(offset + 12), destination: frame.u32(offset + 16), protocolNumber: frame.u8(offset + 9),
            identification: frame.u16(offset + 4), fragmentOffset: Int(flagsAndOffset & 0x1fff) * 8,
            moreFragments: flagsAndOffset & 0x2000 != 0, payloadStart: offset + headerLength,
            payloadEnd: offset + min(available, wireDatagramLength), wirePayloadLength: wireDatagramLength - headerLength))
    }
}
