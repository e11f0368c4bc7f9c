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
/// Per flow the events are: `opened`, then per direction `data`,
/// `retransmission` and `gap` in stream order and one `end`, then `closed`.
/// Time is the capture clock only (packet timestamps).
public struct TCPReassembler {
    public var options: ReassemblyOptions
    /// What was seen and set aside so far.
    public private(set) var statistics = ReassemblyStatistics()

    private var table: [FlowKey: Int32] = [:]
    private var slots: [FlowState?] = []
    private var freeSlots: [Int32] = []
    /// Least recently active first: an intrusive list over slot indices.
    private var lruPrevious: [Int32] = []
    private var lruNext: [Int32] = []
    private var lruHead: Int32 = -1
    private var lruTail: Int32 = -1
    private var nextFlowIndex = 0
    private var outOfOrderBytes = 0

    public init(options: ReassemblyOptions = ReassemblyOptions()) {
        self.options = options
    }

    /// Flows held, including closed ones kept briefly to absorb late packets.
    public var trackedFlows: Int { table.count }
    /// Out-of-order payload bytes buffered over all flows.
    public var bufferedOutOfOrderBytes: Int { outOfOrderBytes }

    /// Feeds one decoded segment. Events are emitted synchronously through `emit`.
    public mutating func process(
        _ segment: TCPSegment, payload: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64,
        emit: (StreamEvent) -> Void
    ) {
        guard options.ports.contains(segment.source.port) || options.ports.contains(segment.destination.port) else {
            statistics.packetsIgnored &+= 1
            return
        }
        statistics.packets &+= 1
        expireIdle(now: timestampNanoseconds, emit: emit)

        let key = FlowKey(segment.source, segment.destination)
        let pureSyn = segment.flags.contains(.syn) && !segment.flags.contains(.ack)
        var found = table[key]
        if let index = found, let flow = slots[Int(index)] {
            if flow.isClosed {
                guard pureSyn else {
                    statistics.packetsAfterClose &+= 1
                    slots[Int(index)]?.lastTimestamp = timestampNanoseconds
                    touch(index)
                    return
                }
                remove(index)
                found = nil
            } else if pureSyn && flow.isNewConnection(segment) {
                statistics.flowsReused &+= 1
                close(index, ending: .portReuse, emit: emit)
                remove(index)
                found = nil
            }
        }
        let index = found ?? open(key: key, segment: segment, frame: frame, timestampNanoseconds: timestampNanoseconds, emit: emit)
        touch(index)

        let before = slots[Int(index)]?.pendingBytes ?? 0
        slots[Int(index)]?.handle(
            segment, payload: payload, frame: frame, timestampNanoseconds: timestampNanoseconds, options: options,
            statistics: &statistics, emit: emit)
        outOfOrderBytes += (slots[Int(index)]?.pendingBytes ?? 0) - before
        closeIfDone(index, emit: emit)
        if outOfOrderBytes > options.maxOutOfOrderBytesTotal {
            enforceTotalLimit(current: index, frame: frame, emit: emit)
        }
        statistics.peakFlows = max(statistics.peakFlows, table.count)
        statistics.peakOutOfOrderBytes = max(statistics.peakOutOfOrderBytes, outOfOrderBytes)
    }

    /// Advances the capture clock (live mode's idle tick): expires idle flows.
    public mutating func advanceClock(to timestampNanoseconds: Int64, emit: (StreamEvent) -> Void) {
        expireIdle(now: timestampNanoseconds, emit: emit)
    }

    /// End of input: every open flow, in flow order, reports its holes as
    /// `holeAtEnd`, ends with `captureEnd` (or `fin` when its FIN was seen)
    /// and is closed. The reassembler is empty afterwards.
    public mutating func finish(emit: (StreamEvent) -> Void) {
        var open: [(FlowID, Int32)] = []
        for (_, index) in table {
            if let flow = slots[Int(index)], !flow.isClosed { open.append((flow.id, index)) }
        }
        open.sort { $0.0 < $1.0 }
        for (_, index) in open {
            close(index, ending: .captureEnd, emit: emit)
        }
        table = [:]
        slots = []
        freeSlots = []
        lruPrevious = []
        lruNext = []
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
        } else if options.ports.contains(segment.destination.port) {
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
        }
        table[key] = index
        linkAtTail(index)
        return index
    }

    /// Ends both directions, emits `closed`, and leaves a tombstone.
    private mutating func close(_ index: Int32, ending reason: StreamEndReason, emit: (StreamEvent) -> Void) {
        guard var flow = slots[Int(index)], !flow.isClosed else { return }
        let before = flow.pendingBytes
        flow.endBoth(
            reason: reason, frame: flow.lastFrame, timestampNanoseconds: flow.lastTimestamp, statistics: &statistics,
            emit: emit)
        outOfOrderBytes -= before
        emit(.closed(flow.id, flow.summary))
        flow.markClosed()
        slots[Int(index)] = flow
    }

    private mutating func closeIfDone(_ index: Int32, emit: (StreamEvent) -> Void) {
        guard let flow = slots[Int(index)], !flow.isClosed, flow.bothEnded else { return }
        outOfOrderBytes -= flow.pendingBytes
        emit(.closed(flow.id, flow.summary))
        slots[Int(index)]?.markClosed()
    }

    private mutating func remove(_ index: Int32) {
        guard let flow = slots[Int(index)] else { return }
        outOfOrderBytes -= flow.pendingBytes
        table[flow.key] = nil
        unlink(index)
        slots[Int(index)] = nil
        freeSlots.append(index)
    }

    private mutating func evictOldest(frame: UInt64, emit: (StreamEvent) -> Void) {
        let index = lruHead
        guard index >= 0, let flow = slots[Int(index)] else { return }
        if !flow.isClosed {
            statistics.flowsEvicted &+= 1
            emit(.limitReached(.maxFlows, flow: flow.id, frame: frame))
            close(index, ending: .evicted, emit: emit)
        }
        remove(index)
    }

    /// Ends flows whose last packet is older than the idle timeout, oldest first.
    private mutating func expireIdle(now: Int64, emit: (StreamEvent) -> Void) {
        while lruHead >= 0, let flow = slots[Int(lruHead)] {
            let (age, overflow) = now.subtractingReportingOverflow(flow.lastTimestamp)
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
        guard outOfOrderBytes > options.maxOutOfOrderBytesTotal, let flow = slots[Int(index)], flow.pendingBytes > 0 else {
            return
        }
        emit(.limitReached(.outOfOrderBytesTotal, flow: flow.id, frame: frame))
        let before = flow.pendingBytes
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

    private mutating func touch(_ index: Int32) {
        guard lruTail != index else { return }
        unlink(index)
        linkAtTail(index)
    }
}
