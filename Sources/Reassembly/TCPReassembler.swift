import Wire

/// Reassembles TCP connections on SMTP ports into per-direction byte streams
/// that keep, for every byte, the segment that carried it.
///
/// Feed segments in capture order with ``process(_:payload:frame:timestampNanoseconds:emit:)``,
/// call ``advanceClock(to:emit:)`` on live idle ticks, and ``finish(emit:)``
/// at the end of input. Events arrive synchronously through `emit`; in-order
/// bytes in ``StreamEvent/data(_:_:offset:bytes:segment:)`` point into the
/// caller's payload buffer and are valid only during that call.
///
/// Clock-driven use (``process(_:payload:frame:timestampNanoseconds:clock:emit:)``): the caller
/// passes its capture clock (the latest time of all frames so far, not only of this reassembler's
/// flows) with every segment, and expires idle flows only through ``advanceClock(to:emit:)`` on
/// ticks it drives. Then whether and in which order flows expire depends only on each flow's own
/// packets and the ticks, so several reassemblers that each see a share of the flows (parallel
/// analysis) close them exactly as one reassembler seeing them all would.
///
/// Per flow the events are: `opened`, then per direction `data`,
/// `retransmission` and `gap` in stream order and one `end`, then `closed`.
/// Time is the capture clock only (packet timestamps).
public struct TCPReassembler {
    public var options: ReassemblyOptions {
        didSet {
            ports = PortSet(options.ports)
            limits = FlowLimits(options)
        }
    }
    private var ports: PortSet
    /// The per-flow limits alone: copying `options` (its port `Set`) per packet cost a retain and release.
    private var limits: FlowLimits
    /// What was seen and set aside so far.
    public private(set) var statistics = ReassemblyStatistics()

    private var table: [FlowKey: Int32] = [:]
    /// Open flows only; a closed flow leaves a small entry in `closed`.
    private var slots: [FlowState?] = []
    private var closed = ClosedFlows()
    private var freeSlots: [Int32] = []
    /// Least recently active first: an intrusive list over slot indices.
    private var lruPrevious: [Int32] = []
    private var lruNext: [Int32] = []
    /// Per slot: the clock when the flow last had a packet. Non-decreasing from head to tail
    /// with a clock (it is the latest time so far), so idle expiry can stop at the first live flow.
    private var lruClock: [Int64] = []
    private var lruHead: Int32 = -1
    private var lruTail: Int32 = -1
    private var nextFlowIndex = 0
    private var outOfOrderBytes = 0

    public init(options: ReassemblyOptions = ReassemblyOptions()) {
        self.options = options
        ports = PortSet(options.ports)
        limits = FlowLimits(options)
    }

    /// Flows held, including closed ones kept briefly to absorb late packets.
    public var trackedFlows: Int { table.count + closed.count }
    /// Out-of-order payload bytes buffered over all flows.
    public var bufferedOutOfOrderBytes: Int { outOfOrderBytes }

    /// Feeds one decoded segment. Events are emitted synchronously through `emit`.
    /// Idle flows (measured from their last packet) are expired first, against this segment's time.
    public mutating func process(
        _ segment: TCPSegment, payload: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64,
        emit: (StreamEvent) -> Void
    ) {
        process(segment, payload: payload, frame: frame, timestampNanoseconds: timestampNanoseconds, clock: nil, emit: emit)
    }

    /// Feeds one decoded segment in clock-driven use: `clock` is the caller's capture clock (at
    /// least `timestampNanoseconds`; the latest time of every frame so far). No idle flow is
    /// expired here: the caller drives that with ``advanceClock(to:emit:)``.
    public mutating func process(
        _ segment: TCPSegment, payload: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64, clock: Int64,
        emit: (StreamEvent) -> Void
    ) {
        process(segment, payload: payload, frame: frame, timestampNanoseconds: timestampNanoseconds, clock: Optional(clock), emit: emit)
    }

