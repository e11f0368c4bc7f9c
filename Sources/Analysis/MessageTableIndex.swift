/// Open-addressing hash index from an identity's 32-bit hash to its ``MessageTable`` slot:
/// 4 bytes per bucket, at most 3/4 of the buckets used, linear probing, deletion by
/// shifting later members of the run back (no tombstones, so lookups stay short after
/// many evictions). Equal hashes are allowed: the caller tells apart the slots a probe
/// offers. The hashes themselves live in the slots.
struct SlotIndex: Sendable {
    /// Slot + 1 per bucket; 0 is empty. A power of two in size, or empty.
    private var buckets: [UInt32] = []
    private(set) var count = 0
    var capacity: Int { buckets.capacity }

    private var mask: Int { buckets.count - 1 }

    private func home(_ hash: UInt32) -> Int { Int(truncatingIfNeeded: hash) & mask }

    /// Offers each slot filed under `hash`, in probe order, until `matches` accepts one.
    func first(hash: UInt32, slots: SlotPages, where matches: (Int) -> Bool) -> Int? {
        guard !buckets.isEmpty else { return nil }
        var at = home(hash)
        while buckets[at] != 0 {
            let slot = Int(buckets[at]) - 1
            if slots[slot].hash == hash && matches(slot) { return slot }
            at = (at + 1) & mask
        }
        return nil
    }

    /// Files `slot` (below `UInt32.max`) under `hash`.
    mutating func insert(_ slot: Int, hash: UInt32, slots: SlotPages) {
        if (count + 1) * 4 > buckets.count * 3 { grow(slots: slots) }
        var at = home(hash)
        while buckets[at] != 0 { at = (at + 1) & mask }
        buckets[at] = UInt32(truncatingIfNeeded: slot + 1)
        count += 1
    }

    /// Unfiles `slot`, which must be filed under `hash`.
    mutating func remove(_ slot: Int, hash: UInt32, slots: SlotPages) {
        guard !buckets.isEmpty else { return }
        var hole = home(hash)
        while buckets[hole] != UInt32(truncatingIfNeeded: slot + 1) {
            guard buckets[hole] != 0 else { return }
            hole = (hole + 1) & mask
        }
        buckets[hole] = 0
        count -= 1
        // Move back every later member of the run whose home is not between the hole and it.
        var at = (hole + 1) & mask
        while buckets[at] != 0 {
            let wanted = home(slots[Int(buckets[at]) - 1].hash)
            if (at - wanted) & mask >= (at - hole) & mask {
                buckets[hole] = buckets[at]
                buckets[at] = 0
                hole = at
            }
            at = (at + 1) & mask
        }
    }

    private mutating func grow(slots: SlotPages) {
        let old = buckets
        buckets = [UInt32](repeating: 0, count: max(16, old.count * 2))
        for bucket in old where bucket != 0 {
            var at = home(slots[Int(bucket) - 1].hash)
            while buckets[at] != 0 { at = (at + 1) & mask }
            buckets[at] = bucket
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
