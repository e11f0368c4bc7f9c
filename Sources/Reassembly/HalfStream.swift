/// One direction of a flow: where its stream offsets start, what has been
/// delivered, what waits behind a hole, and whether it has ended. Its size is
/// fixed; only out-of-order pieces, a held zero-window probe and (from the first
/// delivered byte or gap) the tail window use the heap.
/// Fields are ordered to keep padding small: a flow table holds two per flow.
struct HalfStream {
    enum Phase: UInt8 { case unseen, open, ended }

    /// A one-byte zero-window probe held aside: it becomes data only if the
    /// receiver turns out to have accepted it, so a later resend of the same
    /// byte is not reported as a retransmission. Rare, so held out of line
    /// (immutable, so sharing it between copies is safe).
    final class Probe {
        let offset: UInt64
        let byte: UInt8
        let segment: SegmentInfo

        init(offset: UInt64, byte: UInt8, segment: SegmentInfo) {
            self.offset = offset
            self.byte = byte
            self.segment = segment
        }
    }

    /// A segment's stream range after trimming, ready to apply.
    struct Prepared {
        var start: UInt64
        var end: UInt64
        /// Captured payload of `[start, start + bytes.count)`.
        var bytes: UnsafeRawBufferPointer
        var segment: SegmentInfo
    }

    let flow: FlowID
    let direction: FlowDirection
    var phase = Phase.unseen
    /// `base` is the ISN + 1 (a SYN was seen) rather than the first sequence number seen.
    var isnKnown = false
    var windowSeen = false
    /// Sequence number of stream offset 0.
    var base: UInt32 = 0
    /// Next stream offset to deliver.
    var next: UInt64 = 0
    /// End of the highest byte seen (delivered or buffered).
    var highest: UInt64 = 0
    var finOffset: UInt64?
    /// Last window this side advertised (raw, unscaled).
    var window: UInt16 = 0
    /// Window scale from this side's SYN (RFC 7323), 0 when not offered.
    var windowScale: UInt8 = 0
    var finFrame: UInt64 = 0
    var finTimestamp: Int64 = 0
    /// Capture time since the current first hole has been open.
    var holeSince: Int64 = 0
    var pending = OutOfOrderBuffer()
    /// The tail window, out of line: a direction that never delivers a byte (one SYN of a
    /// flood) holds none. Nil means the initial, empty window.
    private var tailBox: TailBox?
    var probe: Probe?

    init(flow: FlowID, direction: FlowDirection) {
        self.flow = flow
        self.direction = direction
    }

    /// Holds a ``TailWindow`` out of line. Unchecked access: only ``uniqueTail()`` hands it
    /// out for writing, to one caller at a time.
    final class TailBox {
        @exclusivity(unchecked) var window: TailWindow

        init(_ window: TailWindow) { self.window = window }
    }

    /// Makes the tail window writable: allocated on first use, copied first if a copy of
    /// this direction still shares it (value semantics). Then written in place through
    /// `tailBox?.window` (handing the box out cost a retain and release per delivery).
    @inline(__always)
    private mutating func makeTailUnique() {
        if !isKnownUniquelyReferenced(&tailBox) {
            tailBox = TailBox(tailBox?.window ?? TailWindow())
        }
    }

    /// Gives this direction a tail box of its own if it holds one a copy shares (a store's copy
    /// calls it for every slot, so that each store's flows own their boxes; see `tailOwned`).
    mutating func ownTailBox() {
        if tailBox != nil { makeTailUnique() }
    }

    /// Hands this direction's tail box out for reuse by another flow (the flow is being
    /// removed), unless a copy of this direction still shares it.
    mutating func takeTailBox() -> TailBox? {
        defer { tailBox = nil }
        guard isKnownUniquelyReferenced(&tailBox) else { return nil }
        return tailBox
    }

    /// Starts this (new) direction with a recycled box: its window is reset whole, so it
    /// holds what a fresh one would.
    mutating func adoptTailBox(_ box: TailBox) {
        box.window = TailWindow()
        tailBox = box
    }

    mutating func open(base: UInt32, isnKnown: Bool) {
        phase = .open
        self.base = base
        self.isnKnown = isnKnown
    }

    /// Stream offset of `sequenceNumber`, wrap-aware: the 32-bit distance to
    /// the next expected sequence number is taken as signed.
    func offset(of sequenceNumber: UInt32) -> Int64 {
        let expected = base &+ UInt32(truncatingIfNeeded: next)
        return Int64(bitPattern: next) &+ Int64(Int32(bitPattern: sequenceNumber &- expected))
    }