    private mutating func process(
        _ segment: TCPSegment, payload: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64, clock: Int64?,
        emit: (StreamEvent) -> Void
    ) {
        guard ports.contains(segment.source.port) || ports.contains(segment.destination.port) else {
            statistics.packetsIgnored &+= 1
            return
        }
        statistics.packets &+= 1
        let now = clock ?? timestampNanoseconds
        if clock == nil { expireIdle(now: now, emit: emit) }
        closed.expire(now: now, retention: options.closedFlowRetentionNanoseconds)

        let key = FlowKey(segment.source, segment.destination)
        let pureSyn = segment.flags.contains(.syn) && !segment.flags.contains(.ack)
        var found = table[key]
        if let index = found {
            if pureSyn && read(index, { $0.isNewConnection(segment) }) == true {
                statistics.flowsReused &+= 1
                close(index, ending: .portReuse, emit: emit)
                remove(index)
                found = nil
            }
        } else if closed.absorb(key, at: now, retention: options.closedFlowRetentionNanoseconds) {
            guard pureSyn else {
                statistics.packetsAfterClose &+= 1
                return
            }
            closed.remove(key)
        }
        let index = found ?? open(key: key, segment: segment, frame: frame, timestampNanoseconds: timestampNanoseconds, emit: emit)
        touch(index, clock: now)

        // Through `read`: `slots[i]?.handle(…)` moved the whole FlowState out and back (2 memcpy per packet).
        let limits = limits
        var statistics = statistics
        let change = read(index) { flow in
            let before = flow.pendingBytes
            flow.handle(
                segment, payload: payload, frame: frame, timestampNanoseconds: timestampNanoseconds, options: limits,
                statistics: &statistics, emit: emit)
            return flow.pendingBytes - before
        }
        self.statistics = statistics
        outOfOrderBytes += change ?? 0
        closeIfDone(index, emit: emit)
        if outOfOrderBytes > options.maxOutOfOrderBytesTotal {
            enforceTotalLimit(current: index, frame: frame, emit: emit)
        }
        statistics.peakFlows = max(statistics.peakFlows, table.count + closed.count)
        statistics.peakOutOfOrderBytes = max(statistics.peakOutOfOrderBytes, outOfOrderBytes)
    }

    /// Advances the capture clock (live mode's idle tick; in clock-driven use, the caller's
    /// tick): expires idle flows, least recently active first.
    public mutating func advanceClock(to timestampNanoseconds: Int64, emit: (StreamEvent) -> Void) {
        expireIdle(now: timestampNanoseconds, emit: emit)
        closed.expire(now: timestampNanoseconds, retention: options.closedFlowRetentionNanoseconds)
    }

    /// End of input: every open flow, in flow order, reports its holes as
    /// `holeAtEnd`, ends with `captureEnd` (or `fin` when its FIN was seen)
    /// and is closed. The reassembler is empty afterwards.
    public mutating func finish(emit: (StreamEvent) -> Void) {
        var open: [(FlowID, Int32)] = []
        for (_, index) in table {
            if let id = read(index, { $0.id }) { open.append((id, index)) }
        }
        open.sort { $0.0 < $1.0 }
        for (_, index) in open {
            close(index, ending: .captureEnd, emit: emit)
        }
        table = [:]
        closed.removeAll()
        slots = []
        freeSlots = []
        lruPrevious = []
        lruNext = []
        lruClock = []
        lruHead = -1
        lruTail = -1
        outOfOrderBytes = 0
    }

    // MARK: - Flow table

    private mutating func open(
        key: FlowKey, segment: TCPSegment, frame: UInt64, timestampNanoseconds: Int64, emit: (StreamEvent) -> Void
    ) -> Int32 {
        while table.count >= max(options.maxFlows, 1), lruHead >= 0 {
            evictOldest(frame: frame, emit: emit)
        }
        let flags = segment.flags
        let clientIsSource: Bool
        if flags.contains(.syn) {
            clientIsSource = !flags.contains(.ack)
        } else if ports.contains(segment.destination.port) {
            clientIsSource = true
        } else {
            clientIsSource = false
        }
        let info = FlowInfo(
            id: FlowID(nextFlowIndex),
            client: clientIsSource ? segment.source : segment.destination,
            server: clientIsSource ? segment.destination : segment.source,
            firstFrame: frame, firstTimestampNanoseconds: timestampNanoseconds,
            midstream: !flags.contains(.syn))
        nextFlowIndex += 1
        statistics.flowsOpened &+= 1
        emit(.opened(info))

        let flow = FlowState(key: key, info: info)
        let index: Int32
        if let reused = freeSlots.popLast() {
            index = reused
            slots[Int(index)] = flow
        } else {
            index = Int32(slots.count)
            slots.append(flow)
            lruPrevious.append(-1)
            lruNext.append(-1)
            lruClock.append(timestampNanoseconds)
        }
        table[key] = index
        lruClock[Int(index)] = timestampNanoseconds
        linkAtTail(index)
        return index
    }

    /// Reads the open flow in slot `index` in place: through a mutable buffer pointer and an
    /// in-place optional projection, so its state (~1.4 KB with buffers) is never copied.
    @inline(__always)
    private mutating func read<R>(_ index: Int32, _ body: (inout FlowState) -> R) -> R? {
        slots.withUnsafeMutableBufferPointer { buffer in
            guard index >= 0, Int(index) < buffer.count else { return nil }
            return buffer[Int(index)]?.visit(body)
        }
    }

