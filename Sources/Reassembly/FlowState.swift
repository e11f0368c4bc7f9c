import Wire

/// Everything kept about one open connection: roles, both directions, and the
/// facts its summary needs. Once closed, only its tuple stays (``ClosedFlows``).
/// Nothing is stored twice: the table key is worked out from the endpoints when needed.
struct FlowState {
    var info: FlowInfo
    var client: HalfStream
    var server: HalfStream
    var lastFrame: UInt64
    var lastTimestamp: Int64
    var packets: UInt64 = 0
    var closedBy: FlowDirection?
    var resetBy: FlowDirection?

    /// `key` must be `FlowKey(info.client, info.server)`, which ``key`` recomputes.
    init(key: FlowKey, info: FlowInfo) {
        self.info = info
        client = HalfStream(flow: info.id, direction: .clientToServer)
        server = HalfStream(flow: info.id, direction: .serverToClient)
        lastFrame = info.firstFrame
        lastTimestamp = info.firstTimestampNanoseconds
    }

    /// What a free slot of the reassembler holds (no flow; never handed a segment).
    static var vacant: FlowState {
        let nowhere = Endpoint(address: .v4(0), port: 0)
        let info = FlowInfo(id: FlowID(-1), client: nowhere, server: nowhere, firstFrame: 0, firstTimestampNanoseconds: 0, midstream: false)
        return FlowState(key: FlowKey(nowhere, nowhere), info: info)
    }

    var id: FlowID { info.id }
    /// The flow table's key for this connection (not stored: it repeats the endpoints).
    var key: FlowKey { FlowKey(info.client, info.server) }
    var pendingBytes: Int {
        @inline(__always) get { client.pending.storedBytes + server.pending.storedBytes }
    }
    var bothEnded: Bool {
        @inline(__always) get { client.phase == .ended && server.phase == .ended }
    }
    var summary: FlowSummary {
        FlowSummary(lastFrame: lastFrame, lastTimestampNanoseconds: lastTimestamp, packets: packets, closedBy: closedBy, resetBy: resetBy)
    }

    func direction(from source: Endpoint) -> FlowDirection {
        source == info.client ? .clientToServer : .serverToClient
    }

    /// True when a pure SYN from `segment.source` carries an ISN other than the
    /// one known for that side: a new connection on the same tuple.
    func isNewConnection(_ segment: TCPSegment) -> Bool {
        let half = direction(from: segment.source) == .clientToServer ? client : server
        guard half.phase != .unseen else { return false }
        return !(half.isnKnown && half.base == segment.sequenceNumber &+ 1)
    }

    /// Ends both directions now, at its last packet (see ``HalfStream/finish(reason:frame:timestampNanoseconds:statistics:emit:)``).
    mutating func endBoth(reason: StreamEndReason, statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void) {
        let frame = lastFrame
        let timestampNanoseconds = lastTimestamp
        client.finish(reason: reason, frame: frame, timestampNanoseconds: timestampNanoseconds, statistics: &statistics, emit: emit)
        server.finish(reason: reason, frame: frame, timestampNanoseconds: timestampNanoseconds, statistics: &statistics, emit: emit)
    }

    /// Forces holes out (client first) until `bytes` buffered bytes are freed or none remain.
    /// Returns ``bothEnded`` (read here, in place: read through a copy it cost a copy of the state).
    @discardableResult
    mutating func forceOutOfOrder(freeing bytes: Int, statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void) -> Bool {
        let start = pendingBytes
        while start - pendingBytes < bytes {
            if client.forceFirstHole(reason: .limit, statistics: &statistics, emit: emit) { continue }
            if server.forceFirstHole(reason: .limit, statistics: &statistics, emit: emit) { continue }
            break
        }
        client.endIfFinReached(emit: emit)
        server.endIfFinReached(emit: emit)
        return bothEnded
    }

