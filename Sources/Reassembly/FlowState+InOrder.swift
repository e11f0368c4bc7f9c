import Wire

/// The fast path for what nearly every segment of a healthy connection is: an ACK with or
/// without the next bytes of its direction, while neither direction holds out-of-order
/// pieces, a probe or a FIN. It does exactly what ``FlowState/handle(_:payload:frame:timestampNanoseconds:options:statistics:emit:)``
/// does for such a segment, without building the context, trimming and retransmission
/// bookkeeping the general path needs (about 400 instructions a segment).
/// `InOrderFastPathTests` feeds the same segments through both paths and compares.
extension HalfStream {
    /// Open, nothing buffered, no probe held, no FIN seen: the only state the fast path handles.
    var isQuiet: Bool {
        @inline(__always) get { phase == .open && pending.isEmpty && probe == nil && finOffset == nil }
    }
}

/// The fields of a segment the in-order fast path reads: from a ``TCPSegment``, or read in
/// place from a frame the straight IPv4 pass took (then no segment is built).
struct InOrderFields {
    var sequenceNumber: UInt32
    var acknowledgmentNumber: UInt32
    var flags: TCPFlags
    var window: UInt16
    var wirePayloadLength: Int

    @inline(__always)
    init(_ segment: TCPSegment) {
        sequenceNumber = segment.sequenceNumber
        acknowledgmentNumber = segment.acknowledgmentNumber
        flags = segment.flags
        window = segment.window
        wirePayloadLength = segment.wirePayloadLength
    }

    @inline(__always)
    init(
        sequenceNumber: UInt32, acknowledgmentNumber: UInt32, flags: TCPFlags, window: UInt16, wirePayloadLength: Int
    ) {
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.window = window
        self.wirePayloadLength = wirePayloadLength
    }
}

extension FlowState {
    /// Handles `segment` when it is a plain in-order segment (see above) and returns true;
    /// returns false, having changed nothing, for any other segment. The flow never ends here.
    /// `tailOwned`: no copy of this flow shares its tail boxes (see ``HalfStream/deliver(_:segment:inPlace:tailOwned:statistics:emit:)``).
    @inline(__always)
    mutating func handleInOrder(
        _ segment: TCPSegment, payload: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64,
        tailOwned: Bool, statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void
    ) -> Bool {
        handleInOrder(
            InOrderFields(segment), fromClient: segment.source == info.client, payload: payload, frame: frame,
            timestampNanoseconds: timestampNanoseconds, tailOwned: tailOwned, statistics: &statistics, emit: emit)
    }

    /// Whether IPv4 `address`:`port` is this flow's client (a straight frame's source, read in place).
    @inline(__always)
    func isClient(v4 address: UInt32, port: UInt16) -> Bool {
        guard case .v4(let client) = info.client.address else { return false }
        return client == address && info.client.port == port
    }

    /// The same from the fields alone; `fromClient`: the segment's source is the flow's client.
    @inline(__always)
    mutating func handleInOrder(
        _ segment: InOrderFields, fromClient: Bool, payload: UnsafeRawBufferPointer, frame: UInt64,
        timestampNanoseconds: Int64, tailOwned: Bool, statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void
    ) -> Bool {
        // SYN, FIN and RST (0x07) take the general path.
        guard segment.flags.rawValue & 0x007 == 0, client.isQuiet, server.isQuiet else { return false }
        // One expansion of the path for either direction, on the two halves by pointer (a branch
        // per direction doubled the function, past what its callers inline).
        let handled = withUnsafeMutablePointer(to: &self) { flow in
            guard let clientHalf = flow.pointer(to: \.client), let serverHalf = flow.pointer(to: \.server) else {
                return false
            }
            let (this, peer) = fromClient ? (clientHalf, serverHalf) : (serverHalf, clientHalf)
            return Self.inOrder(
                segment, payload: payload, frame: frame, timestampNanoseconds: timestampNanoseconds,
                this: &this.pointee, peer: &peer.pointee, tailOwned: tailOwned, statistics: &statistics, emit: emit)
        }
        guard handled else { return false }
        lastFrame = frame
        lastTimestamp = timestampNanoseconds
        packets &+= 1
        return true
    }

    @inline(__always)
    private static func inOrder(
        _ segment: InOrderFields, payload: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64,
        this: inout HalfStream, peer: inout HalfStream, tailOwned: Bool, statistics: inout ReassemblyStatistics,
        emit: (StreamEvent) -> Void
    ) -> Bool {
        let count = payload.count
        let start = this.offset(of: segment.sequenceNumber)
        let next = Int64(bitPattern: this.next)
        if count > 0 {
            // Exactly the next bytes, all captured; a lone byte into a closed window may be a probe.
            guard start == next, start >= 0, segment.wirePayloadLength <= count,
                count > 1 || !(peer.windowSeen && peer.window == 0)
            else { return false }
        } else {
            guard segment.wirePayloadLength <= 0 else { return false }
            if start == next &- 1 { statistics.keepAlives &+= 1 }
        }
        this.window = segment.window
        this.windowSeen = true
        if count > 0 {
            let info = SegmentInfo(
                frame: frame, sequenceNumber: segment.sequenceNumber, timestampNanoseconds: timestampNanoseconds,
                flags: segment.flags, streamOffset: UInt64(start), length: count)
            this.deliver(payload, segment: info, inPlace: true, tailOwned: tailOwned, statistics: &statistics, emit: emit)
        }
        if segment.flags.hasACK {
            peer.acknowledge(segment.acknowledgmentNumber, statistics: &statistics, emit: emit)
        }
        return true
    }
}
