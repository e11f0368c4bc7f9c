/// Tuples of recently closed flows, kept briefly so that late ACKs, repeated FINs and
/// retransmissions after the close do not open a new (mid-stream) flow.
///
/// A closed flow keeps only its tuple and last packet time (a few dozen bytes instead of its
/// full state), for ``ReassemblyOptions/closedFlowRetentionNanoseconds`` of capture time after
/// its last packet, so memory depends on the rate of connections, not on capture length.
/// Expiry runs in order of closing; a tuple refreshed by a late packet is requeued then.
///
/// Each tuple is stored once, in a FIFO ring of closings; the lookup table holds only the
/// tuple's hash, its ring position and its last-seen time (24 bytes a slot) and compares
/// tuples through the ring. A connection-heavy minute keeps thousands of closed tuples, so
/// this halves what the old dictionary-plus-queue layout held per tuple (the largest part of
/// the memory that grew between a 100 MB and a 1 GiB capture).
struct ClosedFlows {
    // The ring: positions grow without end; a position's element is at `position & ringMask`.
    private var ringKeys: [FlowKey] = []
    private var ringSince: [Int64] = []
    private var head: UInt64 = 0
    private var tail: UInt64 = 0

    // The table: open addressing, linear probing, backward-shift deletion; hash 0 = empty.
    private var hashes: [UInt64] = []
    private var positions: [UInt64] = []
    private var lastSeen: [Int64] = []
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

    /// True when `key` is a closed flow seen within `retention` before `now`; its last-seen
    /// time becomes `now`. One seen longer ago is forgotten here, whether or not ``expire(now:retention:)``
    /// reached it yet: the answer depends on the tuple's own packets alone, not on the others queued.
    mutating func absorb(_ key: FlowKey, at now: Int64, retention: Int64) -> Bool {
        guard let slot = slot(of: key) else { return false }
        let (idle, overflow) = now.subtractingReportingOverflow(lastSeen[slot])
        if !overflow && idle > retention {
            removeSlot(slot)
            return false
        }
        lastSeen[slot] = now
        return true
    }

    /// Forgets `key` (a new connection reuses the tuple). Its ring element goes stale.
    mutating func remove(_ key: FlowKey) {
        if let slot = slot(of: key) { removeSlot(slot) }
    }

    /// Keeps `key` as closed; past `limit` tuples the oldest is dropped first.
    /// Returns the number of tuples dropped for room.
    mutating func insert(_ key: FlowKey, lastSeen seen: Int64, limit: Int) -> Int {
        let limit = max(limit, 1)
        var dropped = 0
        // Stale elements (tuples removed or requeued) count toward the ring's bound too, so
        // the ring never holds more than twice the limit.
        while count >= limit || queued >= 2 * limit, let front = popFront() {
            if let slot = liveSlot(front.key, position: front.position) {
                removeSlot(slot)
                dropped += 1
            }
        }
        let position = append(key, since: seen)
        if let slot = slot(of: key) {
            // Closed again before it was forgotten: the new closing owns the tuple.
            positions[slot] = position
            lastSeen[slot] = seen
        } else {
            insertSlot(hash: hasher.hash(key), position: position, lastSeen: seen)
        }
        return dropped
    }

    /// Drops tuples with no packet for longer than `retention` before `now`.
    @inline(__always)
    mutating func expire(now: Int64, retention: Int64) {
        // Per packet: most calls find the oldest tuple still young.
        guard head != tail else { return }
        let (age, overflow) = now.subtractingReportingOverflow(ringSince[Int(truncatingIfNeeded: head) & ringMask])
        guard !overflow, age > retention else { return }
        expireOldest(now: now, retention: retention)
    }

    private mutating func expireOldest(now: Int64, retention: Int64) {
        while head != tail {
            let (age, overflow) = now.subtractingReportingOverflow(ringSince[Int(truncatingIfNeeded: head) & ringMask])
            guard !overflow, age > retention, let front = popFront() else { return }
            guard let slot = liveSlot(front.key, position: front.position) else { continue }
            let (idle, idleOverflow) = now.subtractingReportingOverflow(lastSeen[slot])
            if !idleOverflow && idle > retention {
                removeSlot(slot)
            } else {
                // Refreshed by a late packet: it waits again from its last packet.
                positions[slot] = append(front.key, since: lastSeen[slot])
            }
        }
    }

