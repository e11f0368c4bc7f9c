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

    /// A duration for people: `15.0 s`, `0.2 ms`, `45 s`.
    static func duration(_ nanoseconds: Int64) -> String {
        let magnitude = nanoseconds.magnitude
        if magnitude < 1_000_000 { return "\(fixed(Int64(magnitude), unit: 1_000, decimals: 0)) µs" }
        if magnitude < 1_000_000_000 { return "\(fixed(Int64(magnitude), unit: 1_000_000, decimals: 1)) ms" }
        return "\(fixed(Int64(magnitude), unit: 1_000_000_000, decimals: 1)) s"
    }

    /// `value / unit` rounded to `decimals` places.
    static func fixed(_ value: Int64, unit: Int64, decimals: Int) -> String {
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (value.magnitude * UInt64(scale) + UInt64(unit) / 2) / UInt64(unit)
        let whole = scaled / UInt64(scale)
        guard decimals > 0 else { return (value < 0 ? "-" : "") + "\(whole)" }
        let fraction = String(scaled % UInt64(scale))
        return (value < 0 ? "-" : "") + "\(whole)." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }

    /// UTC calendar time for people: `2024-03-01 10:00:01.123456 UTC`.
    static func utc(_ nanoseconds: Int64) -> String {
        let seconds = nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000
        let micros = (nanoseconds - seconds * 1_000_000_000) / 1000
        var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
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
