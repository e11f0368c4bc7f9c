/// Tuples of recently closed flows, kept briefly so that late ACKs, repeated FINs and
/// retransmissions after the close do not open a new (mid-stream) flow.
///
/// A closed flow keeps only its tuple and last packet time (a few dozen bytes instead of its
/// full state), for ``ReassemblyOptions/closedFlowRetentionNanoseconds`` of capture time after
/// its last packet, so memory depends on the rate of connections, not on capture length.
/// Expiry runs in order of closing; a tuple refreshed by a late packet is requeued then.
struct ClosedFlows {
    private struct Entry {
        var lastSeen: Int64
        /// Identifies the queue entry that owns this tuple (a tuple may close, reopen and close again).
        var serial: UInt64
    }

    private var entries: FlowKeyTable<Entry>
    private var queue: [(key: FlowKey, serial: UInt64, since: Int64)] = []
    private var head = 0
    private var nextSerial: UInt64 = 0

    /// `seed` keys the tuple table's hash (see ``FlowKeyTable``).
    init(seed: UInt64) {
        entries = FlowKeyTable(seed: seed, filler: Entry(lastSeen: 0, serial: 0))
    }

    var count: Int { entries.count }

    /// True when `key` is a closed flow seen within `retention` before `now`; its last-seen
    /// time becomes `now`. One seen longer ago is forgotten here, whether or not ``expire(now:retention:)``
    /// reached it yet: the answer depends on the tuple's own packets alone, not on the others queued.
    mutating func absorb(_ key: FlowKey, at now: Int64, retention: Int64) -> Bool {
        guard let slot = entries.slot(of: key) else { return false }
        let (idle, overflow) = now.subtractingReportingOverflow(entries.value(at: slot).lastSeen)
        if !overflow && idle > retention {
            entries.remove(at: slot)
            return false
        }
        entries.update(at: slot) { $0.lastSeen = now }
        return true
    }

    /// Forgets `key` (a new connection reuses the tuple).
    mutating func remove(_ key: FlowKey) {
        entries.remove(key)
    }

    /// Keeps `key` as closed; past `limit` tuples the oldest is dropped first.
    /// Returns the number of tuples dropped for room.
    mutating func insert(_ key: FlowKey, lastSeen: Int64, limit: Int) -> Int {
        var dropped = 0
        while entries.count >= max(limit, 1), let oldest = popFront() {
            if let slot = entries.slot(of: oldest.key), entries.value(at: slot).serial == oldest.serial {
                entries.remove(at: slot)
                dropped += 1
            }
        }
        nextSerial &+= 1
        entries.insert(Entry(lastSeen: lastSeen, serial: nextSerial), for: key)
        queue.append((key, nextSerial, lastSeen))
        return dropped
    }

    /// Drops tuples with no packet for longer than `retention` before `now`.
    @inline(__always)
    mutating func expire(now: Int64, retention: Int64) {
        // Per packet: most calls find the oldest tuple still young.
        guard head < queue.count else { return }
        let (age, overflow) = now.subtractingReportingOverflow(queue[head].since)
        guard !overflow, age > retention else { return }
        expireOldest(now: now, retention: retention)
    }

    private mutating func expireOldest(now: Int64, retention: Int64) {
        while head < queue.count {
            let (age, overflow) = now.subtractingReportingOverflow(queue[head].since)
            guard !overflow, age > retention, let front = popFront() else { return }
            guard let slot = entries.slot(of: front.key) else { continue }
            let entry = entries.value(at: slot)
            guard entry.serial == front.serial else { continue }
            let (idle, idleOverflow) = now.subtractingReportingOverflow(entry.lastSeen)
            if !idleOverflow && idle > retention {
                entries.remove(at: slot)
            } else {
                queue.append((front.key, front.serial, entry.lastSeen))
            }
        }
    }

    mutating func removeAll() {
        entries.removeAll()
        queue = []
        head = 0
    }

    private mutating func popFront() -> (key: FlowKey, serial: UInt64, since: Int64)? {
        guard head < queue.count else { return nil }
        let front = queue[head]
        head += 1
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= queue.count {
            queue.removeFirst(head)
            head = 0
        }
        return front
    }
}
