import Testing

@testable import Analysis

/// `SegmentRing.entry(containing:)` searches from the newest chunk back when chunks follow one
/// another (at most one holds a byte); when some overlap it keeps the lowest slot's, as a
/// scan of the slots in order does. Both against such a scan, over a ring written as the ring
/// writes it (oldest slot overwritten once full).
@Suite struct DialogSegmentRingTests {
    /// The reference: the slots as the ring fills them, scanned from slot 0.
    struct Reference {
        let capacity: Int
        var slots: [SegmentRing.Entry] = []
        var next = 0

        mutating func append(_ entry: SegmentRing.Entry) {
            guard entry.length > 0 else { return }
            if slots.count < capacity {
                slots.append(entry)
            } else {
                slots[next] = entry
                next = (next + 1) % capacity
            }
        }

        func entry(containing offset: UInt64) -> SegmentRing.Entry? {
            slots.first { $0.offset <= offset && offset < $0.offset + UInt64($0.length) }
        }
    }

    @Test(arguments: 1...30)
    func newestFirstSearchMatchesASlotScan(seed: UInt64) {
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let capacity = Int(next() % 6) + 1
        var ring = SegmentRing(capacity: capacity)
        var reference = Reference(capacity: capacity)
        var offset: UInt64 = 0
        // Every third seed delivers some chunks again (overlapping ones), the others never.
        let overlaps = seed % 3 == 0
        for frame in 1...60 {
            let length = Int(next() % 7)  // zero-length chunks are not kept
            var at = offset
            if overlaps && next() % 4 == 0 { at = offset - min(offset, next() % 5) }
            if !overlaps && next() % 5 == 0 { at = offset + next() % 3 }  // a gap
            ring.append(offset: at, length: length, frame: UInt64(frame), timestampNanoseconds: Int64(frame) * 1000)
            reference.append(SegmentRing.Entry(offset: at, length: length, frame: UInt64(frame), timestampNanoseconds: Int64(frame) * 1000))
            offset = max(offset, at + UInt64(length))
            for probe in 0...(offset + 2) {
                #expect(ring.entry(containing: probe) == reference.entry(containing: probe), "offset \(probe) after frame \(frame)")
            }
        }
        ring.removeAll()
        #expect(ring.entry(containing: 0) == nil)
    }

    /// Terminator geometry takes a short cut when all its bytes are in the latest chunk; the
    /// byte-by-byte trace (written here as the general path does it) must agree everywhere.
    @Test(arguments: 1...30)
    func geometryShortCutMatchesTheByteTrace(seed: UInt64) {
        var state = seed &* 0xD1B5_4A32_D192_ED03
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var ring = SegmentRing(capacity: Int(next() % 4) + 1)
        var offset: UInt64 = 0
        for frame in 1...40 {
            let length = Int(next() % 9) + 1
            let at = seed % 4 == 0 && next() % 3 == 0 ? offset - min(offset, next() % 4) : offset
            ring.append(offset: at, length: length, frame: UInt64(frame), timestampNanoseconds: Int64(frame) * 10)
            offset = max(offset, at + UInt64(length))
            for start in (offset > 12 ? offset - 12 : 0)..<offset {
                let length = Int(next() % 5) + 1
                let from = Int(next() % 3)
                let got = TerminatorGeometry(offset: start, length: length, from: from, ring: ring)
                #expect(got == Self.traced(offset: start, length: length, from: from, ring: ring), "at \(start) length \(length) from \(from)")
            }
        }
    }

    /// The general path: each byte's chunk, in order.
    static func traced(offset: UInt64, length: Int, from: Int, ring: SegmentRing) -> TerminatorGeometry? {
        var frames: [UInt64] = []
        var splits: [Int] = []
        var previous: SegmentRing.Entry?
        var first: SegmentRing.Entry?
        var last: SegmentRing.Entry?
        var complete = true
        for position in max(0, from)..<max(max(0, from), length) {
            guard let entry = ring.entry(containing: offset + UInt64(position)) else {
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
        var geometry = TerminatorGeometry(offset: 0, length: 1, ring: {
            var one = SegmentRing(capacity: 1)
            one.append(offset: 0, length: 1, frame: 0, timestampNanoseconds: 0)
            return one
        }())
        geometry?.frameList = FrameList(frames)
        geometry?.splitPositions = SplitPositions(splits)
        geometry?.firstTimestampNanoseconds = first.timestampNanoseconds
        geometry?.lastTimestampNanoseconds = last.timestampNanoseconds
        geometry?.lastFrame = last.frame
        geometry?.complete = complete
        return geometry
    }

    /// Hand-computed: a full ring of three forgets the oldest chunk and finds each byte's frame.
    @Test func aFullRingFindsTheFramesOfTheLastChunks() {
        var ring = SegmentRing(capacity: 3)
        for (frame, range) in [(1, 0..<10), (2, 10..<15), (3, 15..<16), (4, 16..<30)] {
            ring.append(offset: UInt64(range.lowerBound), length: range.count, frame: UInt64(frame), timestampNanoseconds: 0)
        }
        #expect(ring.entry(containing: 9) == nil)  // frame 1 was overwritten
        #expect(ring.entry(containing: 10)?.frame == 2)
        #expect(ring.entry(containing: 15)?.frame == 3)
        #expect(ring.entry(containing: 29)?.frame == 4)
        #expect(ring.entry(containing: 30) == nil)
    }
}
