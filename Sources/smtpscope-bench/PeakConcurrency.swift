import Foundation

/// The most SMTP connections open at one time in an analysis, from its flow records' `start` and
/// `end` times: per-connection memory follows this, so two captures compared for flatness should
/// reach the same figure (a short capture of a mix may still be ramping up when it ends).
enum PeakConcurrency {
    static func of(jsonLines path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var changes: [(time: Double, step: Int)] = []
        for line in text.split(separator: "\n") where line.hasPrefix("{\"type\":\"flow\"") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let start = (object["start"] as? NSNumber)?.doubleValue,
                  let end = (object["end"] as? NSNumber)?.doubleValue
            else { continue }
            changes.append((start, 1))
            changes.append((end, -1))
        }
        guard !changes.isEmpty else { return nil }
        // Opens before closes at the same instant: both connections counted as open then.
        changes.sort { ($0.time, -$0.step) < ($1.time, -$1.step) }
        var open = 0, peak = 0
        for change in changes {
            open += change.step
            peak = max(peak, open)
        }
        return peak
    }
}
