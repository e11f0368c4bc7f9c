/// Open-addressing hash index from an identity's 32-bit hash to its ``MessageTable`` slot:
/// at most 3/4 of the buckets used, linear probing, deletion by shifting later members of
/// the run back (no tombstones, so lookups stay short after many evictions). Equal hashes
/// are allowed: the caller tells apart the slots a probe offers. The hashes themselves
/// live in the slots. Buckets are 2 bytes while every slot number + 1 fits in 16 bits (a
/// table of at most 65,534 identities: the default 50,000), else 4: the index is half the
/// size for the usual limits, and widens itself the first time a larger slot comes.
struct SlotIndex: Sendable {
    /// Slot + 1 per bucket; 0 is empty. A power of two in size, or empty. One of the two
    /// is used: `narrow` until a slot number + 1 does not fit in it.
    private var narrow: [UInt16] = []
    private var wide: [UInt32] = []
    private(set) var isWide = false
    private(set) var count = 0
    /// Bytes allocated for the buckets.
    var capacityBytes: Int { isWide ? wide.capacity * 4 : narrow.capacity * 2 }

    private var bucketCount: Int { isWide ? wide.count : narrow.count }
    private var mask: Int { bucketCount - 1 }

    private func home(_ hash: UInt32) -> Int { Int(truncatingIfNeeded: hash) & mask }

    @inline(__always)
    private func bucket(_ at: Int) -> Int { isWide ? Int(wide[at]) : Int(narrow[at]) }

    @inline(__always)
    private mutating func setBucket(_ at: Int, _ value: Int) {
        if isWide { wide[at] = UInt32(truncatingIfNeeded: value) } else { narrow[at] = UInt16(truncatingIfNeeded: value) }
    }

    /// Offers each slot filed under `hash`, in probe order, until `matches` accepts one.
    func first(hash: UInt32, slots: SlotPages, where matches: (Int) -> Bool) -> Int? {
        guard bucketCount > 0 else { return nil }
        var at = home(hash)
        while bucket(at) != 0 {
            let slot = bucket(at) - 1
            if slots[slot].hash == hash && matches(slot) { return slot }
            at = (at + 1) & mask
        }
        return nil
    }

    /// Files `slot` (below `UInt32.max`) under `hash`.
    mutating func insert(_ slot: Int, hash: UInt32, slots: SlotPages) {
        if !isWide && slot + 1 > Int(UInt16.max) { widen() }
        if (count + 1) * 4 > bucketCount * 3 { grow(slots: slots) }
        var at = home(hash)
        while bucket(at) != 0 { at = (at + 1) & mask }
        setBucket(at, slot + 1)
        count += 1
    }

    /// Unfiles `slot`, which must be filed under `hash`.
    mutating func remove(_ slot: Int, hash: UInt32, slots: SlotPages) {
        guard bucketCount > 0 else { return }
        var hole = home(hash)
        while bucket(hole) != slot + 1 {
            guard bucket(hole) != 0 else { return }
            hole = (hole + 1) & mask
        }
        setBucket(hole, 0)
        count -= 1
        // Move back every later member of the run whose home is not between the hole and it.
        var at = (hole + 1) & mask
        while bucket(at) != 0 {
            let wanted = home(slots[bucket(at) - 1].hash)
            if (at - wanted) & mask >= (at - hole) & mask {
                setBucket(hole, bucket(at))
                setBucket(at, 0)
                hole = at
            }
            at = (at + 1) & mask
        }
    }

    /// The same buckets, 4 bytes each from now on.
    private mutating func widen() {
        wide = narrow.map { UInt32($0) }
        narrow = []
        isWide = true
    }

    private mutating func grow(slots: SlotPages) {
        let old = isWide ? wide : narrow.map { UInt32($0) }
        let size = max(16, old.count * 2)
        if isWide { wide = [UInt32](repeating: 0, count: size) } else { narrow = [UInt16](repeating: 0, count: size) }
        for bucket in old where bucket != 0 {
            var at = home(slots[Int(bucket) - 1].hash)
            while self.bucket(at) != 0 { at = (at + 1) & mask }
            setBucket(at, Int(bucket))
        }
    }
}

/// ``MessageTable``'s slots in pages of a fixed size: the table grows a page at a time and
/// never copies the slots it holds (an array doubling holds the old and the new copy at
/// once: 1.5 MB for 32,768 slots of 24 bytes, at the moment the run's heap peaks).
struct SlotPages: Sendable {
    static let pageShift = 12
    static let pageSize = 1 << pageShift
    private var pages: [[MessageTable.Slot]] = []
    private(set) var count = 0

    var indices: Range<Int> { 0..<count }
    /// Slots the pages hold room for.
    var capacity: Int { pages.count * Self.pageSize }

    subscript(slot: Int) -> MessageTable.Slot {
        get { pages[slot >> Self.pageShift][slot & (Self.pageSize - 1)] }
        _modify { yield &pages[slot >> Self.pageShift][slot & (Self.pageSize - 1)] }
    }

    mutating func append(_ slot: MessageTable.Slot) {
        if count & (Self.pageSize - 1) == 0 {
            var page: [MessageTable.Slot] = []
            page.reserveCapacity(Self.pageSize)
            pages.append(page)
        }
        pages[pages.count - 1].append(slot)
        count += 1
    }
}
