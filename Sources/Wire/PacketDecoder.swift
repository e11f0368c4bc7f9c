/// Decodes one captured frame down to TCP without copying: link layer →
/// IPv4/IPv6 (with extension headers and fragment reassembly) → TCP.
///
/// A decoder is reused for every frame of a capture; it owns only the bounded
/// fragment-reassembly storage. Frames that are not fragments never allocate.
public struct PacketDecoder {
    /// The limits this decoder was made with.
    public let options: DecoderOptions
    /// Untagged Ethernet, IPv4 without options or IPv6 without extension headers, and TCP take
    /// ``decodeEthernetIPv4TCP(_:wireLength:now:onSegment:)`` or ``decodeEthernetIPv6TCP(_:wireLength:now:onSegment:)``;
    /// tests turn it off to compare with the layered path.
    var straightPass = true
    /// Running counts of results, failures and fragment handling.
    public internal(set) var statistics = DecodeStatistics()
    var fragments: FragmentReassembler

    public init() {
        self.init(options: DecoderOptions())
    }

    public init(options: DecoderOptions) {
        self.options = options
        self.fragments = FragmentReassembler(options: options)
    }

    /// Forgets all fragments in progress and all counts (style rule 9: reset whole).
    public mutating func reset() {
        self = PacketDecoder(options: options)
    }

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
        if straightPass && linkType == .ethernet {
            if decodeEthernetIPv4TCP(frame, wireLength: wireLength, now: timestampNanoseconds, onSegment: onSegment) {
                return .tcp
            }
            if decodeStraightIPv6(frame, wireLength: wireLength, now: timestampNanoseconds, onSegment: onSegment) {
                return .tcp
            }
        }
        return decodeLayers(frame: frame, wireLength: wireLength, linkType: linkType, timestampNanoseconds: timestampNanoseconds, onSegment: onSegment)
    }

    /// The IPv6 straight pass, out of line: IPv4 frames keep the short path.
    @inline(never)
    mutating func decodeStraightIPv6(
        _ frame: UnsafeRawBufferPointer, wireLength: Int, now: Int64,
        onSegment: (TCPSegment, UnsafeRawBufferPointer) -> Void
    ) -> Bool {
        decodeEthernetIPv6TCP(frame, wireLength: wireLength, now: now, onSegment: onSegment)
    }

    /// Every frame the straight pass does not take, layer by layer.
    @inline(never)
    mutating func decodeLayers(
        frame: UnsafeRawBufferPointer, wireLength: Int, linkType: LinkType, timestampNanoseconds: Int64,
        onSegment: (TCPSegment, UnsafeRawBufferPointer) -> Void
    ) -> DecodeResult {
        statistics.frames &+= 1
        if frame.count < wireLength { statistics.truncatedFrames += 1 }
        fragments.expire(now: timestampNanoseconds, statistics: &statistics)
        let wireLength = max(wireLength, frame.count)
        let result: DecodeResult
        switch LinkDecoder.decode(frame, linkType: linkType, maxVLANTags: options.maxVLANTags) {
        case .done(let done):
            result = done
        case .network(.ipv4, let offset):
            result = decodeIPv4(frame, offset: offset, wireLength: wireLength, now: timestampNanoseconds, onSegment: onSegment)
        case .network(.ipv6, let offset):
            result = decodeIPv6(frame, offset: offset, wireLength: wireLength, now: timestampNanoseconds, onSegment: onSegment)
        }
        // Per frame: the common result is counted inline, the others through the full switch.
        if case .tcp = result { statistics.tcpSegments += 1 } else { statistics.record(result) }
        return result
    }

    /// Convenience for byte arrays (tests, tools): same as the pointer form.
    public mutating func decode(
        frame: [UInt8], wireLength: Int? = nil, linkType: LinkType, timestampNanoseconds: Int64 = 0,
        onSegment: (TCPSegment, UnsafeRawBufferPointer) -> Void = { _, _ in }
    ) -> DecodeResult {
        frame.withUnsafeBytes { bytes in
            decode(
                frame: bytes, wireLength: wireLength ?? bytes.count, linkType: linkType,
                timestampNanoseconds: timestampNanoseconds, onSegment: onSegment)
        }
    }

    // MARK: - IPv4

    private mutating func decodeIPv4(
        _ frame: UnsafeRawBufferPointer, offset: Int, wireLength: Int, now: Int64,
        onSegment: (TCPSegment, UnsafeRawBufferPointer) -> Void
    ) -> DecodeResult {
        let header: IPv4Header
        switch IPv4Decoder.parse(frame, offset: offset, wireLength: wireLength) {
        case .failure(let error): return .failed(error)
        case .success(let parsed): header = parsed
        }
        guard header.protocolNumber == 6 else { return .notTCP }
        let source = IPAddress.v4(header.source)
        let destination = IPAddress.v4(header.destination)
        guard header.isFragment else {
            let result = TCPDecoder.decode(
                frame.bytes(header.payloadStart..<header.payloadEnd), wireLength: header.wirePayloadLength,
                source: source, destination: destination, errorBase: header.payloadStart, onSegment: onSegment)
            // A delivered segment whose datagram was cut has a cut payload.
            if result == .tcp, header.isCut { statistics.truncatedPayloadSegments += 1 }
            return result
        }
        guard !header.isCut else {
            statistics.fragmentsReceived += 1
            statistics.fragmentsDropped += 1
            return .failed(WireError(layer: .fragment, offset: header.payloadEnd, reason: .truncated))
        }
        let key = FragmentKey(source: source, destination: destination, identification: UInt32(header.identification))
        let outcome = fragments.add(
            key: key, offset: header.fragmentOffset, data: frame.bytes(header.payloadStart..<header.payloadEnd),
            more: header.moreFragments, nextHeader: 6, now: now, statistics: &statistics)
        switch outcome {
        case .held:
            return .fragmentHeld
        case .dropped(let reason):
            return .failed(WireError(layer: .fragment, offset: offset + 6, reason: reason))
        case .complete(let slot):
            let result = fragments.withDatagram(slot: slot) { payload, _ in
                TCPDecoder.decode(
                    payload, wireLength: payload.count, source: source, destination: destination, errorBase: 0,
                    onSegment: onSegment)
            }
            fragments.release(slot: slot, statistics: &statistics)
            return result
        }
    }

    // MARK: - IPv6

    private mutating func decodeIPv6(
        _ frame: UnsafeRawBufferPointer, offset: Int, wireLength: Int, now: Int64,
        onSegment: (TCPSegment, UnsafeRawBufferPointer) -> Void
    ) -> DecodeResult {
        let header: IPv6Header
        switch IPv6Decoder.parse(frame, offset: offset, wireLength: wireLength) {
        case .failure(let error): return .failed(error)
        case .success(let parsed): header = parsed
        }
        let wireEnd = header.payloadStart + header.wirePayloadLength
        var next = header.nextHeader
        var start = header.payloadStart
        // At most two passes: an atomic fragment (offset 0, no more) is skipped over.
        for _ in 0..<2 {
            let outcome = IPv6Decoder.walk(
                frame, start: start, end: header.payloadEnd, wireEnd: wireEnd, nextHeader: next,
                maxHeaders: options.maxIPv6ExtensionHeaders, errorBase: 0)
            switch outcome {
            case .notTCP:
                return .notTCP
            case .failed(let error):
                return .failed(error)
            case .tcp(let tcpStart, let tcpWireLength):
                let result = TCPDecoder.decode(
                    frame.bytes(tcpStart..<header.payloadEnd), wireLength: tcpWireLength, source: header.source,
                    destination: header.destination, errorBase: tcpStart, onSegment: onSegment)
                if result == .tcp, header.payloadEnd - header.payloadStart < header.wirePayloadLength {
                    statistics.truncatedPayloadSegments += 1
                }
                return result
            case .fragment(let headerOffset, let nextHeader, let fragmentOffset, let more, let identification, let dataStart):
                if fragmentOffset == 0 && !more {
                    next = nextHeader
                    start = dataStart
                    continue
                }
                return addIPv6Fragment(
                    frame, header: header, headerOffset: headerOffset, nextHeader: nextHeader,
                    fragmentOffset: fragmentOffset, more: more, identification: identification, dataStart: dataStart,
                    now: now, onSegment: onSegment)
            }
        }
        // A second fragment header after an atomic fragment.
        return .failed(WireError(layer: .ipv6Extension, offset: start, reason: .malformed))
    }

    private mutating func addIPv6Fragment(
        _ frame: UnsafeRawBufferPointer, header: IPv6Header, headerOffset: Int, nextHeader: UInt8, fragmentOffset: Int,
        more: Bool, identification: UInt32, dataStart: Int, now: Int64,
        onSegment: (TCPSegment, UnsafeRawBufferPointer) -> Void
    ) -> DecodeResult {
        guard header.payloadEnd - header.payloadStart >= header.wirePayloadLength else {
            statistics.fragmentsReceived += 1
            statistics.fragmentsDropped += 1
            return .failed(WireError(layer: .fragment, offset: header.payloadEnd, reason: .truncated))
        }
        let key = FragmentKey(source: header.source, destination: header.destination, identification: identification)
        let outcome = fragments.add(
            key: key, offset: fragmentOffset, data: frame.bytes(dataStart..<header.payloadEnd), more: more,
            nextHeader: nextHeader, now: now, statistics: &statistics)
        switch outcome {
        case .held:
            return .fragmentHeld
        case .dropped(let reason):
            return .failed(WireError(layer: .fragment, offset: headerOffset, reason: reason))
        case .complete(let slot):
            let maxHeaders = options.maxIPv6ExtensionHeaders
            let result = fragments.withDatagram(slot: slot) { payload, firstHeader -> DecodeResult in
                switch IPv6Decoder.walk(
                    payload, start: 0, end: payload.count, wireEnd: payload.count, nextHeader: firstHeader,
                    maxHeaders: maxHeaders, errorBase: 0)
                {
                case .notTCP:
                    return .notTCP
                case .failed(let error):
                    return .failed(error)
                case .fragment(let nestedOffset, _, _, _, _, _):
                    return .failed(WireError(layer: .ipv6Extension, offset: nestedOffset, reason: .malformed))
                case .tcp(let tcpStart, let tcpWireLength):
                    return TCPDecoder.decode(
                        payload.bytes(tcpStart..<payload.count), wireLength: tcpWireLength, source: header.source,
                        destination: header.destination, errorBase: tcpStart, onSegment: onSegment)
                }
            }
            fragments.release(slot: slot, statistics: &statistics)
            return result
        }
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
