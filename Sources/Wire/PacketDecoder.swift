/// Decodes one captured frame down to TCP without copying: link layer →
/// IPv4/IPv6 (with extension headers and fragment reassembly) → TCP.
///
/// A decoder is reused for every frame of a capture; it owns only the bounded
/// fragment-reassembly storage.
public struct PacketDecoder {
    public init() {}

    /// Decodes `frame` and, when it carries a TCP segment (or completes a
    /// fragmented datagram that holds one), calls `onSegment` once with the
    /// headers and the payload.
    ///
    /// - Parameters:
    ///   - frame: the captured bytes; borrowed for the duration of the call.
    ///   - wireLength: the frame's original length on the wire.
    ///   - linkType: the frame's link-layer type.
    ///   - timestampNanoseconds: capture time, used only to expire fragments.
    ///   - onSegment: receives the segment and its payload; the payload buffer
    ///     is valid only inside the closure.
    /// - Returns: what the frame turned out to be, or why decoding stopped.
    public mutating func decode(
        frame: UnsafeRawBufferPointer, wireLength: Int, linkType: LinkType, timestampNanoseconds: Int64,
        onSegment: (TCPSegment, UnsafeRawBufferPointer) -> Void
    ) -> DecodeResult {
        // Placeholder until the decoders land; see WireTests.
        return .notTCP
    }
}

/// What ``PacketDecoder/decode(frame:wireLength:linkType:timestampNanoseconds:onSegment:)`` found.
public enum DecodeResult: Sendable, Equatable {
    /// A TCP segment was handed to the caller.
    case tcp
    /// An IP fragment was stored; the datagram is not complete yet.
    case fragmentHeld
    /// A well-formed frame that carries no TCP (ARP, UDP, ICMP, …).
    case notTCP
    /// Decoding stopped; the error names the layer, offset and reason.
    case failed(WireError)
}

/// Why decoding of a frame stopped.
public struct WireError: Error, Sendable, Equatable {
    public var layer: Layer
    /// Byte offset into the frame where the problem was found.
    public var offset: Int
    public var reason: Reason

    public init(layer: Layer, offset: Int, reason: Reason) {
        self.layer = layer
        self.offset = offset
        self.reason = reason
    }

    public enum Layer: String, Sendable, CaseIterable { case link, vlan, ipv4, ipv6, ipv6Extension, fragment, tcp }

    public enum Reason: String, Sendable, CaseIterable {
        /// The frame ended (snaplen or corruption) before the header did.
        case truncated
        /// A header field holds a value no valid packet has.
        case malformed
        /// A link type or protocol smtpscope does not decode.
        case unsupported
        /// Fragment storage is full; the fragment was dropped.
        case fragmentLimit
    }
}