    /// Ends both directions and emits `closed`; the caller then removes the flow.
    private mutating func close(_ index: Int32, ending reason: StreamEndReason, emit: (StreamEvent) -> Void) {
        guard let before = read(index, { $0.pendingBytes }) else { return }
        slots[Int(index)]?.endBoth(reason: reason, statistics: &statistics, emit: emit)
        outOfOrderBytes -= before
        if let (id, summary) = read(index, { ($0.id, $0.summary) }) { emit(.closed(id, summary)) }
    }

    /// A flow whose directions both ended is reported closed and leaves only its tuple.
    private mutating func closeIfDone(_ index: Int32, emit: (StreamEvent) -> Void) {
        guard let (id, summary, key) = read(index, { flow in
            flow.bothEnded ? (flow.id, flow.summary, flow.key) : nil
        }) ?? nil else { return }
        // The clock at its last packet (its own time unless clock-driven), as tombstones are judged by it.
        let last = lruClock[Int(index)]
        emit(.closed(id, summary))
        remove(index)
        statistics.closedFlowsDropped &+= UInt64(closed.insert(key, lastSeen: last, limit: options.maxClosedFlows))
    }

    private mutating func remove(_ index: Int32) {
        guard let (key, pending) = read(index, { ($0.key, $0.pendingBytes) }) else { return }
        outOfOrderBytes -= pending
        table[key] = nil
        unlink(index)
        slots[Int(index)] = nil
        freeSlots.append(index)
    }

    private mutating func evictOldest(frame: UInt64, emit: (StreamEvent) -> Void) {
        let index = lruHead
        guard index >= 0, let id = read(index, { $0.id }) else { return }
        statistics.flowsEvicted &+= 1
        emit(.limitReached(.maxFlows, flow: id, frame: frame))
        close(index, ending: .evicted, emit: emit)
        remove(index)
    }

    /// Ends flows whose last packet is older than the idle timeout, least recently active first.
    private mutating func expireIdle(now: Int64, emit: (StreamEvent) -> Void) {
        while lruHead >= 0, read(lruHead, { _ in true }) == true {
            let last = lruClock[Int(lruHead)]
            let (age, overflow) = now.subtractingReportingOverflow(last)
            guard !overflow, age > options.idleTimeoutNanoseconds else { return }
            let index = lruHead
            close(index, ending: .idle, emit: emit)
            remove(index)
        }
    }

    /// Forces out holes, the current flow first, then the least recently
    /// active, until the total is back under its limit.
    private mutating func enforceTotalLimit(current: Int32, frame: UInt64, emit: (StreamEvent) -> Void) {
        forceOutOfOrder(current, frame: frame, emit: emit)
        var index = lruHead
        while outOfOrderBytes > options.maxOutOfOrderBytesTotal, index >= 0 {
            let following = lruNext[Int(index)]
            if index != current { forceOutOfOrder(index, frame: frame, emit: emit) }
            index = following
        }
    }

    private mutating func forceOutOfOrder(_ index: Int32, frame: UInt64, emit: (StreamEvent) -> Void) {
        guard outOfOrderBytes > options.maxOutOfOrderBytesTotal,
            let (id, before) = read(index, { ($0.id, $0.pendingBytes) }), before > 0
        else {
            return
        }
        emit(.limitReached(.outOfOrderBytesTotal, flow: id, frame: frame))
        slots[Int(index)]?.forceOutOfOrder(
            freeing: outOfOrderBytes - options.maxOutOfOrderBytesTotal, statistics: &statistics, emit: emit)
        outOfOrderBytes += (slots[Int(index)]?.pendingBytes ?? 0) - before
        closeIfDone(index, emit: emit)
    }

    // MARK: - Least-recently-active list

    private mutating func linkAtTail(_ index: Int32) {
        lruPrevious[Int(index)] = lruTail
        lruNext[Int(index)] = -1
        if lruTail >= 0 { lruNext[Int(lruTail)] = index } else { lruHead = index }
        lruTail = index
    }

    private mutating func unlink(_ index: Int32) {
        let previous = lruPrevious[Int(index)]
        let next = lruNext[Int(index)]
        if previous >= 0 { lruNext[Int(previous)] = next } else { lruHead = next }
        if next >= 0 { lruPrevious[Int(next)] = previous } else { lruTail = previous }
        lruPrevious[Int(index)] = -1
        lruNext[Int(index)] = -1
    }

    private mutating func touch(_ index: Int32, clock: Int64) {
        lruClock[Int(index)] = clock
        guard lruTail != index else { return }
        unlink(index)
        linkAtTail(index)
    }
}
