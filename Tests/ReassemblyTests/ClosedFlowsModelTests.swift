import Testing
import Wire

@testable import Reassembly

/// The compact closed-tuple store (tuples once in a ring, 4-byte table slots) against the
/// straightforward model it replaced: a dictionary from tuple to (last seen, serial) plus a
/// FIFO queue of closings, the serial telling which closing owns the tuple.
@Suite struct ClosedFlowsModelTests {
    struct Model {
        var entries: [Key: (lastSeen: Int64, serial: UInt64)] = [:]
        var queue: [(key: Key, serial: UInt64, since: Int64)] = []
        var nextSerial: UInt64 = 0

        mutating func absorb(_ key: Key, at now: Int64, retention: Int64) -> Bool {
            guard let entry = entries[key] else { return false }
            if now - entry.lastSeen > retention {
                entries[key] = nil
                return false
            }
            entries[key]?.lastSeen = now
            return true
        }

        mutating func remove(_ key: Key) { entries[key] = nil }

        mutating func insert(_ key: Key, lastSeen: Int64, limit: Int) -> Int {
            var dropped = 0
            while entries.count >= max(limit, 1) || queue.count >= 2 * max(limit, 1), !queue.isEmpty {
                let oldest = queue.removeFirst()
                if entries[oldest.key]?.serial == oldest.serial {
                    entries[oldest.key] = nil
                    dropped += 1
                }
            }
            nextSerial += 1
            entries[key] = (lastSeen, nextSerial)
            queue.append((key, nextSerial, lastSeen))
            return dropped
        }

        mutating func expire(now: Int64, retention: Int64) {
            while let front = queue.first, now - front.since > retention {
                queue.removeFirst()
                guard let entry = entries[front.key], entry.serial == front.serial else { continue }
                if now - entry.lastSeen > retention {
                    entries[front.key] = nil
                } else {
                    queue.append((front.key, front.serial, entry.lastSeen))
                }
            }
        }
    }

    /// 6,000 distinct tuples closed in turn, some refreshed or closed again, the oldest
    /// expiring meanwhile: closings come faster after the first 2,000, so the ring and the
    /// table grow while thousands of tuples are held and the ring's head has moved (the
    /// table's ring indices renumbered each time), then all expire.
    @Test func agreesWithTheModelWhileTheRingGrows() {
        var random = SplitMix64(seed: 77)
        var store = ClosedFlows(seed: 5)
        var model = Model()
        let retention: Int64 = 3_000
        var now: Int64 = 0
        func key(_ n: Int) -> Key { n % 5 == 0 ? FlowKeyTableTests.key6(n) : FlowKeyTableTests.key(n) }
        for n in 0..<6_000 {
            now += n < 2_000 ? 3 : 1
            #expect(store.insert(key(n), lastSeen: now, limit: 100_000) == model.insert(key(n), lastSeen: now, limit: 100_000))
            let earlier = Int(random.next() % UInt64(n + 1))
            switch random.next() % 3 {
            case 0: #expect(store.absorb(key(earlier), at: now, retention: retention) == model.absorb(key(earlier), at: now, retention: retention))
            case 1: #expect(store.insert(key(earlier), lastSeen: now, limit: 100_000) == model.insert(key(earlier), lastSeen: now, limit: 100_000))
            default: break
            }
            store.expire(now: now, retention: retention)
            model.expire(now: now, retention: retention)
        }
        #expect(store.count == model.entries.count && store.count > 2_000)
        #expect(store.queued == model.queue.count)
        for step in 0..<4 {
            now += retention / 2
            store.expire(now: now, retention: retention)
            model.expire(now: now, retention: retention)
            #expect(store.count == model.entries.count, "after \(step + 1) half-retentions")
        }
        for n in stride(from: 0, to: 6_000, by: 7) {
            #expect(store.absorb(key(n), at: now, retention: retention) == model.absorb(key(n), at: now, retention: retention))
        }
        #expect(store.count == 0)
    }

    @Test(arguments: [1 as UInt64, 2, 3])
    func agreesWithTheDictionaryAndQueueModel(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var store = ClosedFlows(seed: seed)
        var model = Model()
        let retention: Int64 = 1_000
        var now: Int64 = 0
        for step in 0..<40_000 {
            // A small pool of tuples (IPv4 and IPv6), so closes, reuses and refreshes collide often.
            let n = Int(random.next() % 300)
            let key = n % 7 == 0 ? FlowKeyTableTests.key6(n) : FlowKeyTableTests.key(n)
            let limit = step < 20_000 ? 10_000 : 40
            now += Int64(random.next() % 20)
            switch random.next() % 4 {
            case 0:
                #expect(store.insert(key, lastSeen: now, limit: limit) == model.insert(key, lastSeen: now, limit: limit))
            case 1:
                #expect(store.absorb(key, at: now, retention: retention) == model.absorb(key, at: now, retention: retention))
            case 2:
                store.remove(key)
                model.remove(key)
            default:
                store.expire(now: now, retention: retention)
                model.expire(now: now, retention: retention)
            }
            #expect(store.count == model.entries.count)
            #expect(store.queued == model.queue.count)
            #expect(store.queued <= 2 * limit)
            if store.count != model.entries.count { return }
        }
        // Every tuple the model holds is absorbed by the store too, and no other.
        for n in 0..<300 {
            let key = n % 7 == 0 ? FlowKeyTableTests.key6(n) : FlowKeyTableTests.key(n)
            #expect(store.absorb(key, at: now, retention: retention) == model.absorb(key, at: now, retention: retention))
        }
    }
}