    // MARK: - Delivery

    /// Inlined into the in-order fast path (out of line it cost a call and a second copy of the event).
    /// `tailOwned`: the caller knows no copy shares this direction's tail box (a flow in the
    /// reassembler's own store; see ``SlotStore/copy()``), so a box it holds is written without
    /// a uniqueness check (a runtime call per delivered segment).
    @inline(__always)
    mutating func deliver(
        _ bytes: UnsafeRawBufferPointer, segment: SegmentInfo, inPlace: Bool, tailOwned: Bool = false,
        statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void
    ) {
        guard !bytes.isEmpty else { return }
        emit(.data(flow, direction, offset: next, bytes: bytes, segment: segment))
        if !tailOwned || tailBox == nil { makeTailUnique() }
        tailBox?.window.record(bytes, at: next)
        next &+= UInt64(bytes.count)
        highest = max(highest, next)
        if inPlace {
            statistics.bytesDeliveredInPlace &+= UInt64(bytes.count)
        } else {
            statistics.bytesDeliveredFromStorage &+= UInt64(bytes.count)
        }
    }

    /// Declares `[next, end)` missing and moves past it.
    mutating func skip(
        to end: UInt64, reason: GapReason, statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void
    ) {
        guard end > next else { return }
        let length = end - next
        emit(.gap(flow, direction, offset: next, length: length, reason: reason))
        switch reason {
        case .captureLoss: statistics.captureLossBytes &+= length
        case .limit: statistics.limitGapBytes &+= length
        case .snaplen: statistics.snaplenGapBytes &+= length
        case .holeAtEnd: statistics.holeAtEndBytes &+= length
        }
        next = end
        highest = max(highest, next)
        makeTailUnique()
        tailBox?.window.invalidate(before: next)
    }

    /// Releases one stored piece from `next` on (it must start at or before `next`).
    private mutating func release(
        _ piece: PendingPiece, statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void
    ) {
        guard piece.end > next, piece.offset <= next else { return }
        if piece.bytes.isEmpty {
            skip(to: piece.end, reason: .snaplen, statistics: &statistics, emit: emit)
        } else {
            let skipFront = Int(next - piece.offset)
            piece.bytes.withUnsafeBytes { held in
                deliver(
                    UnsafeRawBufferPointer(rebasing: held[skipFront...]), segment: piece.segment, inPlace: false,
                    statistics: &statistics, emit: emit)
            }
        }
    }

    /// Releases the stored pieces that have become contiguous. Per delivered segment, and
    /// nearly always with nothing stored: that is tested inline.
    @inline(__always)
    mutating func releaseReady(statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void) {
        guard !pending.isEmpty else { return }
        releaseStored(statistics: &statistics, emit: emit)
    }

    private mutating func releaseStored(statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void) {
        var released = 0
        while released < pending.count {
            let piece = pending.pieces[released]
            guard piece.offset <= next else { break }
            release(piece, statistics: &statistics, emit: emit)
            released += 1
        }
        pending.removeFirst(released)
        if let fin = finOffset, next >= fin, phase == .open {
            // Pieces stored before the FIN was known may reach past it.
            for piece in pending.pieces { statistics.bytesAfterFin &+= piece.length }
            pending.removeAll()
        }
    }

    /// Forces the first hole out as a gap and releases what follows it.
    /// Returns false when nothing was buffered.
    @discardableResult
    mutating func forceFirstHole(
        reason: GapReason, statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void
    ) -> Bool {
        guard let first = pending.first else { return false }
        skip(to: first.offset, reason: reason, statistics: &statistics, emit: emit)
        releaseReady(statistics: &statistics, emit: emit)
        return true
    }

    /// Delivers a held zero-window probe byte (the receiver accepted it).
    mutating func deliverProbe(statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void) {
        guard let held = probe else { return }
        probe = nil
        guard held.offset == next else { return }
        withUnsafeBytes(of: held.byte) { byte in
            deliver(byte, segment: held.segment, inPlace: false, statistics: &statistics, emit: emit)
        }
        releaseReady(statistics: &statistics, emit: emit)
    }

    /// Settles a held probe before a segment at `start`: a resend of the same
    /// byte replaces it; a segment beyond it shows the receiver accepted it.
    mutating func settleProbe(before start: Int64, statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void) {
        guard let held = probe else { return }
        if start == Int64(bitPattern: held.offset) {
            probe = nil
        } else if start > Int64(bitPattern: held.offset) {
            deliverProbe(statistics: &statistics, emit: emit)
        }
    }

