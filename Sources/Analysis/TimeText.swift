/// Deterministic text for capture times and durations (no Foundation, no locale).
enum TimeText {
    /// Epoch seconds with exactly 6 decimals, e.g. `1700000000.000123`.
    static func seconds(_ nanoseconds: Int64) -> String {
        let negative = nanoseconds < 0
        let micros = (nanoseconds.magnitude + 500) / 1000
        let whole = micros / 1_000_000
        let fraction = String(micros % 1_000_000)
        let padded = String(repeating: "0", count: 6 - fraction.count) + fraction
        return (negative ? "-" : "") + "\(whole).\(padded)"
    }

    /// A duration for people: `15.0 s`, `0.2 ms`, `45 s`. Any value, including `Int64.min`
    /// (capture times are untrusted and differences are taken with wrapping arithmetic).
    static func duration(_ nanoseconds: Int64) -> String {
        let magnitude = nanoseconds.magnitude
        let negative = nanoseconds < 0
        if magnitude < 1_000_000 { return "\(fixed(magnitude: magnitude, negative: negative, unit: 1_000, decimals: 0)) µs" }
        if magnitude < 1_000_000_000 { return "\(fixed(magnitude: magnitude, negative: negative, unit: 1_000_000, decimals: 1)) ms" }
        return "\(fixed(magnitude: magnitude, negative: negative, unit: 1_000_000_000, decimals: 1)) s"
    }

    /// `value / unit` rounded to `decimals` places.
    static func fixed(_ value: Int64, unit: Int64, decimals: Int) -> String {
        fixed(magnitude: value.magnitude, negative: value < 0, unit: UInt64(max(1, unit)), decimals: decimals)
    }

    /// `magnitude / unit` rounded to `decimals` (0…9) places, `unit` at most 10^9, without
    /// overflow for any magnitude: the whole part and the remainder are divided separately.
    static func fixed(magnitude: UInt64, negative: Bool, unit: UInt64, decimals: Int) -> String {
        precondition(unit > 0 && unit <= 1_000_000_000 && (0...9).contains(decimals), "TimeText.fixed: unit \(unit), decimals \(decimals)")
        var scale: UInt64 = 1
        for _ in 0..<decimals { scale *= 10 }
        var whole = magnitude / unit
        // remainder < 10^9 and scale ≤ 10^9: the product stays below 2^64.
        var fraction = ((magnitude % unit) * scale + unit / 2) / unit
        if fraction >= scale {
            fraction -= scale
            whole += 1
        }
        let sign = negative ? "-" : ""
        guard decimals > 0 else { return sign + "\(whole)" }
        let fractionText = String(fraction)
        return sign + "\(whole)." + String(repeating: "0", count: decimals - fractionText.count) + fractionText
    }

    /// UTC calendar time for people: `2024-03-01 10:00:01.123456 UTC`.
    static func utc(_ nanoseconds: Int64) -> String {
        // Floor division without overflow, for any Int64 (capture times are untrusted).
        var seconds = nanoseconds / 1_000_000_000
        var nanos = nanoseconds % 1_000_000_000
        if nanos < 0 {
            seconds -= 1
            nanos += 1_000_000_000
        }
        let micros = nanos / 1000
        var days = seconds / 86_400
        if seconds % 86_400 < 0 { days -= 1 }
        let secondOfDay = seconds - days * 86_400
        // Civil from days (H. Hinnant).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let micro = String(micros)
        return "\(year)-\(two(month))-\(two(day)) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):"
            + "\(two(secondOfDay % 60)).\(String(repeating: "0", count: 6 - micro.count))\(micro) UTC"
    }
}