    /// Handles one segment of this flow. Returns ``bothEnded``.
    @discardableResult
    mutating func handle(
        _ segment: TCPSegment, payload: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64,
        options: FlowLimits, statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void
    ) -> Bool {
        lastFrame = frame
        lastTimestamp = timestampNanoseconds
        packets &+= 1
        expireHole(.clientToServer, now: timestampNanoseconds, frame: frame, options: options, statistics: &statistics, emit: emit)
        expireHole(.serverToClient, now: timestampNanoseconds, frame: frame, options: options, statistics: &statistics, emit: emit)
        let direction = direction(from: segment.source)
        let context = Context(flow: info.id, direction: direction, frame: frame, timestampNanoseconds: timestampNanoseconds, options: options)
        let reset: Bool
        switch direction {
        case .clientToServer:
            reset = Self.handle(segment, payload: payload, context: context, this: &client, peer: &server, statistics: &statistics, emit: emit)
        case .serverToClient:
            reset = Self.handle(segment, payload: payload, context: context, this: &server, peer: &client, statistics: &statistics, emit: emit)
        }
        if reset {
            resetBy = resetBy ?? direction
            closedBy = closedBy ?? direction
        } else if segment.flags.hasFIN {
            closedBy = closedBy ?? direction
        }
        return bothEnded
    }

    private mutating func expireHole(
        _ direction: FlowDirection, now: Int64, frame: UInt64, options: FlowLimits,
        statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void
    ) {
        // Two fields, not the whole direction: a copy of it cost a retain and release of each buffer per packet.
        let (waiting, holeSince) = direction == .clientToServer
            ? (!client.pending.isEmpty, client.holeSince) : (!server.pending.isEmpty, server.holeSince)
        guard waiting else { return }
        let (age, overflow) = now.subtractingReportingOverflow(holeSince)
        guard !overflow, age > options.outOfOrderTimeoutNanoseconds else { return }
        emit(.limitReached(.outOfOrderTimeout, flow: info.id, frame: frame))
        switch direction {
        case .clientToServer:
            client.forceFirstHole(reason: .limit, statistics: &statistics, emit: emit)
            client.holeSince = now
            client.endIfFinReached(emit: emit)
        case .serverToClient:
            server.forceFirstHole(reason: .limit, statistics: &statistics, emit: emit)
            server.holeSince = now
            server.endIfFinReached(emit: emit)
        }
    }

    struct Context {
        var flow: FlowID
        var direction: FlowDirection
        var frame: UInt64
        var timestampNanoseconds: Int64
        var options: FlowLimits
    }