    // MARK: - Segments

    /// Trims a segment (bytes before offset 0, bytes after a FIN), records its
    /// FIN, and returns what is left to apply, or nil when nothing is.
    mutating func prepare(
        start rawStart: Int64, payload: UnsafeRawBufferPointer, wireLength: Int, fin: Bool, segment: SegmentInfo,
        statistics: inout ReassemblyStatistics
    ) -> Prepared? {
        var bytes = payload
        var wire = Int64(wireLength)
        var start = rawStart
        if start < 0 {
            let drop = min(-start, wire)
            statistics.bytesBeforeStreamStart &+= UInt64(drop)
            bytes = UnsafeRawBufferPointer(rebasing: bytes[min(Int(drop), bytes.count)...])
            wire -= drop
            start = 0
            if fin && wire == 0 && rawStart + Int64(wireLength) < 0 { return nil }
        }
        let first = UInt64(start)
        var end = first &+ UInt64(wire)
        if fin && finOffset == nil {
            finOffset = end
            finFrame = segment.frame
            finTimestamp = segment.timestampNanoseconds
        }
        if let fin = finOffset, end > fin {
            statistics.bytesAfterFin &+= end - max(fin, first)
            end = max(fin, first)
            let keep = Int(clamping: end - first)
            bytes = UnsafeRawBufferPointer(rebasing: bytes[..<min(keep, bytes.count)])
        }
        return Prepared(start: first, end: end, bytes: bytes, segment: segment)
    }

    /// Applies a prepared segment: delivers what is in order (from the
    /// caller's buffer), stores what is ahead, reports what repeats.
    mutating func apply(
        _ segment: Prepared, comparedTailBytes: Int, statistics: inout ReassemblyStatistics,
        emit: (StreamEvent) -> Void
    ) {
        let start = segment.start
        let end = segment.end
        let capturedEnd = start &+ UInt64(segment.bytes.count)
        var report = RetransmissionReport(flow: flow, direction: direction, segment: segment.segment)

        if start < next && end > start {
            let overlapEnd = min(end, next)
            let comparable = min(overlapEnd, capturedEnd)
            var compared: UInt64 = 0
            var differs = false
            if comparable > start {
                let slice = UnsafeRawBufferPointer(rebasing: segment.bytes[0..<Int(comparable - start)])
                (compared, differs) = (tailBox?.window ?? TailWindow()).compare(slice, at: start, deliveredEnd: next, keep: comparedTailBytes)
            }
            report.add(from: start, to: overlapEnd, compared: compared, differs: differs, statistics: &statistics, emit: emit)
        }

        if end <= next {
            report.flush(emit: emit)
        } else if start > next {
            statistics.outOfOrderSegments &+= 1
            highest = max(highest, end)
            pending.insert(start: start, end: end, bytes: segment.bytes, segment: segment.segment) {
                from, to, compared, differs in
                report.add(from: from, to: to, compared: compared, differs: differs, statistics: &statistics, emit: emit)
            }
            report.flush(emit: emit)
        } else {
            var released = 0
            while next < end {
                if released < pending.count, pending.pieces[released].offset <= next {
                    let piece = pending.pieces[released]
                    released += 1
                    guard piece.end > next else { continue }
                    let overlapEnd = min(end, piece.end)
                    let (compared, differs) = OutOfOrderBuffer.compare(
                        segment.bytes, segmentStart: start, piece: piece, from: next, to: overlapEnd)
                    let overlapStart = next
                    release(piece, statistics: &statistics, emit: emit)
                    report.add(from: overlapStart, to: overlapEnd, compared: compared, differs: differs, statistics: &statistics, emit: emit)
                } else {
                    report.flush(emit: emit)
                    let upto = min(end, released < pending.count ? pending.pieces[released].offset : end)
                    if next < capturedEnd {
                        let stop = min(upto, capturedEnd)
                        let slice = UnsafeRawBufferPointer(rebasing: segment.bytes[Int(next - start)..<Int(stop - start)])
                        deliver(slice, segment: segment.segment, inPlace: true, statistics: &statistics, emit: emit)
                    } else {
                        skip(to: upto, reason: .snaplen, statistics: &statistics, emit: emit)
                    }
                }
            }
            pending.removeFirst(released)
            report.flush(emit: emit)
            releaseReady(statistics: &statistics, emit: emit)
        }
    }

