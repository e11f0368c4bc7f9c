import Testing
import Wire

@testable import Reassembly

/// The reassembler's per-flow tables grow in steps that leave little unused room: a
/// capture with a few hundred open connections must not pay for twice as many slots
/// because it crossed a power of two (the generated captures peak at 206 and 263).
@Suite struct S9FlatGrowthTests {
    /// Slots grow by half (16, 24, 36, 54, 81, 121, 181, 271, ...): 263 flows fit in 271
    /// slots, where doubling gave 512. Every flow keeps its state through the moves.
    @Test func slotStoreGrowsByHalfAndKeepsEveryFlow() {
        let store = SlotStore()
        var seen: [Int] = []
        for n in 0..<263 {
            let client = Endpoint(address: .v4(0xC000_0200), port: UInt16(20000 + n))
            let server = Endpoint(address: .v4(0xCB00_7109), port: 25)
            let info = FlowInfo(id: FlowID(n), client: client, server: server, firstFrame: UInt64(n + 1), firstTimestampNanoseconds: Int64(n), midstream: false)
            store.append(FlowState(key: FlowKey(client, server), info: info), SlotLink(clock: Int64(n), live: true))
            if seen.last != store.allocatedSlots { seen.append(store.allocatedSlots) }
        }
        #expect(seen == [16, 24, 36, 54, 81, 121, 181, 271])
        #expect(store.count == 263)
        for n in 0..<263 {
            #expect(store.flows[n].info.id == FlowID(n))
            #expect(store.flows[n].info.client.port == UInt16(20000 + n))
            #expect(store.links[n].clock == Int64(n))
        }
        // A copy (copy-on-write) holds the same flows in the same number of slots.
        let copy = store.copy()
        #expect(copy.allocatedSlots == 271 && copy.count == 263)
        #expect(copy.flows[262].info.firstFrame == 263)
    }

    /// The flow table fills to 3/4 before it doubles: 263 keys in 512 slots (at 1/2 they
    /// took 1,024), 384 still in 512, the 385th doubles it; every key stays reachable.
    @Test func flowKeyTableFillsToThreeQuarters() {
        var table = FlowKeyTable<Int32>(seed: 3, filler: -1)
        for n in 0..<263 { table.insert(Int32(n), for: FlowKeyTableTests.key(n)) }
        #expect(table.capacity == 512)
        for n in 263..<384 { table.insert(Int32(n), for: FlowKeyTableTests.key(n)) }
        #expect(table.capacity == 512)
        table.insert(384, for: FlowKeyTableTests.key(384))
        #expect(table.capacity == 1024)
        for n in 0...384 { #expect(table[FlowKeyTableTests.key(n)] == Int32(n)) }
        #expect(table[FlowKeyTableTests.key(385)] == nil)
    }

    /// At that load, a sliding window of opens and closes (IPv4 tuples differing only in
    /// the client port) walks about eight slots per operation (linear probing at 3/4:
    /// (1 + 1/(1 - 0.74)^2) / 2 = 7.9 for a miss), not the thousands of a clustered
    /// placement, and never loses a key.
    @Test func fullTableSlidingWindowStaysShort() {
        var table = FlowKeyTable<Int32>(seed: 11, filler: -1)
        let window = 380  // 74 % of 512 slots
        for n in 0..<window { table.insert(Int32(n), for: FlowKeyTableTests.key(n)) }
        #expect(table.capacity == 512)
        let before = table.probeSteps
        let churn = 50_000
        for n in window..<(window + churn) {
            #expect(table.remove(FlowKeyTableTests.key(n - window)) == Int32(n - window))
            table.insert(Int32(n), for: FlowKeyTableTests.key(n))
            if n % 997 == 0 {
                for k in (n - window + 1)...n { #expect(table[FlowKeyTableTests.key(k)] == Int32(k)) }
            }
        }
        let perOperation = Double(table.probeSteps - before) / Double(2 * churn)
        #expect(perOperation < 12, "probe steps per operation: \(perOperation)")
        #expect(table.count == window && table.capacity == 512)
    }
}
