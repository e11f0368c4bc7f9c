import Wire

/// A hash table from ``FlowKey`` to a small value, looked up once per segment.
///
/// `Dictionary` ran SipHash through `Hasher` per lookup (~340 instructions). Here a key is
/// folded by a keyed multiply-mix (``FlowKeyHasher``) whose seed is drawn per table, so a
/// capture cannot choose tuples that collide without knowing it.
///
/// Open addressing with linear probing and backward-shift deletion (no tombstones), so probe
/// runs stay as short under a sliding window of open and closed flows as after inserts alone;
/// grows past 3/4 load (at 1/2, a few hundred open flows doubled it at an unlucky count:
/// 263 took 1,024 slots, now 512). Each slot keeps its key's hash (never 0; 0 marks an
/// empty slot), so a probe compares keys only on a full hash match and a removal shifts
/// without rehashing.
/// Slot order depends on the seed: callers that iterate must sort what they get.
struct FlowKeyTable<Value> {
    private var hashes: [UInt64] = []
    private var keys: [FlowKey] = []
    private var values: [Value] = []
    /// Fills the slots of `values` that hold nothing.
    private let filler: Value
    private let hasher: FlowKeyHasher
    private(set) var count = 0
    /// 64 minus log2 of the capacity (the home slot is the hash's top bits).
    private var shift: UInt64 = 64
    /// Slots a lookup, insert or removal walked past its key's home slot, in total
    /// (tests check that probe runs stay short).
    private(set) var probeSteps = 0

    /// - Parameters:
    ///   - seed: the hash key; draw it at random (tests pass a fixed one).
    ///   - filler: a value for empty slots (never returned).
    init(seed: UInt64, filler: Value) {
        hasher = FlowKeyHasher(seed: seed)
        self.filler = filler
    }

    /// Slots allocated (a power of two, or 0 before the first insert).
    var capacity: Int { hashes.count }

    subscript(key: FlowKey) -> Value? {
        @inline(__always) get {
            guard let slot = slot(of: key) else { return nil }
            return values[slot]
        }
    }

    /// The slot holding `key`, for ``value(at:)`` and ``update(at:_:)``; valid until the next insert or removal.
    @inline(__always)
    func slot(of key: FlowKey) -> Int? {
        guard count > 0 else { return nil }
        let hash = hasher.hash(key)
        let mask = hashes.count - 1
        var slot = Int(truncatingIfNeeded: hash >> shift)
        return hashes.withUnsafeBufferPointer { hashes in
            keys.withUnsafeBufferPointer { keys in
                while true {
                    let stored = hashes[slot]
                    if stored == hash && keys[slot] == key { return slot }
                    if stored == 0 { return nil }
                    slot = (slot &+ 1) & mask
                }
            }
        }
    }

    @inline(__always)
    func value(at slot: Int) -> Value { values[slot] }

    @inline(__always)
    mutating func update(at slot: Int, _ body: (inout Value) -> Void) { body(&values[slot]) }

    /// Adds `key` or replaces its value.
    mutating func insert(_ value: Value, for key: FlowKey) {
        if (count + 1) * 4 > hashes.count * 3 { grow() }
        let hash = hasher.hash(key)
        let mask = hashes.count - 1
        var slot = Int(truncatingIfNeeded: hash >> shift)
        while hashes[slot] != 0 {
            if hashes[slot] == hash && keys[slot] == key {
                values[slot] = value
                return
            }
            slot = (slot &+ 1) & mask
            probeSteps &+= 1
        }
        hashes[slot] = hash
        keys[slot] = key
        values[slot] = value
        count += 1
    }

    /// Removes `key` and returns its value.
    @discardableResult
    mutating func remove(_ key: FlowKey) -> Value? {
        guard let slot = slot(of: key) else { return nil }
        return remove(at: slot)
    }

    /// Removes the entry in `slot` (from ``slot(of:)``) and returns its value.
    @discardableResult
    mutating func remove(at slot: Int) -> Value? {
        guard slot >= 0, slot < hashes.count, hashes[slot] != 0 else { return nil }
        let removed = values[slot]
        let mask = hashes.count - 1
        // Backward shift: pull later entries of the probe run into the hole.
        var hole = slot
        var next = (hole &+ 1) & mask
        while hashes[next] != 0 {
            let home = Int(truncatingIfNeeded: hashes[next] >> shift)
            // Move `next` into `hole` unless its home lies cyclically in (hole, next].
            if (hole &- home) & mask < (next &- home) & mask {
                hashes[hole] = hashes[next]
                keys[hole] = keys[next]
                values[hole] = values[next]
                hole = next
            }
            next = (next &+ 1) & mask
            probeSteps &+= 1
        }
        hashes[hole] = 0
        values[hole] = filler
        count -= 1
        return removed
    }