    /// The peer acknowledged up to `acknowledgment`: bytes it acknowledges
    /// that the capture never showed are declared lost.
    /// Per packet, so the common case (nothing new acknowledged) is tested inline.
    @inline(__always)
    mutating func acknowledge(
        _ acknowledgment: UInt32, statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void
    ) {
        guard phase == .open else { return }
        let acked = offset(of: acknowledgment)
        guard acked > Int64(bitPattern: next) else { return }
        acknowledge(upTo: acked, statistics: &statistics, emit: emit)
    }

    private mutating func acknowledge(
        upTo acked: Int64, statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void
    ) {
        if let held = probe, acked > Int64(bitPattern: held.offset) {
            deliverProbe(statistics: &statistics, emit: emit)
        }
        var target = UInt64(acked)
        if let fin = finOffset { target = min(target, fin) }
        guard target > next else { return }
        guard target - next <= 1 << 30 else {
            statistics.implausibleAcks &+= 1
            return
        }
        while next < target {
            if let piece = pending.first, piece.offset <= next {
                releaseReady(statistics: &statistics, emit: emit)
            } else {
                let holeEnd = min(target, pending.first?.offset ?? target)
                skip(to: holeEnd, reason: .captureLoss, statistics: &statistics, emit: emit)
            }
        }
        releaseReady(statistics: &statistics, emit: emit)
    }

    /// Ends the direction if its FIN has been reached.
    @inline(__always)
    mutating func endIfFinReached(emit: (StreamEvent) -> Void) {
        guard phase == .open, let fin = finOffset, next >= fin else { return }
        endAtFin(emit: emit)
    }

    private mutating func endAtFin(emit: (StreamEvent) -> Void) {
        phase = .ended
        emit(.end(flow, direction, reason: .fin, frame: finFrame, timestampNanoseconds: finTimestamp))
        self.pending.removeAll()
    }

    /// Ends the direction now: a held probe is delivered, every hole (and the
    /// bytes up to a seen FIN) is reported as `holeAtEnd`, buffered bytes are
    /// released, then `end` follows. A FIN already seen wins over `idle` and
    /// `captureEnd` as the reason.
    mutating func finish(
        reason: StreamEndReason, frame: UInt64, timestampNanoseconds: Int64,
        statistics: inout ReassemblyStatistics, emit: (StreamEvent) -> Void
    ) {
        guard phase != .ended else { return }
        if phase == .open {
            deliverProbe(statistics: &statistics, emit: emit)
            while forceFirstHole(reason: .holeAtEnd, statistics: &statistics, emit: emit) {}
            if let fin = finOffset {
                skip(to: fin, reason: .holeAtEnd, statistics: &statistics, emit: emit)
            }
        }
        phase = .ended
        pending.removeAll()
        if finOffset != nil && (reason == .idle || reason == .captureEnd) {
            emit(.end(flow, direction, reason: .fin, frame: finFrame, timestampNanoseconds: finTimestamp))
        } else {
            emit(.end(flow, direction, reason: reason, frame: frame, timestampNanoseconds: timestampNanoseconds))
        }
    }
}

/// Collects adjacent repeated ranges of one segment into one
/// ``StreamEvent/retransmission(_:_:offset:length:segment:conflicting:)``.
struct RetransmissionReport {
    let flow: FlowID
    let direction: FlowDirection
    let segment: SegmentInfo
    private var start: UInt64 = 0
    private var end: UInt64 = 0
    private var conflicting = false
    private var counted = false

    init(flow: FlowID, direction: FlowDirection, segment: SegmentInfo) {
        self.flow = flow
        self.direction = direction
        self.segment = segment
    }

    mutating func add(
        from: UInt64, to: UInt64, compared: UInt64, differs: Bool, statistics: inout ReassemblyStatistics,
        emit: (StreamEvent) -> Void
    ) {
        guard to > from else { return }
        if !counted {
            statistics.retransmittedSegments &+= 1
            counted = true
        }
        statistics.retransmittedBytesNotCompared &+= (to - from) - min(compared, to - from)
        if differs { statistics.conflictingRanges &+= 1 }
        if end > start && from == end {
            end = to
            conflicting = conflicting || differs
        } else {
            flush(emit: emit)
            start = from
            end = to
            conflicting = differs
        }
    }

    mutating func flush(emit: (StreamEvent) -> Void) {
        guard end > start else { return }
        emit(.retransmission(flow, direction, offset: start, length: Int(clamping: end - start), segment: segment, conflicting: conflicting))
        start = 0
        end = 0
        conflicting = false
    }
}
