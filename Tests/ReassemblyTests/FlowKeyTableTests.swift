import Testing
import Wire

@testable import Reassembly

/// The reassembler's internal flow key (Wire has a public one of the same name).
typealias Key = Reassembly.FlowKey

/// The open-addressing flow table against a `Dictionary`, and its probe lengths under the
/// patterns captures produce (a sliding window of connections, tuples differing in one port).
@Suite struct FlowKeyTableTests {
    /// `n`-th tuple of a client range talking to one server: what a SYN flood or a busy relay looks like.
    static func key(_ n: Int, server: UInt16 = 25) -> Key {
        let client = Endpoint(address: .v4(0xC000_0200 | UInt32(n >> 16)), port: UInt16(truncatingIfNeeded: n))
        return Key(client, Endpoint(address: .v4(0xC633_6419), port: server))
    }

    static func key6(_ n: Int) -> Key {
        let client = Endpoint(address: .v6(high: 0x2001_0DB8_0000_0000, low: UInt64(n >> 16)), port: UInt16(truncatingIfNeeded: n))
        return Key(client, Endpoint(address: .v6(high: 0x2001_0DB8_0000_0001, low: 25), port: 25))
    }

    @Test func findsWhatWasInsertedAndNothingElse() {
        var table = FlowKeyTable<Int32>(seed: 1, filler: -1)
        #expect(table[Self.key(1)] == nil)
        table.insert(7, for: Self.key(1))
        table.insert(8, for: Self.key6(1))
        table.insert(9, for: Self.key(1))  // replaces
        #expect(table.count == 2)
        #expect(table[Self.key(1)] == 9)
        #expect(table[Self.key6(1)] == 8)
        #expect(table[Self.key(2)] == nil)
        // Both directions of a connection are one key.
        let a = Endpoint(address: .v4(0xC000_0201), port: 40000)
        let b = Endpoint(address: .v4(0xC633_6419), port: 25)
        table.insert(3, for: Key(a, b))
        #expect(table[Key(b, a)] == 3)
        #expect(table.remove(Key(b, a)) == 3)
        #expect(table[Key(a, b)] == nil)
        #expect(table.remove(Key(a, b)) == nil)
    }

    /// Random inserts, replacements, lookups and removals (fixed seed) must agree with a
    /// `Dictionary` at every step. A key space of 600 with up to a few hundred live keys keeps
    /// probe runs long enough that removals shift entries (counted, so the test would notice
    /// if they never did).
    @Test(arguments: [UInt64(1), 2, 0xDEAD_BEEF])
    func agreesWithADictionaryUnderRandomOperations(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        var table = FlowKeyTable<Int32>(seed: seed &* 31, filler: -1)
        var reference: [Key: Int32] = [:]
        var shifted = 0
        for step in 0..<60_000 {
            let n = Int(generator.next() % 600)
            let key = n % 3 == 0 ? Self.key6(n) : Self.key(n, server: UInt16(25 + n % 2))
            switch generator.next() % 10 {
            case 0...3:
                let value = Int32(step)
                table.insert(value, for: key)
                reference[key] = value
            case 4...6:
                let before = table.probeSteps
                #expect(table.remove(key) == reference.removeValue(forKey: key))
                shifted += table.probeSteps - before
            default:
                #expect(table[key] == reference[key])
            }
            #expect(table.count == reference.count)
        }
        for n in 0..<600 {
            for key in [Self.key(n), Self.key(n, server: 26), Self.key6(n)] {
                #expect(table[key] == reference[key])
            }
        }
        var seen: [Key: Int32] = [:]
        table.forEach { key, value in seen[key] = value }
        #expect(seen == reference)
        #expect(shifted > 0)
    }

