import Testing

@testable import Reassembly

/// A delivery of 64 bytes or more replaces the whole tail ring in one rotated copy
/// (``TailWindow/record(_:at:)``); it must leave the ring exactly as the general two-run copy
/// (``TailWindow/recordRuns(_:at:)``) does, at every ring position and across wrapped offsets.
@Suite struct TailWindowWholeRingTests {
    @Test func wholeRingCopyMatchesTheRunCopy() {
        var random = SplitMix64(seed: 11)
        for round in 0..<2000 {
            var fast = TailWindow()
            var general = TailWindow()
            // Offsets near the top of the 64-bit range too: the position is taken modulo 64.
            var offset = round % 3 == 0 ? UInt64.max - 500 : UInt64.random(in: 0..<1_000_000, using: &random)
            for _ in 0..<Int.random(in: 1...5, using: &random) {
                let bytes = (0..<Int.random(in: 1...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                bytes.withUnsafeBytes {
                    fast.record($0, at: offset)
                    general.recordRuns($0, at: offset)
                }
                offset &+= UInt64(bytes.count)
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
