import Wire

/// Tuples of recently closed flows, kept briefly so that late ACKs, repeated FINs and
/// retransmissions after the close do not open a new (mid-stream) flow.
///
/// A closed flow keeps only its tuple and last packet time (a few dozen bytes instead of its
/// full state), for ``ReassemblyOptions/closedFlowRetentionNanoseconds`` of capture time after
/// its last packet, so memory depends on the rate of connections, not on capture length
/// (the ring and table shrink again when that rate falls).
/// Expiry runs in order of closing; a tuple refreshed by a late packet is requeued then.
///
/// Each tuple is stored once, in a FIFO ring of closings that also holds the last-seen
/// time of the closing that owns its tuple; the lookup table holds the ring position of that
/// closing (31 bits) and the top 32 bits of its tuple's hash (8 bytes a slot): a probe compares a
/// tuple in the ring only when those bits match, and the table is rearranged from them
/// alone (a packet of a new flow, looked up here first, reads no ring memory). A
/// connection-heavy minute keeps thousands of closed tuples: 28 bytes of ring (an IPv4
/// tuple in 12, ``TupleColumn``; the ring in chunks, so no more than is queued) and 9 to 18
/// of table each (at most 7/8 full), where the first layout kept 56 and 48 to 96, and a
/// dictionary plus queue twice that.
struct ClosedFlows {
    // The ring: positions grow without end, held in chunks of ``chunkSize`` elements; chunk `n`
    // (``firstChunk`` + its place in these arrays) holds positions `n * chunkSize ..< (n + 1) * chunkSize`.
    // A chunk is added as the tail enters it and dropped as the head leaves it, so the ring
    // follows what is queued within a chunk, never copies, and elements keep their place.
    private var ringKeys: [TupleColumn] = []
    private var ringSince: [[Int64]] = []
    /// Last packet time of the tuple, for the element its table slot names (stale elements: unused).
    private var ringLastSeen: [[Int64]] = []
    /// The chunk number of the first chunk held.
    private var firstChunk: UInt64 = 0
    /// The last chunk dropped, kept for the next one added (a steady rate allocates nothing).
    private var spare: (keys: TupleColumn, since: [Int64], lastSeen: [Int64])?
    private var head: UInt64 = 0
    private var tail: UInt64 = 0
    /// `ringSince` of the element at `head` (`max` while the ring is empty): ``expire(now:retention:)``
    /// reads it per packet without the ring's index arithmetic and bounds checks.
    private var oldestSince = Int64.max

    // The table: open addressing, linear probing, backward-shift deletion; per slot the top
    // 32 bits of the tuple's hash above its ring index + 1, 0 = empty. The home slot is the
    // top bits of the hash (at most 31 of them: the table has at most 2^31 slots).
    private var table: [UInt64] = []
    private var shift: UInt64 = 64
    private let hasher: FlowKeyHasher

    /// Closed tuples held.
    private(set) var count = 0

    /// `seed` keys the tuple hash (see ``FlowKeyHasher``).
    init(seed: UInt64) {
        hasher = FlowKeyHasher(seed: seed)
    }

    /// Ring elements in use, live or stale (tests: the ring stays bounded).
    var queued: Int { Int(tail &- head) }

    /// Ring elements and table slots allocated (tests: they follow what is held, both ways).
    var capacity: (ring: Int, table: Int) { (ringKeys.count * Self.chunkSize, table.count) }

    /// True when `key` is a closed flow seen within `retention` before `now`; its last-seen
    /// time becomes `now`. One seen longer ago is forgotten here, whether or not ``expire(now:retention:)``
    /// reached it yet: the answer depends on the tuple's own packets alone, not on the others queued.
    mutating func absorb(_ key: FlowKey, at now: Int64, retention: Int64) -> Bool {
        guard let slot = slot(of: key) else { return false }
        let (chunk, offset) = place(position(slot))
        let (idle, overflow) = now.subtractingReportingOverflow(ringLastSeen[chunk][offset])
        if !overflow && idle > retention {
            removeSlot(slot)
            return false
        }
        ringLastSeen[chunk][offset] = now
        return true
    }

    /// Forgets `key` (a new connection reuses the tuple). Its ring element goes stale.
    mutating func remove(_ key: FlowKey) {
        if let slot = slot(of: key) { removeSlot(slot) }
    }