    /// Keys that collide: in a 16-slot table every key has one of 16 home slots, so 8 keys
    /// form runs; removing any of them must leave every other one reachable.
    @Test func removalInsideProbeRunsKeepsTheRestReachable() {
        for victim in 0..<8 {
            var table = FlowKeyTable<Int32>(seed: 99, filler: -1)
            for n in 0..<8 { table.insert(Int32(n), for: Self.key(n)) }
            #expect(table.capacity == 16)
            #expect(table.remove(Self.key(victim)) == Int32(victim))
            for n in 0..<8 where n != victim { #expect(table[Self.key(n)] == Int32(n)) }
            #expect(table[Self.key(victim)] == nil)
            #expect(table.count == 7)
        }
    }

    /// The trap `FlowIndexTable` fell into: connections open and close as a sliding window.
    /// With backward-shift deletion and a hashed home slot, the work per removal and insert
    /// stays a few slots, for IPv4 tuples that differ only in the client port.
    @Test func slidingWindowKeepsProbeRunsShort() {
        var table = FlowKeyTable<Int32>(seed: 7, filler: -1)
        let window = 50_000
        for n in 0..<window { table.insert(Int32(n), for: Self.key(n)) }
        let before = table.probeSteps
        let churn = 200_000
        for n in window..<(window + churn) {
            #expect(table.remove(Self.key(n - window)) == Int32(n - window))
            table.insert(Int32(n), for: Self.key(n))
        }
        // At most 50 % load a run averages a couple of slots; identity-like placement would walk thousands.
        let perOperation = Double(table.probeSteps - before) / Double(2 * churn)
        #expect(perOperation < 4, "probe steps per operation: \(perOperation)")
        #expect(table.count == window)
        #expect(table.capacity <= 4 * window)
    }

    @Test func removeAllEmptiesWithOrWithoutItsSlots() {
        for keep in [true, false] {
            var table = FlowKeyTable<Int32>(seed: 5, filler: -1)
            for n in 0..<100 { table.insert(Int32(n), for: Self.key(n)) }
            let capacity = table.capacity
            table.removeAll(keepingCapacity: keep)
            #expect(table.count == 0)
            #expect(table.capacity == (keep ? capacity : 0))
            for n in 0..<100 { #expect(table[Self.key(n)] == nil) }
            table.insert(7, for: Self.key(3))
            #expect(table[Self.key(3)] == 7)
            #expect(table.count == 1)
        }
    }

    /// Different seeds place keys differently (so a capture cannot aim at one layout), and
    /// each still finds every key.
    @Test func seedsChangeThePlacement() {
        var orders: [[Int32]] = []
        for seed: UInt64 in [1, 2] {
            var table = FlowKeyTable<Int32>(seed: seed, filler: -1)
            for n in 0..<100 { table.insert(Int32(n), for: Self.key(n)) }
            for n in 0..<100 { #expect(table[Self.key(n)] == Int32(n)) }
            var order: [Int32] = []
            table.forEach { _, value in order.append(value) }
            orders.append(order)
        }
        #expect(orders[0] != orders[1])
        #expect(orders[0].sorted() == orders[1].sorted())
    }
}

/// Flows closed at capture end come out in flow order whatever the hash seed.
@Suite struct ReassemblerSeedTests {
    @Test func finishOrderDoesNotDependOnTheSeed() {
        var runs: [[Recorded]] = []
        for seed: UInt64 in [1, 2, 3] {
            var reassembler = TCPReassembler(options: ReassemblyOptions(), seed: seed)
            var events: [Recorded] = []
            let payload: [UInt8] = Array("EHLO x\r\n".utf8)
            let server = Endpoint(address: .v4(0xC633_6419), port: 25)
            payload.withUnsafeBytes { bytes in
                for n in 0..<200 {
                    let client = Endpoint(address: .v4(0xC000_0201), port: UInt16(40000 + n))
                    let segment = TCPSegment(
                        source: client, destination: server, sequenceNumber: 1001, acknowledgmentNumber: 5001,
                        flags: [.ack, .psh], window: 65535, payloadLength: bytes.count)
                    reassembler.process(segment, payload: bytes, frame: UInt64(n + 1), timestampNanoseconds: Int64(n)) {
                        events.append(Recorded($0))
                    }
                }
            }
            reassembler.finish { events.append(Recorded($0)) }
            runs.append(events)
        }
        #expect(runs[0] == runs[1])
        #expect(runs[0] == runs[2])
        // The closes come after the 200 openings and data, in flow order.
        let closes = runs[0].compactMap { event -> Int? in
            if case .closed(let flow, _) = event { return flow }
            return nil
        }
        #expect(closes == Array(0..<200))
    }
}

private struct SeededGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A closed flow's tail box is handed to the next flow: it must start as a fresh one would.
@Suite struct TailBoxRecyclingTests {
    @Test func recycledTailWindowForgetsTheFlowBefore() {
        var h = Harness()
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, "AAAA")  // 4
        h.send(s2c, seq: 5001, ack: 1105)  // 5: acknowledges 100 bytes never seen: the window is valid only from 104
        h.send(c2s, seq: 1105, ack: 5001, flags: .fin)  // 6
        h.send(s2c, seq: 5001, ack: 1106, flags: .fin)  // 7: both ended, flow 0 closed, its box kept
        #expect(h.take().suffix(4) == [
            .gap(0, c2s, offset: 4, length: 100, .captureLoss),
            .end(0, c2s, .fin, frame: 6),
            .end(0, s2c, .fin, frame: 7),
            .closed(0, packets: 7),
        ])
        h.client = Endpoint(address: .v4(0xC000_0201), port: 40001)
        h.handshake()  // 8-10: flow 1 adopts flow 0's box for its client side
        h.send(c2s, seq: 1001, ack: 5001, "BBBBBBBB")  // 11
        h.send(c2s, seq: 1001, ack: 5001, "BBBBXXXX")  // 12: same range, other bytes
        #expect(h.take() == [
            .opened(1, clientPort: 40001, midstream: false),
            .data(1, c2s, offset: 0, "BBBBBBBB", frame: 11),
            // A window still valid only from 104 would compare nothing and see no conflict.
            .retransmission(1, c2s, offset: 0, length: 8, frame: 12, conflicting: true),
        ])
        #expect(h.reassembler.statistics.retransmittedBytesNotCompared == 0)
        #expect(h.reassembler.statistics.conflictingRanges == 1)
    }
}
