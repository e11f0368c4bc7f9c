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

    /// Open flows: their slot in `store`.
    private var table: FlowKeyTable<Int32>
    /// Open flows by slot, with whether a slot holds a flow and its place in the
    /// least-recently-active list; a free slot holds ``FlowState/vacant`` (not optional: an
    /// optional slot cost an outlined copy of the whole state per packet). A closed flow
    /// leaves a small entry in `closed`. Made unique (``ownStore()``) once per public call.
    private var store = SlotStore()
    private var closed: ClosedFlows
    private var freeSlots: [Int32] = []
    /// Tail boxes of removed flows, handed to new ones, so that opening a flow allocates
    /// nothing in steady state. At most ``maxSpareTailBoxes``.
    private var spareTailBoxes: [HalfStream.TailBox] = []
    private var lruHead: Int32 = -1
    private var lruTail: Int32 = -1
    private var nextFlowIndex = 0
    private var outOfOrderBytes = 0
    /// The flows of the last segments and their slots: consecutive frames mostly belong to one
    /// of them, and then skip the key, the table's hash and its probe. A flow leaves it when it
    /// leaves the table.
    private var recent = RecentFlows()
    /// Tests turn it off to compare with every segment looked up in the table.
    var recentFlowCache = true
    /// Plain in-order segments take ``FlowState/handleInOrder(_:payload:frame:timestampNanoseconds:statistics:emit:)``;
    /// tests turn it off to compare with the general path.
    var inOrderFastPath = true

    /// Spare tail boxes kept (~100 bytes each): enough for the flows that open while as
    /// many close; past it a removed flow's boxes are freed.
    static let maxSpareTailBoxes = 1024

    public init(options: ReassemblyOptions = ReassemblyOptions()) {
        self.init(options: options, seed: UInt64.random(in: .min ... .max))
    }

    /// `seed` keys the flow tables' hash; ``init(options:)`` draws one at random, so a capture
    /// cannot pick tuples that collide. Output never depends on it (iteration is sorted).
    init(options: ReassemblyOptions, seed: UInt64) {
        self.options = options
        ports = PortSet(options.ports)
        limits = FlowLimits(options)
        table = FlowKeyTable(seed: seed, filler: -1)
        closed = ClosedFlows(seed: seed ^ 0x5851_F42D_4C95_7F2D)
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

    /// Inlined into both public forms: a call in between cost a second pass of the segment's fields.
    @inline(__always)
    private mutating func process(
        _ segment: TCPSegment, payload: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64, clock: Int64?,
        emit: (StreamEvent) -> Void
    ) {
        guard ports.contains(segment.source.port) || ports.contains(segment.destination.port) else {
            statistics.packetsIgnored &+= 1
            return
        }
        ownStore()
        statistics.packets &+= 1
        let now = clock ?? timestampNanoseconds
        if clock == nil { expireIdle(now: now, emit: emit) }
        closed.expire(now: now, retention: options.closedFlowRetentionNanoseconds)

        // A segment of one of the last flows, not a pure SYN (which may start a new connection
        // on the tuple): its slot, from two word compares. Any other segment: `resolve`.
        let tuple = RecentFlows.Tuple(segment.source, segment.destination)
        var index = recentFlowCache ? recent.slot(of: tuple) : -1
        if index < 0 || segment.flags.rawValue & 0x12 == 0x02 {
            index = resolve(segment, cached: index, tuple: tuple, frame: frame, timestampNanoseconds: timestampNanoseconds, now: now, emit: emit)
            guard index >= 0 else { return }
        }
        touch(index, clock: now)

        // In place: the slot is reached by pointer, and `statistics` is a distinct stored property.
        let slot = Int(index)
        if inOrderFastPath
            && handleInOrder(slot, segment, payload: payload, frame: frame, timestampNanoseconds: timestampNanoseconds, emit: emit)
        {
            // Nothing buffered before or after, and the flow stays open. Neither peak can rise: no
            // flow opened (a new flow's directions are unseen, never quiet) and no byte was buffered.
            if outOfOrderBytes > options.maxOutOfOrderBytesTotal {
                enforceTotalLimit(current: index, frame: frame, emit: emit)
            }
            return
        }
        handleGeneral(index, segment, payload: payload, frame: frame, timestampNanoseconds: timestampNanoseconds, emit: emit)
    }

    /// Clock-driven (as ``process(_:payload:frame:timestampNanoseconds:clock:emit:)``): one frame that
    /// ``PacketDecoder/takeStraightIPv4(_:wireLength:linkType:timestampNanoseconds:)`` took, read in
    /// place. The same as handing ``PacketDecoder/segment(ofStraight:_:)`` and its payload to that
    /// method, but a plain in-order segment of a flow in ``recent`` (nearly every segment) is
    /// handled from the frame's fields, without building the segment and its options, and a
    /// segment on no followed port is set aside from its ports alone.
    /// `StraightFrameTests` compares the two ways.
    public mutating func process(
        straight bytes: UnsafeRawBufferPointer, _ layout: StraightIPv4Frame, frame: UInt64, timestampNanoseconds: Int64,
        clock: Int64, emit: (StreamEvent) -> Void
    ) {
        // The offsets are the straight pass's: IPv4 addresses at 26 and 30, TCP at 34.
        let tcp = StraightIPv4Frame.tcp
        let sourcePort = bytes.u16(tcp)
        let destinationPort = bytes.u16(tcp &+ 2)
        guard ports.contains(sourcePort) || ports.contains(destinationPort) else {
            statistics.packetsIgnored &+= 1
            return
        }
        let sourceAddress = bytes.u32(26)
        let flags = TCPFlags(rawValue: bytes.u16(tcp &+ 12) & 0x01ff)
        let cached = recentFlowCache
            ? recent.slot(of: RecentFlows.Tuple(v4: sourceAddress, sourcePort, bytes.u32(30), destinationPort)) : -1
        // Not cached, or a pure SYN (see `process`): the segment, the general way.
        guard cached >= 0, flags.rawValue & 0x12 != 0x02, inOrderFastPath else {
            processSegment(straight: bytes, layout, frame: frame, timestampNanoseconds: timestampNanoseconds, clock: clock, emit: emit)
            return
        }
        // What `process` does for a cached flow, in its order.
        ownStore()
        statistics.packets &+= 1
        closed.expire(now: clock, retention: options.closedFlowRetentionNanoseconds)
        touch(cached, clock: clock)
        let slot = Int(cached)
        precondition(slot >= 0 && slot < store.count)
        let fields = InOrderFields(
            sequenceNumber: bytes.u32(tcp &+ 4), acknowledgmentNumber: bytes.u32(tcp &+ 8), flags: flags,
            window: bytes.u16(tcp &+ 14), wirePayloadLength: layout.wirePayloadLength)
        let fromClient = store.flows[slot].isClient(v4: sourceAddress, port: sourcePort)
        if store.flows[slot].handleInOrder(
            fields, fromClient: fromClient, payload: layout.payload(bytes), frame: frame,
            timestampNanoseconds: timestampNanoseconds, tailOwned: true, statistics: &statistics, emit: emit)
        {
            if outOfOrderBytes > options.maxOutOfOrderBytesTotal {
                enforceTotalLimit(current: cached, frame: frame, emit: emit)
            }
            return
        }
        handleGeneral(straight: bytes, layout, index: cached, frame: frame, timestampNanoseconds: timestampNanoseconds, emit: emit)
    }

    /// A straight frame the fast path does not take, as its segment. Out of line (as the two
    /// below): inlined, they made the caller too large for the in-order path to be inlined.
    @inline(never)
    private mutating func processSegment(
        straight bytes: UnsafeRawBufferPointer, _ layout: StraightIPv4Frame, frame: UInt64, timestampNanoseconds: Int64,
        clock: Int64, emit: (StreamEvent) -> Void
    ) {
        process(
            PacketDecoder.segment(ofStraight: bytes, layout), payload: layout.payload(bytes), frame: frame,
            timestampNanoseconds: timestampNanoseconds, clock: Optional(clock), emit: emit)
    }

    @inline(never)
    private mutating func handleGeneral(
        straight bytes: UnsafeRawBufferPointer, _ layout: StraightIPv4Frame, index: Int32, frame: UInt64,
        timestampNanoseconds: Int64, emit: (StreamEvent) -> Void
    ) {
        handleGeneral(
            index, PacketDecoder.segment(ofStraight: bytes, layout), payload: layout.payload(bytes), frame: frame,
            timestampNanoseconds: timestampNanoseconds, emit: emit)
    }

    /// Every segment the fast path does not take (handshake, FIN, RST, holes, retransmissions):
    /// out of line, so the per-segment path stays short.
    @inline(never)
    private mutating func handleGeneral(
        _ index: Int32, _ segment: TCPSegment, payload: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64,
        emit: (StreamEvent) -> Void
    ) {
        let slot = Int(index)
        let before = peek(slot, { $0.pendingBytes })
        let done = store.flows[slot].handle(
            segment, payload: payload, frame: frame, timestampNanoseconds: timestampNanoseconds, options: limits,
            statistics: &statistics, emit: emit)
        outOfOrderBytes += peek(slot, { $0.pendingBytes }) - before
        if done { closeDone(index, emit: emit) }
        finishSegment(index, frame: frame, emit: emit)
    }

    /// The checks after every segment: the total out-of-order limit, and the peaks.
    @inline(__always)
    private mutating func finishSegment(_ index: Int32, frame: UInt64, emit: (StreamEvent) -> Void) {
        if outOfOrderBytes > options.maxOutOfOrderBytesTotal {
            enforceTotalLimit(current: index, frame: frame, emit: emit)
        }
        statistics.peakFlows = max(statistics.peakFlows, table.count + closed.count)
        statistics.peakOutOfOrderBytes = max(statistics.peakOutOfOrderBytes, outOfOrderBytes)
    }

    /// The in-order fast path on the flow in `slot`, in place
    /// (see ``FlowState/handleInOrder(_:payload:frame:timestampNanoseconds:statistics:emit:)``).
    @inline(__always)
    private mutating func handleInOrder(
        _ slot: Int, _ segment: TCPSegment, payload: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64,
        emit: (StreamEvent) -> Void
    ) -> Bool {
        precondition(slot >= 0 && slot < store.count)
        return store.flows[slot].handleInOrder(
            segment, payload: payload, frame: frame, timestampNanoseconds: timestampNanoseconds,
            tailOwned: true, statistics: &statistics, emit: emit)
    }

    /// Advances the capture clock (live mode's idle tick; in clock-driven use, the caller's
    /// tick): expires idle flows, least recently active first.
    public mutating func advanceClock(to timestampNanoseconds: Int64, emit: (StreamEvent) -> Void) {
        ownStore()
        expireIdle(now: timestampNanoseconds, emit: emit)
        closed.expire(now: timestampNanoseconds, retention: options.closedFlowRetentionNanoseconds)
    }

    /// End of input: every open flow, in flow order, reports its holes as
    /// `holeAtEnd`, ends with `captureEnd` (or `fin` when its FIN was seen)
    /// and is closed. The reassembler is empty afterwards.
    public mutating func finish(emit: (StreamEvent) -> Void) {
        ownStore()
        var open: [(FlowID, Int32)] = []
        table.forEach { _, index in
            if isLive(index) { open.append((peek(Int(index), { $0.id }), index)) }
        }
        // Slot order depends on the hash seed; flow order does not.
        open.sort { $0.0 < $1.0 }
        for (_, index) in open {
            close(index, ending: .captureEnd, emit: emit)
        }
        table.removeAll()
        recent.removeAll()
        closed.removeAll()
        store = SlotStore()
        freeSlots = []
        spareTailBoxes = []
        lruHead = -1
        lruTail = -1
        outOfOrderBytes = 0
    }

    // MARK: - Flow table

    /// The slot of the segment's flow when ``recent`` did not have it (`cached` -1), or when it
    /// is a pure SYN (`cached`: its slot, or -1): looked up in the table, a new connection on a
    /// reused tuple, a late packet of a closed flow (-1: ignored), or a new flow. Out of line:
    /// most segments skip it.
    @inline(never)
    private mutating func resolve(
        _ segment: TCPSegment, cached: Int32, tuple: RecentFlows.Tuple, frame: UInt64, timestampNanoseconds: Int64,
        now: Int64, emit: (StreamEvent) -> Void
    ) -> Int32 {
        let key = FlowKey(segment.source, segment.destination)
        let flags = segment.flags
        let pureSyn = flags.hasSYN && !flags.hasACK
        var index: Int32 = -1
        if let found = cached >= 0 ? cached : table[key] {
            if pureSyn && peek(Int(found), { $0.isNewConnection(segment) }) {
                statistics.flowsReused &+= 1
                close(found, ending: .portReuse, emit: emit)
                remove(found)
            } else {
                index = found
            }
        } else if closed.absorb(key, at: now, retention: options.closedFlowRetentionNanoseconds) {
            guard pureSyn else {
                statistics.packetsAfterClose &+= 1
                return -1
            }
            closed.remove(key)
        }
        if index < 0 {
            index = open(key: key, segment: segment, frame: frame, timestampNanoseconds: timestampNanoseconds, emit: emit)
        }
        recent.remember(tuple, slot: index)
        return index
    }

    /// Once per flow: kept out of line, so the per-segment path keeps its registers.
    @inline(never)
    private mutating func open(
        key: FlowKey, segment: TCPSegment, frame: UInt64, timestampNanoseconds: Int64, emit: (StreamEvent) -> Void
    ) -> Int32 {
        while table.count >= max(options.maxFlows, 1), lruHead >= 0 {
            evictOldest(frame: frame, emit: emit)
        }
        let flags = segment.flags
        let clientIsSource: Bool
        if flags.hasSYN {
            clientIsSource = !flags.hasACK
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
            midstream: !flags.hasSYN)
        nextFlowIndex += 1
        statistics.flowsOpened &+= 1
        emit(.opened(info))

        var flow = FlowState(key: key, info: info)
        if let box = spareTailBoxes.popLast() { flow.client.adoptTailBox(box) }
        if let box = spareTailBoxes.popLast() { flow.server.adoptTailBox(box) }
        let link = SlotLink(clock: timestampNanoseconds, live: true)
        let index: Int32
        if let reused = freeSlots.popLast() {
            index = reused
            precondition(reused >= 0 && Int(reused) < store.count)
            // Moved in, not copied: a copy retained each of the state's references, and
            // the local then released them.
            store.flows[Int(index)] = consume flow
            store.links[Int(index)] = link
        } else {
            index = Int32(store.count)
            store.append(consume flow, link)
        }
        table.insert(index, for: key)
        linkAtTail(index)
        return index
    }

    /// Reads the flow in `slot` in place (an array subscript read copied the whole state,
    /// with a retain and release of each of its buffers, per packet).
    @inline(__always)
    private func peek<R>(_ slot: Int, _ body: (borrowing FlowState) -> R) -> R {
        precondition(slot >= 0 && slot < store.count)
        return body(store.flows[slot])
    }

    @inline(__always)
    private func isLive(_ index: Int32) -> Bool {
        index >= 0 && Int(index) < store.count && store.links[Int(index)].live
    }

    /// Ends both directions and emits `closed`; the caller then removes the flow.
    @inline(never)
    private mutating func close(_ index: Int32, ending reason: StreamEndReason, emit: (StreamEvent) -> Void) {
        guard isLive(index) else { return }
        let slot = Int(index)
        let before = peek(slot, { $0.pendingBytes })
        store.flows[slot].endBoth(reason: reason, statistics: &statistics, emit: emit)
        outOfOrderBytes -= before
        emit(peek(slot, { .closed($0.id, $0.summary) }))
    }

    /// A flow whose directions both ended is reported closed and leaves only its tuple.
    @inline(never)
    private mutating func closeDone(_ index: Int32, emit: (StreamEvent) -> Void) {
        let slot = Int(index)
        let key = peek(slot, { $0.key })
        // The clock at its last packet (its own time unless clock-driven), as tombstones are judged by it.
        let last = store.links[slot].clock
        emit(peek(slot, { .closed($0.id, $0.summary) }))
        remove(index)
        statistics.closedFlowsDropped &+= UInt64(closed.insert(key, lastSeen: last, limit: options.maxClosedFlows))
    }

    private mutating func remove(_ index: Int32) {
        guard isLive(index) else { return }
        let slot = Int(index)
        outOfOrderBytes -= peek(slot, { $0.pendingBytes })
        table.remove(peek(slot, { $0.key }))
        recent.forget(peek(slot, { RecentFlows.Tuple($0.info.client, $0.info.server) }), slot: index)
        unlink(index)
        store.links[slot].live = false
        // Keep the tail boxes for the next flows (their windows are reset when handed out).
        if let box = store.flows[slot].client.takeTailBox() { keepSpare(box) }
        if let box = store.flows[slot].server.takeTailBox() { keepSpare(box) }
        store.flows[slot] = FlowState.vacant
        freeSlots.append(index)
    }

    private mutating func keepSpare(_ box: HalfStream.TailBox) {
        guard spareTailBoxes.count < Self.maxSpareTailBoxes else { return }
        spareTailBoxes.append(box)
    }

    private mutating func evictOldest(frame: UInt64, emit: (StreamEvent) -> Void) {
        let index = lruHead
        guard isLive(index) else { return }
        statistics.flowsEvicted &+= 1
        emit(.limitReached(.maxFlows, flow: peek(Int(index), { $0.id }), frame: frame))
        close(index, ending: .evicted, emit: emit)
        remove(index)
    }

    /// Ends flows whose last packet is older than the idle timeout, least recently active first.
    @inline(__always)
    private mutating func expireIdle(now: Int64, emit: (StreamEvent) -> Void) {
        // Per packet: the least recently active flow is almost always still young.
        guard headIsIdle(now: now) else { return }
        expireIdleFlows(now: now, emit: emit)
    }

    @inline(__always)
    private func headIsIdle(now: Int64) -> Bool {
        guard isLive(lruHead) else { return false }
        let (age, overflow) = now.subtractingReportingOverflow(store.links[Int(lruHead)].clock)
        return !overflow && age > options.idleTimeoutNanoseconds
    }

    private mutating func expireIdleFlows(now: Int64, emit: (StreamEvent) -> Void) {
        while headIsIdle(now: now) {
            let index = lruHead
            close(index, ending: .idle, emit: emit)
            remove(index)
        }
    }

    /// Forces out holes, the current flow first, then the least recently
    /// active, until the total is back under its limit.
    @inline(never)
    private mutating func enforceTotalLimit(current: Int32, frame: UInt64, emit: (StreamEvent) -> Void) {
        forceOutOfOrder(current, frame: frame, emit: emit)
        var index = lruHead
        while outOfOrderBytes > options.maxOutOfOrderBytesTotal, index >= 0 {
            let following = store.links[Int(index)].next
            if index != current { forceOutOfOrder(index, frame: frame, emit: emit) }
            index = following
        }
    }

    private mutating func forceOutOfOrder(_ index: Int32, frame: UInt64, emit: (StreamEvent) -> Void) {
        guard outOfOrderBytes > options.maxOutOfOrderBytesTotal, isLive(index) else { return }
        let slot = Int(index)
        let before = peek(slot, { $0.pendingBytes })
        guard before > 0 else { return }
        emit(.limitReached(.outOfOrderBytesTotal, flow: peek(slot, { $0.id }), frame: frame))
        let done = store.flows[slot].forceOutOfOrder(
            freeing: outOfOrderBytes - options.maxOutOfOrderBytesTotal, statistics: &statistics, emit: emit)
        outOfOrderBytes += peek(slot, { $0.pendingBytes }) - before
        if done { closeDone(index, emit: emit) }
    }

    // MARK: - Least-recently-active list

    @inline(__always)
    private mutating func linkAtTail(_ index: Int32) {
        store.links[Int(index)].previous = lruTail
        store.links[Int(index)].next = -1
        if lruTail >= 0 { store.links[Int(lruTail)].next = index } else { lruHead = index }
        lruTail = index
    }

    @inline(__always)
    private mutating func unlink(_ index: Int32) {
        let previous = store.links[Int(index)].previous
        let next = store.links[Int(index)].next
        if previous >= 0 { store.links[Int(previous)].next = next } else { lruHead = next }
        if next >= 0 { store.links[Int(next)].previous = previous } else { lruTail = previous }
        store.links[Int(index)].previous = -1
        store.links[Int(index)].next = -1
    }

    /// Records a packet of the flow in slot `index`: its clock, and it becomes the most
    /// recently active. Per packet, through the links' pointer.
    @inline(__always)
    private mutating func touch(_ index: Int32, clock: Int64) {
        let links = store.links
        let slot = Int(index)
        precondition(slot >= 0 && slot < store.count)
        links[slot].clock = clock
        guard lruTail != index else { return }
        let previous = links[slot].previous
        let next = links[slot].next
        if previous >= 0 { links[Int(previous)].next = next } else { lruHead = next }
        if next >= 0 { links[Int(next)].previous = previous } else { lruTail = previous }
        links[slot].previous = lruTail
        links[slot].next = -1
        if lruTail >= 0 { links[Int(lruTail)].next = index } else { lruHead = index }
        lruTail = index
    }

    /// Makes `store` this reassembler's own before a change (a copy of the reassembler shares it).
    @inline(__always)
    private mutating func ownStore() {
        if !isKnownUniquelyReferenced(&store) { store = store.copy() }
    }
}