    /// Keeps `key` as closed; past `limit` tuples the oldest is dropped first.
    /// Returns the number of tuples dropped for room.
    mutating func insert(_ key: FlowKey, lastSeen seen: Int64, limit: Int) -> Int {
        // The ring (at most twice the limit) is named in the table by 31 bits of position.
        let limit = min(max(limit, 1), 1 << 29)
        var dropped = 0
        // Stale elements (tuples removed or requeued) count toward the ring's bound too, so
        // the ring never holds more than twice the limit.
        while count >= limit || queued >= 2 * limit, let front = popFront() {
            if let slot = liveSlot(front.key, position: front.position) {
                removeSlot(slot)
                dropped += 1
            }
        }
        let hash = hasher.hash(key)
        let existing = slot(of: key, hash: hash)
        let element = append(key, since: seen)
        if let existing {
            // Closed again before it was forgotten: the new closing owns the tuple.
            table[existing] = Self.entry(tag: Self.tag(table[existing]), position: element)
        } else {
            insertSlot(hash: hash, position: element)
        }
        return dropped
    }

    /// Drops tuples with no packet for longer than `retention` before `now`.
    @inline(__always)
    mutating func expire(now: Int64, retention: Int64) {
        // Per packet: most calls find the oldest tuple still young.
        guard head != tail else { return }
        let (age, overflow) = now.subtractingReportingOverflow(oldestSince)
        guard !overflow, age > retention else { return }
        expireOldest(now: now, retention: retention)
    }

    private mutating func expireOldest(now: Int64, retention: Int64) {
        while head != tail {
            let (age, overflow) = now.subtractingReportingOverflow(oldestSince)
            guard !overflow, age > retention, let front = popFront() else { break }
            guard let slot = liveSlot(front.key, position: front.position) else { continue }
            let seen = front.lastSeen
            let (idle, idleOverflow) = now.subtractingReportingOverflow(seen)
            if !idleOverflow && idle > retention {
                removeSlot(slot)
            } else {
                // Refreshed by a late packet: it waits again from its last packet.
                table[slot] = Self.entry(tag: Self.tag(table[slot]), position: append(front.key, since: seen))
            }
        }
        shrinkIfSparse()
    }

    /// A busy spell leaves the table sized for its peak; once the tuples held fall to an eighth
    /// of it, it shrinks to four times what is held, so a capture whose connection rate falls
    /// gives the memory back (the ring does by itself, chunk by chunk). The margin keeps a
    /// steady rate from shrinking and growing in turn.
    private mutating func shrinkIfSparse() {
        if table.count > Self.smallestTable && count * 8 <= table.count {
            resizeTable(to: Self.powerOfTwo(atLeast: max(Self.smallestTable, count * 4)))
        }
    }

    static let chunkSize = 256
    private static let chunkShift: UInt64 = 8
    private static let smallestTable = 16

    private static func powerOfTwo(atLeast n: Int) -> Int {
        n <= 1 ? 1 : 1 << (Int.bitWidth - (n - 1).leadingZeroBitCount)
    }

    mutating func removeAll() {
        self = ClosedFlows(hasher: hasher)
    }

    private init(hasher: FlowKeyHasher) {
        self.hasher = hasher
    }

    // MARK: ring

    /// The chunk and offset of a queued position.
    private func place(_ position: UInt64) -> (chunk: Int, offset: Int) {
        (Int(truncatingIfNeeded: position >> Self.chunkShift &- firstChunk), Int(truncatingIfNeeded: position) & (Self.chunkSize - 1))
    }

    /// Appends a closing (last seen when it closed) and returns its position; a chunk is
    /// added when the tail enters it.
    private mutating func append(_ key: FlowKey, since: Int64) -> UInt64 {
        let (chunk, offset) = place(tail)
        if chunk == ringKeys.count {
            let fresh = spare ?? (TupleColumn(count: Self.chunkSize), [Int64](repeating: 0, count: Self.chunkSize), [Int64](repeating: 0, count: Self.chunkSize))
            spare = nil
            ringKeys.append(fresh.keys)
            ringSince.append(fresh.since)
            ringLastSeen.append(fresh.lastSeen)
        }
        ringKeys[chunk].set(offset, key)
        ringSince[chunk][offset] = since
        ringLastSeen[chunk][offset] = since
        if head == tail { oldestSince = since }
        let position = tail
        tail &+= 1
        return position
    }

    /// The oldest closing, with its tuple's last-seen time. Its element stays readable until
    /// the next pop (its tuple is compared while its slot is looked up).
    private mutating func popFront() -> (key: FlowKey, position: UInt64, lastSeen: Int64)? {
        guard head != tail else { return nil }
        if head >> Self.chunkShift != firstChunk {
            // The last pop left the first chunk: keep it for the next one the tail enters.
            spare = (ringKeys.removeFirst(), ringSince.removeFirst(), ringLastSeen.removeFirst())
            firstChunk &+= 1
        }
        let position = head
        let (chunk, offset) = place(position)
        let front = (ringKeys[chunk][offset], position, ringLastSeen[chunk][offset])
        head &+= 1
        if head != tail {
            let (next, at) = place(head)
            oldestSince = ringSince[next][at]
        } else {
            oldestSince = .max
        }
        return front
    }

