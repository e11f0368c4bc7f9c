
/// Capture times are epoch seconds; the report shows them in UTC, computed by hand so that the output
/// does not depend on the machine's locale or time zone.
enum TimeText {
    /// Civil date (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
    static func civil(daysSinceEpoch days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Splits epoch seconds into whole days and seconds of the day; nil for values no capture can have.
    private static func split(_ time: Double) -> (days: Int, seconds: Double)? {
        guard time.isFinite, abs(time) < 1e12 else { return nil }
        let days = Int((time / 86_400).rounded(.down))
        return (days, time - Double(days) * 86_400)
    }

    static func date(_ time: Double) -> String {
        guard let (days, _) = split(time) else { return "?" }
        let (year, month, day) = civil(daysSinceEpoch: days)
        return cFormat("%04d-%02d-%02d", year, month, day)
    }

    /// `HH:MM:SS`, with `digits` decimals of the second.
    static func clock(_ time: Double, digits: Int = 0) -> String {
        guard let (_, seconds) = split(time) else { return "?" }
        let whole = Int(seconds.rounded(.down))
        let base = cFormat("%02d:%02d:%02d", whole / 3600, whole / 60 % 60, whole % 60)
        guard digits > 0 else { return base }
        let fraction = cFormat("%.\(digits)f", seconds - Double(whole))
        return base + fraction.dropFirst()  // "0.123" -> ".123"
    }

    /// `2024-05-01 10:00:45.123 UTC`.
    static func dateTime(_ time: Double) -> String {
        "\(date(time)) \(clock(time, digits: 3)) UTC"
    }

    /// A duration as people say it: `0.35 s`, `45 s`, `2 min 30 s`, `1 h 5 min`, `2 d 3 h`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let value = abs(seconds)
        let sign = seconds < 0 ? "−" : ""
        if value < 0.001 { return sign + cFormat("%.0f µs", value * 1e6) }
        if value < 1 { return sign + cFormat("%.0f ms", value * 1e3) }
        if value < 10 { return sign + trimmed(cFormat("%.1f", value)) + " s" }
        if value < 60 { return sign + cFormat("%.0f s", value) }
        let total = Int(value.rounded())
        if total < 3600 { return sign + joined(total / 60, "min", total % 60, "s") }
        if total < 86_400 { return sign + joined(total / 3600, "h", total / 60 % 60, "min") }
        return sign + joined(total / 86_400, "d", total / 3600 % 24, "h")
    }

    private static func joined(_ big: Int, _ bigUnit: String, _ small: Int, _ smallUnit: String) -> String {
        small == 0 ? "\(big) \(bigUnit)" : "\(big) \(bigUnit) \(small) \(smallUnit)"
    }

    private static func trimmed(_ text: String) -> String {
        text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }
}

/// Tick positions for a time axis: a round step (1 s … 1 d) giving at most `maxTicks` ticks.
struct TimeTicks {
    static let steps: [Double] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
        3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800,
    ]

    let step: Double
    let times: [Double]

    init(from low: Double, to high: Double, maxTicks: Int = 10) {
        let span = max(high - low, 1)
        step = Self.steps.first { span / $0 <= Double(maxTicks) } ?? (span / Double(maxTicks)).rounded(.up)
        var times: [Double] = []
        var tick = (low / step).rounded(.up) * step
        while tick <= high, times.count <= maxTicks + 1 {
            times.append(tick)
            tick += step
        }
        self.times = times
    }

    /// Label for a tick: the clock to the precision the step needs, the date when it changes.
    func label(_ time: Double, previous: Double?) -> (clock: String, date: String?) {
        let clock = step < 60 ? TimeText.clock(time) : String(TimeText.clock(time).prefix(5))
        let newDay = previous.map { TimeText.date($0) != TimeText.date(time) } ?? true
        return (clock, newDay ? TimeText.date(time) : nil)
    }
}
