import Reassembly

/// Open flows by ``FlowID``, looked up once or twice per segment. The reassembler hands out
/// flow indices, so a capture cannot choose colliding keys and a multiplicative (Fibonacci)
/// hash is enough (a `Dictionary` ran SipHash per lookup). Not the index itself as the slot:
/// the open flows are a sliding window of indices, which would fill one contiguous run, and
/// removing the oldest would then walk the whole run (a SYN flood took minutes).
///
/// Open addressing with linear probing and backward-shift deletion (no tombstones);
/// grows at 50 % load, so a lookup probes about 1.5 slots.
struct FlowIndexTable<Value> {
    private var keys: [Int] = []
    private var values: [Value?] = []
    private(set) var count = 0
    /// 64 minus log2 of the capacity.
    private var shift: UInt64 = 63
    /// Slots a removal walked past its own, in total (tests check removals stay short).
    private(set) var removalSteps = 0

    @inline(__always)
    private func home(_ key: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: Int64(key)) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    init() {}

    subscript(id: FlowID) -> Value? {
        guard count > 0 else { return nil }
        var slot = home(id.index)
        while true {
            let key = keys[slot]
            if key == id.index { return values[slot] }
            if key == Self.empty { return nil }
            slot = (slot + 1) & (keys.count - 1)
        }
    }

    /// Adds or replaces the value of `id`.
    mutating func insert(_ value: Value, for id: FlowID) {
        if (count + 1) * 2 > keys.count { grow() }
        var slot = home(id.index)
        while keys[slot] != Self.empty && keys[slot] != id.index { slot = (slot + 1) & (keys.count - 1) }
        if keys[slot] == Self.empty { count += 1 }
        keys[slot] = id.index
        values[slot] = value
    }

    /// Removes `id` and returns its value.
    @discardableResult
    mutating func remove(_ id: FlowID) -> Value? {
        guard count > 0 else { return nil }
        let mask = keys.count - 1
        var slot = home(id.index)
        while keys[slot] != id.index {
            if keys[slot] == Self.empty { return nil }
            slot = (slot + 1) & mask
        }
        let removed = values[slot]
        // Backward shift: pull later entries of the probe run into the hole.
        var hole = slot
        var next = (hole + 1) & mask
        while keys[next] != Self.empty {
            let homeSlot = home(keys[next])
            // Move `next` into `hole` unless its home lies cyclically in (hole, next].
            let distanceToNext = (next - homeSlot) & mask
            let distanceToHole = (hole - homeSlot) & mask
            if distanceToHole < distanceToNext {
                keys[hole] = keys[next]
                values[hole] = values[next]
                hole = next
            }
            next = (next + 1) & mask
            removalSteps &+= 1
        }
        keys[hole] = Self.empty
        values[hole] = nil
        count -= 1
        return removed
    }

    mutating func removeAll() {
        keys = []
        values = []
        count = 0
        shift = 63
    }

    /// Every key, ascending (flow order).
    var sortedIDs: [FlowID] {
        keys.filter { $0 != Self.empty }.sorted().map(FlowID.init)
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        let capacity = max(16, keys.count * 2)
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        keys = [Int](repeating: Self.empty, count: capacity)
        values = [Value?](repeating: nil, count: capacity)
        count = 0
        for (slot, key) in oldKeys.enumerated() where key != Self.empty {
            if let value = oldValues[slot] { insert(value, for: FlowID(key)) }
        }
    }

    /// Flow indices are never negative.
    private static var empty: Int { -1 }
}
