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

    var capacity: Int { Int(limit) }

    /// Whether the entries' storage is allocated (it is on the first chunk).
    var hasStorage: Bool { entries.capacity > 0 }

    init(capacity: Int) {
        limit = Int32(clamping: max(1, capacity))
    }

    mutating func append(offset: UInt64, length: Int, frame: UInt64, timestampNanoseconds: Int64) {
        guard length > 0 else { return }
        let entry = Entry(offset: offset, length: length, frame: frame, timestampNanoseconds: timestampNanoseconds)
        if entries.count < capacity {
            if entries.isEmpty { entries.reserveCapacity(capacity) }
            entries.append(entry)
        } else {
            entries[Int(next)] = entry
            next = next + 1 == limit ? 0 : next + 1
        }
    }

    /// Forgets every chunk, keeping the storage (a tracker reused for another flow).
    mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        next = 0
    }

    /// The chunk holding stream byte `offset`, if still remembered.
    func entry(containing offset: UInt64) -> Entry? {
        entries.first { $0.offset <= offset && offset < $0.end }
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