    // MARK: table

    /// The position a used slot names: its low 31 bits are stored, and the positions named
    /// (the queued ones and the one popped last) span less than 2^31.
    private func position(_ slot: Int) -> UInt64 {
        let base = head &- 1
        return base &+ (table[slot] &- base) & 0x7FFF_FFFF
    }

    /// The top 32 bits of a tuple's hash, or of a table entry (the same bits: see `table`).
    private static func tag(_ bits: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: bits >> 32) }

    /// Bit 31 marks the slot used (an entry is never 0).
    private static func entry(tag: UInt32, position: UInt64) -> UInt64 {
        UInt64(tag) << 32 | 0x8000_0000 | position & 0x7FFF_FFFF
    }

    private func home(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> shift) }

    /// The home slot of an entry, from its hash bits (`shift` is at least 33).
    private func home(entry: UInt64) -> Int { Int(truncatingIfNeeded: (entry & 0xFFFF_FFFF_0000_0000) >> shift) }

    /// The slot holding `key`, if any.
    private func slot(of key: FlowKey) -> Int? {
        guard count > 0 else { return nil }
        return slot(of: key, hash: hasher.hash(key))
    }

    /// The slot holding `key`, whose hash is `hash`, if any.
    private func slot(of key: FlowKey, hash: UInt64) -> Int? {
        guard count > 0 else { return nil }
        let mask = table.count - 1
        let tag = Self.tag(hash)
        var slot = home(hash)
        while table[slot] != 0 {
            if Self.tag(table[slot]) == tag {
                let (chunk, offset) = place(position(slot))
                if ringKeys[chunk].holds(key, at: offset) { return slot }
            }
            slot = (slot &+ 1) & mask
        }
        return nil
    }

    /// The slot of `key` when the closing at `position` still owns it (not removed, requeued or closed again).
    private func liveSlot(_ key: FlowKey, position: UInt64) -> Int? {
        guard let slot = slot(of: key), self.position(slot) == position else { return nil }
        return slot
    }

    private mutating func insertSlot(hash: UInt64, position: UInt64) {
        // Up to 7/8 full: closed tuples are looked up only for packets of no open flow (a new
        // flow's first, a late one), so longer probes cost little, while the table is a third
        // of this store's memory.
        if (count + 1) * 8 > table.count * 7 { growTable() }
        let mask = table.count - 1
        var slot = home(hash)
        while table[slot] != 0 { slot = (slot &+ 1) & mask }
        table[slot] = Self.entry(tag: Self.tag(hash), position: position)
        count += 1
    }

    private mutating func removeSlot(_ slot: Int) {
        let mask = table.count - 1
        // Backward shift: pull later entries of the probe run into the hole.
        var hole = slot
        var next = (hole &+ 1) & mask
        while table[next] != 0 {
            let home = home(entry: table[next])
            // Move `next` into `hole` unless its home lies cyclically in (hole, next].
            if (hole &- home) & mask < (next &- home) & mask {
                table[hole] = table[next]
                hole = next
            }
            next = (next &+ 1) & mask
        }
        table[hole] = 0
        count -= 1
    }

    private mutating func growTable() {
        resizeTable(to: max(Self.smallestTable, table.count * 2))
    }

    /// Files the entries again in `capacity` slots (a power of two, more than `count`).
    private mutating func resizeTable(to capacity: Int) {
        let old = table
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        table = [UInt64](repeating: 0, count: capacity)
        let mask = capacity - 1
        for entry in old where entry != 0 {
            var slot = home(entry: entry)
            while table[slot] != 0 { slot = (slot &+ 1) & mask }
            table[slot] = entry
        }
    }
}

/// Tuples by ring index, compactly: an IPv4 pair (the common case) as both addresses in one
/// word and both ports in a 32-bit one;
/// any other pair in a side column of five words (both 128-bit addresses, then ports and
/// address kinds) that the cell's word numbers, numbers freed by overwritten cells reused.
struct TupleColumn {

    private static let wideStride = 5

    // A cell: its word, its ports and whether it is wide, in three columns (12 bytes and a
    // bit; a struct of the three would be 16).
    private var words: [UInt64]
    private var ports: [UInt32]
    private var wideBits: [UInt64]
    /// Wide tuples, ``wideStride`` words each; a free one's first word is the next free number + 1 (0: none).
    private var wide: [UInt64] = []
    /// The first free wide number + 1 (0: none).
    private var freeWide = 0

