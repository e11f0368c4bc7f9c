import Testing
import Wire

@testable import Reassembly

/// The closed-tuple store against the plainest model of its promise, a dictionary from tuple
/// to last packet time: a late packet within the retention is absorbed (and refreshes the
/// tuple), one after it is not, a reused tuple is forgotten. Runs through bursts of closings
/// (the ring wraps and grows) and quiet spells (it shrinks), so elements are renumbered both
/// ways while tuples are held.
@Suite struct S7MemClosedFlowsTests {
    struct LastSeenModel {
        var lastSeen: [Key: Int64] = [:]

        mutating func absorb(_ key: Key, at now: Int64, retention: Int64) -> Bool {
            guard let seen = lastSeen[key] else { return false }
            if now - seen > retention {
                lastSeen[key] = nil
                return false
            }
            lastSeen[key] = now
            return true
        }

        /// Tuples not yet past their retention at `now`.
        func held(at now: Int64, retention: Int64) -> Int { lastSeen.values.count { now - $0 <= retention } }
    }

    static func key(_ n: Int) -> Key { n % 6 == 0 ? FlowKeyTableTests.key6(n) : FlowKeyTableTests.key(n) }

    @Test(arguments: [11 as UInt64, 12, 13])
    func answersLikeADictionaryOfLastSeenTimesThroughBurstsAndLulls(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var store = ClosedFlows(seed: seed)
        var model = LastSeenModel()
        let retention: Int64 = 2_000
        var now: Int64 = 0
        var next = 0
        var largestRing = 0
        var shrinks = 0
        for phase in 0..<8 {
            // Busy phases close a tuple every tick; quiet ones one in 50.
            let busy = phase % 2 == 0
            for step in 0..<6_000 {
                now += 1
                let before = store.capacity.ring
                if busy || random.next() % 50 == 0 {
                    // A new tuple, or one closed before (closed again, or reused and closed).
                    let key = random.next() % 8 == 0 && next > 0 ? Self.key(Int(random.next() % UInt64(next))) : Self.key(next)
                    if key == Self.key(next) { next += 1 }
                    _ = store.insert(key, lastSeen: now, limit: 100_000)
                    model.lastSeen[key] = now
                }
                switch random.next() % 8 {
                case 0, 1:
                    // A late packet of a recent tuple, or one whose retention may have ended.
                    guard next > 0 else { break }
                    let back = Int(random.next() % UInt64(min(next, random.next() % 2 == 0 ? 300 : 6_000)))
                    let key = Self.key(next - 1 - back)
                    let (answer, expected) = (store.absorb(key, at: now, retention: retention), model.absorb(key, at: now, retention: retention))
                    #expect(answer == expected)
                case 2:
                    // A new connection on a closed tuple.
                    guard next > 0 else { break }
                    let key = Self.key(next - 1 - Int(random.next() % UInt64(min(next, 500))))
                    store.remove(key)
                    model.lastSeen[key] = nil
                default:
                    break
                }
                store.expire(now: now, retention: retention)
                largestRing = max(largestRing, store.capacity.ring)
                if store.capacity.ring < before { shrinks += 1 }
                // Every tuple within its retention is held, and what is held fits.
                if step % 97 == 0 { #expect(store.count >= model.held(at: now, retention: retention)) }
                #expect(store.queued <= store.capacity.ring && store.count * 8 <= store.capacity.table * 7)
            }
            // Every tuple ever closed answers as the model says (checked without refreshing it).
            var copy = store
            var modelCopy = model
            for n in 0..<next {
                let agrees = copy.absorb(Self.key(n), at: now, retention: retention) == modelCopy.absorb(Self.key(n), at: now, retention: retention)
                #expect(agrees, "tuple \(n) after phase \(phase)")
                if !agrees { return }
            }
        }
        #expect(largestRing >= 2_048 && shrinks >= 2)
        // A quiet end: everything expires, and the ring and table go back to their smallest.
        now += 2 * retention + 1
        store.expire(now: now, retention: retention)
        #expect(store.count == 0 && store.queued == 0)
        #expect(store.capacity.ring <= ClosedFlows.chunkSize && store.capacity.table == 16)
        let anyAbsorbed = (0..<next).contains { store.absorb(Self.key($0), at: now, retention: retention) }
        #expect(!anyAbsorbed)
    }

    /// After a burst, the rate falling to a trickle gives the memory back: the ring and table
    /// end within a small multiple of what they hold.
    @Test func shrinksAfterTheRateFalls() {
        var store = ClosedFlows(seed: 3)
        let retention: Int64 = 1_000
        var now: Int64 = 0
        for n in 0..<5_000 {
            now += 1
            _ = store.insert(Self.key(n), lastSeen: now, limit: 100_000)
            store.expire(now: now, retention: retention)
        }
        #expect(store.count == 1_001 && store.capacity.ring >= 1_024 && store.capacity.table >= 2_048)
        for n in 5_000..<5_100 {
            now += 100
            _ = store.insert(Self.key(n), lastSeen: now, limit: 100_000)
            store.expire(now: now, retention: retention)
        }
        #expect(store.count == 11)
        #expect(store.capacity.ring <= 2 * ClosedFlows.chunkSize && store.capacity.table <= 64)
        // The last ten closings are still absorbed, older ones not.
        let absorbed = [5_099, 5_090, 5_080, 4_999].map { store.absorb(Self.key($0), at: now, retention: retention) }
        #expect(absorbed == [true, true, false, false])
    }
}
