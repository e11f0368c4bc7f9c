import Reassembly

/// The client's most recent delivered chunks (one per segment), so that the bytes of a
/// terminator, reported by offset, can be traced back to the frames that carried them.
/// Fixed capacity: memory per flow does not grow with message size. The storage is
/// allocated on the first client payload, so a flow that never carries any (e.g. one SYN
/// of a flood) holds none.
struct SegmentRing {
    struct Entry: Equatable {
        var offset: UInt64
        var length: Int
        var frame: UInt64
        var timestampNanoseconds: Int64
        var end: UInt64 { offset &+ UInt64(length) }
    }

    private var entries: [Entry] = []
    private var next: Int32 = 0
    private let limit: Int32
    /// The end of the latest chunk, and whether some chunk began before the end of the one
    /// before it (then more than one may hold a byte).
    private var lastEnd: UInt64 = 0
    private var overlapping = false

    var capacity: Int { Int(limit) }

    /// Whether the entries' storage is allocated (it is on the first chunk).
    var hasStorage: Bool { entries.capacity > 0 }

    init(capacity: Int) {
        limit = Int32(clamping: max(1, capacity))
    }

    mutating func append(offset: UInt64, length: Int, frame: UInt64, timestampNanoseconds: Int64) {
        guard length > 0 else { return }
        let entry = Entry(offset: offset, length: length, frame: frame, timestampNanoseconds: timestampNanoseconds)
        if offset < lastEnd { overlapping = true }
        lastEnd = entry.end
        if entries.count < capacity {
            if entries.isEmpty { entries.reserveCapacity(capacity) }
            entries.append(entry)
        } else {
            entries[Int(next)] = entry
            next = next + 1 == limit ? 0 : next + 1
        }
    }

    /// The latest chunk, when chunks do not overlap (then it alone holds each of its bytes).
    var newestOfOrdered: Entry? {
        guard !overlapping, !entries.isEmpty else { return nil }
        let count = entries.count
        return entries[count < capacity || next == 0 ? count - 1 : Int(next) - 1]
    }

    /// Forgets every chunk, keeping the storage (a tracker reused for another flow).
    mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        next = 0
        lastEnd = 0
        overlapping = false
    }

    /// The chunk holding stream byte `offset`, if still remembered (the one in the lowest slot
    /// if chunks overlap). Chunks come in stream order and, unless `overlapping`, each starts
    /// at or after the end of the one before: then at most one holds `offset`, and the search
    /// goes from the newest back, as the bytes asked about (a terminator) are nearly always
    /// among the latest.
    func entry(containing offset: UInt64) -> Entry? {
        entries.withUnsafeBufferPointer { all -> Entry? in
            let count = all.count
            guard count > 0 else { return nil }
            if overlapping {
                for entry in all where entry.offset <= offset && offset < entry.end { return entry }
                return nil
            }
            // The newest is just before `next` once the ring is full, else the last.
            let newest = count < capacity ? count - 1 : (Int(next) == 0 ? count - 1 : Int(next) - 1)
            var index = newest
            for _ in 0..<count {
                let entry = all[index]
                if entry.offset <= offset && offset < entry.end { return entry }
                index = index == 0 ? count - 1 : index - 1
            }
            return nil
        }
    }
}

/// Where a terminator's bytes fell: the frames, the split positions, the times.
struct TerminatorGeometry: Equatable {
    /// Distinct frames in byte order.
    var frameList: FrameList
    var frames: [UInt64] { Array(frameList) }
    /// Positions 1…length-1 after which a segment boundary falls (in place: at most four).
    var splitPositions: SplitPositions
    var splitAfter: [Int] { Array(splitPositions) }
    var firstTimestampNanoseconds: Int64
    var lastTimestampNanoseconds: Int64
    var lastFrame: UInt64
    /// False when a byte's segment was no longer remembered (geometry partial).
    var complete: Bool

    /// Traces bytes `[offset+from, offset+length)` through `ring` (positions stay counted from
    /// `offset`); nil when none is remembered.
    init?(offset: UInt64, length: Int, from: Int = 0, ring: SegmentRing) {
        // Nearly always all the bytes are in the latest chunk: one frame, no split.
        let lower = max(0, from)
        if length > lower, let newest = ring.newestOfOrdered,
            newest.offset <= offset &+ UInt64(lower), offset &+ UInt64(length) <= newest.end
        {
            self.frameList = FrameList(newest.frame)
            self.splitPositions = SplitPositions()
            self.firstTimestampNanoseconds = newest.timestampNanoseconds
            self.lastTimestampNanoseconds = newest.timestampNanoseconds
            self.lastFrame = newest.frame
            self.complete = true
            return
        }
        var frames = FrameList()
        var splits = SplitPositions()
        var previous: SegmentRing.Entry?
        var first: SegmentRing.Entry?
        var last: SegmentRing.Entry?
        var complete = true
        for position in max(0, from)..<max(max(0, from), length) {
            guard let entry = ring.entry(containing: offset &+ UInt64(position)) else {
                complete = false
                previous = nil
                continue
            }
            if let previous, previous != entry { splits.append(position) }
            if previous != entry, frames.last != entry.frame { frames.append(entry.frame) }
            if first == nil { first = entry }
            last = entry
            previous = entry
        }
        guard let first, let last else { return nil }
        self.frameList = frames
        self.splitPositions = splits
        self.firstTimestampNanoseconds = first.timestampNanoseconds
        self.lastTimestampNanoseconds = last.timestampNanoseconds
        self.lastFrame = last.frame
        self.complete = complete
    }
}
