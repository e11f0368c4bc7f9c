import Testing
import Reassembly
@testable import Analysis

/// The open-addressing table must behave exactly like a Dictionary under any sequence of
/// inserts, replacements and removals (removal shifts probe runs back, the tricky part).
@Suite struct FlowIndexTableTests {
    @Test(arguments: [1, 2, 3])
    func behavesLikeADictionary(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        var table = FlowIndexTable<Int>()
        var reference: [Int: Int] = [:]
        var nextIndex = 0
        for step in 0..<40_000 {
            let roll = generator.next() % 10
            if roll < 4 || reference.isEmpty {
                // New flows get the next index; sometimes skip ahead (flows in other workers).
                nextIndex += 1 + Int(generator.next() % 3)
                table.insert(step, for: FlowID(nextIndex))
                reference[nextIndex] = step
            } else if roll < 8 {
                let key = pick(reference, &generator, nextIndex)
                #expect(table.remove(FlowID(key)) == reference.removeValue(forKey: key))
            } else {
                let key = pick(reference, &generator, nextIndex)
                #expect(table[FlowID(key)] == reference[key])
                if reference[key] != nil {
                    table.insert(-step, for: FlowID(key))
                    reference[key] = -step
                }
            }
            #expect(table.count == reference.count)
        }
        #expect(table.sortedIDs.map(\.index) == reference.keys.sorted())
        for (key, value) in reference { #expect(table[FlowID(key)] == value) }
    }

    /// Keys a power of two apart share a home slot: removals inside such runs keep the rest findable.
    @Test func collidingKeysSurviveRemovals() {
        var table = FlowIndexTable<Int>()
        let keys = (0..<20).map { $0 * 64 } + (0..<20).map { $0 * 64 + 1 }
        for key in keys { table.insert(key, for: FlowID(key)) }
        for key in keys where key % 3 == 0 { #expect(table.remove(FlowID(key)) == key) }
        for key in keys { #expect(table[FlowID(key)] == (key % 3 == 0 ? nil : key)) }
    }

    /// Open flows are a sliding window of indices (new ones open, the oldest close, as in a
    /// SYN flood at the flow limit): each removal must walk a short probe run, not the window.
    @Test func slidingWindowRemovalsStayShort() {
        var table = FlowIndexTable<Int>()
        let window = 50_000
        for key in 0..<window { table.insert(key, for: FlowID(key)) }
        let before = table.removalSteps
        let removals = 200_000
        for key in window..<(window + removals) {
            #expect(table.remove(FlowID(key - window)) == key - window)
            table.insert(key, for: FlowID(key))
        }
        // At most 50 % load a probe run averages a few slots; the old identity placement walked ~50,000.
        #expect(Double(table.removalSteps - before) / Double(removals) < 8)
        #expect(table.count == window)
    }

    private func pick(_ reference: [Int: Int], _ generator: inout SeededGenerator, _ upper: Int) -> Int {
        // Mostly keys present, sometimes absent ones.
        if generator.next() % 4 == 0 { return Int(generator.next() % UInt64(upper + 2)) }
        let keys = Array(reference.keys)
        return keys[Int(generator.next() % UInt64(keys.count))]
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