    init(count: Int) {
        words = [UInt64](repeating: 0, count: count)
        ports = [UInt32](repeating: 0, count: count)
        wideBits = [UInt64](repeating: 0, count: (count + 63) >> 6)
    }

    var count: Int { words.count }

    private func isWide(_ index: Int) -> Bool { wideBits[index >> 6] >> UInt64(index & 63) & 1 != 0 }

    private mutating func setWide(_ index: Int, _ wide: Bool) {
        let bit = UInt64(1) << UInt64(index & 63)
        if wide { wideBits[index >> 6] |= bit } else { wideBits[index >> 6] &= ~bit }
    }

    private static func narrow(_ key: FlowKey) -> (word: UInt64, ports: UInt32)? {
        guard case .v4(let a) = key.low.address, case .v4(let b) = key.high.address else { return nil }
        return (UInt64(a) << 32 | UInt64(b), UInt32(key.low.port) << 16 | UInt32(key.high.port))
    }

    /// An address as two words and its kind (0: IPv4 in the second word, 1: IPv6).
    private static func words(_ address: IPAddress) -> (UInt64, UInt64, UInt64) {
        switch address {
        case .v4(let a): return (0, UInt64(a), 0)
        case .v6(let high, let low): return (high, low, 1)
        }
    }

    private static func address(_ high: UInt64, _ low: UInt64, kind: UInt64) -> IPAddress {
        kind == 0 ? .v4(UInt32(truncatingIfNeeded: low)) : .v6(high: high, low: low)
    }

    private static func wideWords(_ key: FlowKey) -> (UInt64, UInt64, UInt64, UInt64, UInt64) {
        let (a0, a1, ak) = words(key.low.address)
        let (b0, b1, bk) = words(key.high.address)
        return (a0, a1, b0, b1, UInt64(key.low.port) | UInt64(key.high.port) << 16 | ak << 32 | bk << 33)
    }

    subscript(index: Int) -> FlowKey {
        var key = FlowKey.placeholder
        if isWide(index) {
            let base = Int(truncatingIfNeeded: words[index]) * Self.wideStride
            let last = wide[base + 4]
            key.low = Endpoint(address: Self.address(wide[base], wide[base + 1], kind: last >> 32 & 1), port: UInt16(truncatingIfNeeded: last))
            key.high = Endpoint(address: Self.address(wide[base + 2], wide[base + 3], kind: last >> 33 & 1), port: UInt16(truncatingIfNeeded: last >> 16))
            return key
        }
        let (word, pair) = (words[index], ports[index])
        key.low = Endpoint(address: .v4(UInt32(truncatingIfNeeded: word >> 32)), port: UInt16(truncatingIfNeeded: pair >> 16))
        key.high = Endpoint(address: .v4(UInt32(truncatingIfNeeded: word)), port: UInt16(truncatingIfNeeded: pair))
        return key
    }

    /// Replaces the tuple at `index` (its wide number, if any, is freed).
    mutating func set(_ index: Int, _ key: FlowKey) {
        if isWide(index) {
            let number = Int(truncatingIfNeeded: words[index])
            wide[number * Self.wideStride] = UInt64(freeWide)
            freeWide = number + 1
        }
        if let (word, pair) = Self.narrow(key) {
            words[index] = word
            ports[index] = pair
            setWide(index, false)
            return
        }
        let number: Int
        if freeWide > 0 {
            number = freeWide - 1
            freeWide = Int(truncatingIfNeeded: wide[number * Self.wideStride])
        } else {
            number = wide.count / Self.wideStride
            wide.append(contentsOf: repeatElement(0, count: Self.wideStride))
        }
        let tuple = Self.wideWords(key)
        let base = number * Self.wideStride
        wide[base] = tuple.0
        wide[base + 1] = tuple.1
        wide[base + 2] = tuple.2
        wide[base + 3] = tuple.3
        wide[base + 4] = tuple.4
        words[index] = UInt64(number)
        ports[index] = 0
        setWide(index, true)
    }

    /// Whether the tuple at `index` is `key` (without building it).
    func holds(_ key: FlowKey, at index: Int) -> Bool {
        if let (word, pair) = Self.narrow(key) { return words[index] == word && ports[index] == pair && !isWide(index) }
        guard isWide(index) else { return false }
        let tuple = Self.wideWords(key)
        let base = Int(truncatingIfNeeded: words[index]) * Self.wideStride
        return wide[base] == tuple.0 && wide[base + 1] == tuple.1 && wide[base + 2] == tuple.2
            && wide[base + 3] == tuple.3 && wide[base + 4] == tuple.4
    }
}