    mutating func removeAll() {
        self = ClosedFlows(hasher: hasher)
    }

    private init(hasher: FlowKeyHasher) {
        self.hasher = hasher
    }

    // MARK: ring

    private var ringMask: Int { ringKeys.count &- 1 }

    /// Appends a closing and returns its position; the ring doubles when full.
    private mutating func append(_ key: FlowKey, since: Int64) -> UInt64 {
        if queued == ringKeys.count { growRing() }
        let index = Int(truncatingIfNeeded: tail) & ringMask
        ringKeys[index] = key
        ringSince[index] = since
        let position = tail
        tail &+= 1
        return position
    }

    /// The oldest closing. Its element stays readable until the next append.
    private mutating func popFront() -> (key: FlowKey, position: UInt64)? {
        guard head != tail else { return nil }
        let position = head
        head &+= 1
        return (ringKeys[Int(truncatingIfNeeded: position) & ringMask], position)
    }

    private mutating func growRing() {
        let capacity = max(64, ringKeys.count * 2)
        var keys = [FlowKey](repeating: .placeholder, count: capacity)
        var since = [Int64](repeating: 0, count: capacity)
        let oldMask = ringMask
        var position = head
        while position != tail {
            let old = Int(truncatingIfNeeded: position) & oldMask
            let new = Int(truncatingIfNeeded: position) & (capacity - 1)
            keys[new] = ringKeys[old]
            since[new] = ringSince[old]
            position &+= 1
        }
        ringKeys = keys
        ringSince = since
    }

    // MARK: table

    /// The slot holding `key`, if any.
    private func slot(of key: FlowKey) -> Int? {
        guard count > 0 else { return nil }
        let hash = hasher.hash(key)
        let mask = hashes.count - 1
        var slot = Int(truncatingIfNeeded: hash >> shift)
        while hashes[slot] != 0 {
            if hashes[slot] == hash && ringKeys[Int(truncatingIfNeeded: positions[slot]) & ringMask] == key {
                return slot
            }
            slot = (slot &+ 1) & mask
        }
        return nil
    }

    /// The slot of `key` when the closing at `position` still owns it (not removed, requeued or closed again).
    private func liveSlot(_ key: FlowKey, position: UInt64) -> Int? {
        guard let slot = slot(of: key), positions[slot] == position else { return nil }
        return slot
    }

    private mutating func insertSlot(hash: UInt64, position: UInt64, lastSeen seen: Int64) {
        if (count + 1) * 2 > hashes.count { growTable() }
        let mask = hashes.count - 1
        var slot = Int(truncatingIfNeeded: hash >> shift)
        while hashes[slot] != 0 { slot = (slot &+ 1) & mask }
        hashes[slot] = hash
        positions[slot] = position
        lastSeen[slot] = seen
        count += 1
    }

    private mutating func removeSlot(_ slot: Int) {
        let mask = hashes.count - 1
        // Backward shift: pull later entries of the probe run into the hole.
        var hole = slot
        var next = (hole &+ 1) & mask
        while hashes[next] != 0 {
            let home = Int(truncatingIfNeeded: hashes[next] >> shift)
            // Move `next` into `hole` unless its home lies cyclically in (hole, next].
            if (hole &- home) & mask < (next &- home) & mask {
                hashes[hole] = hashes[next]
                positions[hole] = positions[next]
                lastSeen[hole] = lastSeen[next]
                hole = next
            }
            next = (next &+ 1) & mask
        }
        hashes[hole] = 0
        count -= 1
    }

    private mutating func growTable() {
        let oldHashes = hashes
        let oldPositions = positions
        let oldLastSeen = lastSeen
        let capacity = max(16, hashes.count * 2)
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        hashes = [UInt64](repeating: 0, count: capacity)
        positions = [UInt64](repeating: 0, count: capacity)
        lastSeen = [Int64](repeating: 0, count: capacity)
        let mask = capacity - 1
        for old in oldHashes.indices where oldHashes[old] != 0 {
            var slot = Int(truncatingIfNeeded: oldHashes[old] >> shift)
            while hashes[slot] != 0 { slot = (slot &+ 1) & mask }
            hashes[slot] = oldHashes[old]
            positions[slot] = oldPositions[old]
            lastSeen[slot] = oldLastSeen[old]
        }
    }
}