    /// Handles a segment sent by `this`, acknowledging `peer`'s bytes.
    /// Returns true when it was an accepted RST (both directions ended).
    private static func handle(
        _ segment: TCPSegment, payload: UnsafeRawBufferPointer, context: Context,
        this: inout HalfStream, peer: inout HalfStream, statistics: inout ReassemblyStatistics,
        emit: (StreamEvent) -> Void
    ) -> Bool {
        let flags = segment.flags
        let syn = flags.hasSYN
        let fin = flags.hasFIN
        let rst = flags.hasRST
        let seq = segment.sequenceNumber
        this.window = segment.window
        this.windowSeen = true

        if syn {
            if this.phase == .unseen {
                this.open(base: seq &+ 1, isnKnown: true)
                this.windowScale = segment.options.windowScale.map { min($0, 14) } ?? 0
            } else if this.isnKnown && this.base == seq &+ 1 {
                statistics.duplicateSyns &+= 1
            } else {
                statistics.unexpectedSyns &+= 1
                return false
            }
            if flags.hasACK && peer.phase == .unseen {
                peer.open(base: segment.acknowledgmentNumber, isnKnown: true)
            }
        } else if this.phase == .unseen {
            this.open(base: seq, isnKnown: false)
        }

        let start = this.offset(of: syn ? seq &+ 1 : seq)
        let wire = max(segment.wirePayloadLength, payload.count)
        let info = SegmentInfo(
            frame: context.frame, sequenceNumber: seq, timestampNanoseconds: context.timestampNanoseconds, flags: flags,
            streamOffset: UInt64(max(0, start)), length: payload.count)
        let plain = !syn && !fin && !rst
        let next = Int64(bitPattern: this.next)

        if this.phase == .ended {
            if wire > 0 || fin { statistics.segmentsAfterEnd &+= 1 }
        } else if plain && wire <= 1 && start == next - 1 {
            statistics.keepAlives &+= 1
        } else if plain && wire == 1 && payload.count == 1 && peer.windowSeen && peer.window == 0 && start == next
            && (this.probe == nil || this.probe?.offset == this.next)
        {
            statistics.zeroWindowProbes &+= 1
            if this.probe == nil {
                this.probe = HalfStream.Probe(offset: this.next, byte: payload[0], segment: info)
            }
        } else if wire > 0 || fin {
            this.settleProbe(before: start, statistics: &statistics, emit: emit)
            if let prepared = this.prepare(
                start: start, payload: payload, wireLength: wire, fin: fin, segment: info, statistics: &statistics)
            {
                let hadPending = !this.pending.isEmpty
                let nextBefore = this.next
                if prepared.start > this.next && prepared.end > prepared.start {
                    makeRoom(for: prepared, context: context, this: &this, peer: &peer, statistics: &statistics, emit: emit)
                }
                this.apply(prepared, comparedTailBytes: context.options.comparedTailBytes, statistics: &statistics, emit: emit)
                if !this.pending.isEmpty && (!hadPending || this.next != nextBefore) {
                    this.holeSince = context.timestampNanoseconds
                }
            }
            this.endIfFinReached(emit: emit)
        }

        if flags.hasACK {
            peer.acknowledge(segment.acknowledgmentNumber, statistics: &statistics, emit: emit)
            peer.endIfFinReached(emit: emit)
        }

        guard rst else { return false }
        if this.phase == .open {
            let distance = start - Int64(bitPattern: this.next)
            let window = max(Int64(65535), Int64(peer.window) << Int64(peer.windowScale))
            guard distance >= -window && distance <= window else {
                statistics.outOfWindowResets &+= 1
                return false
            }
        }
        this.finish(reason: .rst, frame: context.frame, timestampNanoseconds: context.timestampNanoseconds, statistics: &statistics, emit: emit)
        peer.finish(reason: .rst, frame: context.frame, timestampNanoseconds: context.timestampNanoseconds, statistics: &statistics, emit: emit)
        return true
    }

    /// Enforces the per-flow out-of-order limits before `segment` is stored:
    /// holes before it are forced out first, then the peer's, then the hole
    /// right before the segment (which then arrives in order).
    private static func makeRoom(
        for segment: HalfStream.Prepared, context: Context, this: inout HalfStream, peer: inout HalfStream,
        statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void
    ) {
        let options = context.options
        if this.pending.count >= options.maxOutOfOrderSegmentsPerDirection {
            emit(.limitReached(.outOfOrderSegmentsPerDirection, flow: context.flow, frame: context.frame))
            while this.pending.count >= options.maxOutOfOrderSegmentsPerDirection, this.next < segment.start,
                let first = this.pending.first, first.offset <= segment.start
            {
                this.forceFirstHole(reason: .limit, statistics: &statistics, emit: emit)
            }
            if this.pending.count >= options.maxOutOfOrderSegmentsPerDirection {
                this.skip(to: segment.start, reason: .limit, statistics: &statistics, emit: emit)
            }
        }
        func over(_ this: HalfStream, _ peer: HalfStream) -> Bool {
            guard this.next < segment.start else { return false }
            let need = this.pending.uncoveredBytes(start: segment.start, capturedEnd: segment.start &+ UInt64(segment.bytes.count))
            return this.pending.storedBytes + peer.pending.storedBytes + need > options.maxOutOfOrderBytesPerFlow
        }
        guard over(this, peer) else { return }
        emit(.limitReached(.outOfOrderBytesPerFlow, flow: context.flow, frame: context.frame))
        while over(this, peer), let first = this.pending.first, first.offset <= segment.start {
            this.forceFirstHole(reason: .limit, statistics: &statistics, emit: emit)
        }
        while over(this, peer), peer.forceFirstHole(reason: .limit, statistics: &statistics, emit: emit) {}
        peer.endIfFinReached(emit: emit)
        if over(this, peer) {
            this.skip(to: segment.start, reason: .limit, statistics: &statistics, emit: emit)
        }
    }
}
