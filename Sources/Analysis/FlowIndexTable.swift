import Reassembly

/// Open flows by ``FlowID``, looked up once or twice per segment. The reassembler hands out
/// flow indices in sequence, so the index itself spreads keys evenly over a power-of-two
/// table: no hashing (a `Dictionary` ran SipHash per lookup), and no way for a capture to
/// choose colliding keys, since it never picks the indices.
///
/// Open addressing with linear probing and backward-shift deletion (no tombstones);
/// grows at 50 % load, so a lookup probes about 1.5 slots.
struct FlowIndexTable<Value> {
    private var keys: [Int] = []
    private var values: [Value?] = []
    private(set) var count = 0

    init() {}

    subscript(id: FlowID) -> Value? {
        guard count > 0 else { return nil }
        var slot = id.index & (keys.count - 1)
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
        var slot = id.index & (keys.count - 1)
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
        var slot = id.index & mask
        while keys[slot] != id.index {
            if keys[slot] == Self.empty { return nil }
            slot = (slot + 1) & mask
        }
        let removed = values[slot]
        // Backward shift: pull later entries of the probe run into the hole.
        var hole = slot
        var next = (hole + 1) & mask
        while keys[next] != Self.empty {
            let home = keys[next] & mask
            // Move `next` into `hole` unless its home lies cyclically in (hole, next].
            let distanceToNext = (next - home) & mask
            let distanceToHole = (hole - home) & mask
            if distanceToHole < distanceToNext || hole == home {
                keys[hole] = keys[next]
                values[hole] = values[next]
                hole = next
            }
            next = (next + 1) & mask
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
    }

    /// Every key, ascending (flow order).
    var sortedIDs: [FlowID] {
        keys.filter { $0 != Self.empty }.sorted().map(FlowID.init)
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        let capacity = max(16, keys.count * 2)
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
