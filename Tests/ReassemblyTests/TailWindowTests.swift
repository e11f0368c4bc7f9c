import Testing
@testable import Reassembly

/// The tail window keeps the last 64 delivered bytes: after any sequence of deliveries,
/// comparing each recent stream byte against its true value must find no difference,
/// and comparing against a changed value must find one.
@Suite struct TailWindowTests {
    @Test func keepsTheLastBytesOfAnyDeliveryPattern() {
        var generator = SplitMix(seed: 7)
        for _ in 0..<300 {
            var window = TailWindow()
            var stream: [UInt8] = []
            for _ in 0..<Int(generator.next() % 6 + 1) {
                let length = Int(generator.next() % 150) + 1
                let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                bytes.withUnsafeBytes { window.record($0, at: UInt64(stream.count)) }
                stream += bytes
            }
            let end = UInt64(stream.count)
            let start = Int(end) - min(stream.count, TailWindow.capacity)
            let recent = Array(stream[start...])
            let same = recent.withUnsafeBytes { window.compare($0, at: UInt64(start), deliveredEnd: end, keep: 64) }
            #expect(same.compared == UInt64(recent.count))
            #expect(!same.differs)
            var changed = recent
            let spot = Int(generator.next() % UInt64(changed.count))
            changed[spot] ^= 0x5A
            let different = changed.withUnsafeBytes { window.compare($0, at: UInt64(start), deliveredEnd: end, keep: 64) }
            #expect(different.differs)
        }
    }
}

private struct SplitMix {
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