    /// Empties the table; its slots are freed unless `keepingCapacity`.
    mutating func removeAll(keepingCapacity: Bool = false) {
        guard keepingCapacity else {
            hashes = []
            keys = []
            values = []
            shift = 64
            count = 0
            return
        }
        guard count > 0 else { return }
        for slot in hashes.indices where hashes[slot] != 0 {
            hashes[slot] = 0
            values[slot] = filler
        }
        count = 0
    }

    /// Calls `body` with every entry, in slot order (which depends on the seed).
    func forEach(_ body: (FlowKey, Value) -> Void) {
        for slot in hashes.indices where hashes[slot] != 0 { body(keys[slot], values[slot]) }
    }

    private mutating func grow() {
        let oldHashes = hashes
        let oldKeys = keys
        let oldValues = values
        let capacity = max(16, hashes.count * 2)
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        hashes = [UInt64](repeating: 0, count: capacity)
        keys = [FlowKey](repeating: FlowKey.placeholder, count: capacity)
        values = [Value](repeating: filler, count: capacity)
        let mask = capacity - 1
        for old in oldHashes.indices where oldHashes[old] != 0 {
            var slot = Int(truncatingIfNeeded: oldHashes[old] >> shift)
            while hashes[slot] != 0 { slot = (slot &+ 1) & mask }
            hashes[slot] = oldHashes[old]
            keys[slot] = oldKeys[old]
            values[slot] = oldValues[old]
        }
    }
}

/// A keyed hash of flow keys: 64-bit multiply-mix rounds (the `mum` of wyhash: the two
/// halves of a 128-bit product, xored) over the key's words, each xored with a word of the
/// seed. A few dozen instructions instead of SipHash's few hundred; without the seed the
/// home slots of crafted tuples cannot be predicted.
struct FlowKeyHasher {
    private let s0: UInt64
    private let s1: UInt64
    private let s2: UInt64
    private let s3: UInt64

    init(seed: UInt64) {
        var state = seed
        func next() -> UInt64 {
            // SplitMix64: spreads one seed into independent words.
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = next()
        s1 = next()
        s2 = next()
        s3 = next()
    }

    @inline(__always)
    private static func mum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    /// Never 0 (0 marks an empty slot); the top bits pick the home slot.
    @inline(__always)
    func hash(_ key: FlowKey) -> UInt64 {
        let ports = UInt64(key.low.port) << 16 | UInt64(key.high.port)
        let mixed: UInt64
        switch (key.low.address, key.high.address) {
        case (.v4(let a), .v4(let b)):
            mixed = Self.mum((UInt64(a) << 32 | UInt64(b)) ^ s0, ports ^ s1)
        case (.v6(let ah, let al), .v6(let bh, let bl)):
            let first = Self.mum(ah ^ s0, al ^ s1)
            let second = Self.mum(bh ^ s2, bl ^ s3)
            mixed = Self.mum(first ^ ports ^ s1, second ^ s2)
        case (.v4(let a), .v6(let bh, let bl)):
            let second = Self.mum(bh ^ s2, bl ^ s3)
            mixed = Self.mum(UInt64(a) ^ ports ^ s1, second ^ s0)
        case (.v6(let ah, let al), .v4(let b)):
            let first = Self.mum(ah ^ s0, al ^ s1)
            mixed = Self.mum(first ^ ports ^ s3, UInt64(b) ^ s2)
        }
        // A final round spreads the result into the top bits used as the home slot.
        return Self.mum(mixed ^ s2, 0x9E37_79B9_7F4A_7C15 ^ s3) | 1
    }
}

extension FlowKey {
    /// Fills empty table slots (never compared: their hash is 0).
    static var placeholder: FlowKey { FlowKey(Endpoint(address: .v4(0), port: 0), Endpoint(address: .v4(0), port: 0)) }
}
