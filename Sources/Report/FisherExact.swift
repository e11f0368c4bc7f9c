#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// Two-sided p-value of Fisher's exact test for the 2×2 table `[[a, b], [c, d]]`:
/// the summed probability of every table with the same margins that is no more likely than this one.
/// Negative or absurdly large counts give 1 (no evidence) rather than a trap.
func fisherExactTwoSided(a: Int, b: Int, c: Int, d: Int) -> Double {
    guard a >= 0, b >= 0, c >= 0, d >= 0, a + b + c + d <= 10_000_000 else { return 1 }
    let row1 = a + b, row2 = c + d, col1 = a + c, total = a + b + c + d
    guard total > 0 else { return 1 }
    func logChoose(_ n: Int, _ k: Int) -> Double {
        lgamma(Double(n) + 1) - lgamma(Double(k) + 1) - lgamma(Double(n - k) + 1)
    }
    func logProbability(_ x: Int) -> Double {
        logChoose(row1, x) + logChoose(row2, col1 - x) - logChoose(total, col1)
    }
    let observed = logProbability(a)
    var p = 0.0
    for x in max(0, col1 - row2)...min(row1, col1) {
        let value = logProbability(x)
        // Relative tolerance so that tables exactly as likely as the observed one are counted.
        if value <= observed + 1e-7 { p += exp(value) }
    }
    return min(1, p)
}
