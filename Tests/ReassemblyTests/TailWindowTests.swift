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

/// A delivery of 64 bytes or more replaces the whole ring in one rotated copy
/// (``TailWindow/record(_:at:)``); it must leave the ring exactly as the general two-run copy
/// (``TailWindow/recordRuns(_:at:)``) does, at every ring position and across wrapped offsets.
@Suite struct TailWindowWholeRingTests {
    @Test func wholeRingCopyMatchesTheRunCopy() {
        var generator = SplitMix(seed: 11)
        for round in 0..<2000 {
            var fast = TailWindow()
            var general = TailWindow()
            // Offsets near the top of the 64-bit range too: the position is taken modulo 64.
            var offset = round % 3 == 0 ? UInt64.max - 500 : generator.next() % 1_000_000
            for _ in 0..<Int(generator.next() % 5 + 1) {
                let length = Int(generator.next() % 200) + 1
                let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                bytes.withUnsafeBytes {
                    fast.record($0, at: offset)
                    general.recordRuns($0, at: offset)
                }
                offset &+= UInt64(length)
                #expect(fast.heldBytes == general.heldBytes)
            }
        }
    }

    /// Hand-computed: 70 bytes 0...69 delivered at offset 0 end at 70, so the ring holds bytes
    /// 6...69, byte `b` at position `b % 64`: position 0 holds 64, position 5 holds 69, 6 holds 6.
    @Test func rotatedPlacementByHand() {
        var window = TailWindow()
        let bytes = (0..<70).map { UInt8($0) }
        bytes.withUnsafeBytes { window.record($0, at: 0) }
        let held = window.heldBytes
        #expect(held[0] == 64)
        #expect(held[5] == 69)
        #expect(held[6] == 6)
        #expect(held[63] == 63)
    }
}
