#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// Fisher's exact test on a 2×2 table, two-sided: the probability, with the margins
/// fixed, of a table at most as likely as the one observed (R `fisher.test`, scipy).
public enum FisherExact {
    /// `a b / c d`; returns 1 for an empty table.
    public static func twoSidedP(_ a: Int, _ b: Int, _ c: Int, _ d: Int) -> Double {
        guard a >= 0, b >= 0, c >= 0, d >= 0 else { return 1 }
        let row1 = a + b
        let col1 = a + c
        let n = a + b + c + d
        guard n > 0 else { return 1 }
        func logFactorial(_ k: Int) -> Double { lgamma(Double(k) + 1) }
        let fixed = logFactorial(row1) + logFactorial(n - row1) + logFactorial(col1) + logFactorial(n - col1)
            - logFactorial(n)
        func logP(_ x: Int) -> Double {
            fixed - logFactorial(x) - logFactorial(row1 - x) - logFactorial(col1 - x) - logFactorial(n - row1 - col1 + x)
        }
        let low = max(0, row1 + col1 - n)
        let high = min(row1, col1)
        let observed = logP(a)
        // Relative tolerance as in R, so tables equally likely to the observed count.
        let threshold = observed + log1p(1e-7)
        var total = 0.0
        for x in low...high where logP(x) <= threshold {
            total += exp(logP(x))
        }
        return min(1, total)
    }
}
