#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and fully specified, so a
/// seed gives the same capture on every platform and toolchain. The standard
/// library's `random(in:using:)` is avoided because its algorithm may change.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// A generator for an independent sub-stream (one per session or message),
    /// so what one session draws never shifts another's choices.
    init(seed: UInt64, stream: UInt64) {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        state = mixer.next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` (multiply-high; the bias is below 2^-40 for our bounds).
    mutating func below(_ bound: Int) -> Int {
        guard bound > 1 else { return 0 }
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Uniform in the closed range.
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// Log-uniform in the closed range: as many 1-2 KB messages as 100-200 KB ones per octave.
    mutating func logUniform(_ range: ClosedRange<Int>) -> Int {
        let ratio = Double(range.upperBound) / Double(range.lowerBound)
        let value = Double(range.lowerBound) * pow(ratio, unit())
        return min(range.upperBound, max(range.lowerBound, Int(value)))
    }

    /// Nanoseconds uniform in `low...high` microseconds.
    mutating func micros(_ low: Int, _ high: Int) -> Int64 { Int64(int(low...high)) * 1_000 }

    /// Nanoseconds uniform in `low...high` milliseconds (µs resolution).
    mutating func millis(_ low: Int, _ high: Int) -> Int64 { Int64(int(low * 1_000...high * 1_000)) * 1_000 }
}
