import Analysis

#if canImport(Glibc)
import Glibc
#endif

/// One line per live record, for people watching a terminal.
enum LiveText {
    static func line(_ record: LiveRecord) -> String? {
        switch record {
        case .transaction(let t):
            var text = "\(clock(t.terminator.timeNanoseconds ?? t.startNanoseconds)) flow \(t.flow) "
                + "\(endpoint(t.client)) -> \(endpoint(t.server)) transaction \(t.index)"
            if let from = t.mailFrom { text += " <\(from)> -> " + t.rcptTo.map { "<\($0)>" }.joined(separator: ", ") }
            if let id = t.messageID { text += " Message-ID \(id)" }
            text += ": \(t.outcome.rawValue), \(t.diagnosis.rawValue)"
            var facts: [String] = []
            if t.terminator.seen {
                let frames = t.terminator.frames.map(String.init).joined(separator: "/")
                facts.append(t.terminator.isSplit
                    ? "terminator split after byte \(t.terminator.splitAfter.map(String.init).joined(separator: ",")) across frames \(frames)"
                    : "terminator in frame \(frames)")
            }
            if let reply = t.reply {
                facts.append("\(reply.code) in frame \(reply.frame)" + (reply.latencyNanoseconds.map { " after \(seconds($0))" } ?? ""))
            } else if let gaveUp = t.gaveUp {
                facts.append("no reply; " + (gaveUp.kind == .timeout ? "waited" : "client gave up (\(gaveUp.kind.rawValue.uppercased())) after")
                    + (gaveUp.waitedNanoseconds.map { " \(seconds($0))" } ?? ""))
            }
            return facts.isEmpty ? text : text + " (" + facts.joined(separator: "; ") + ")"
        case .flow(let flow):
            // Clean flows were already told through their transactions.
            guard flow.hasProblems || flow.endReason == .open else { return nil }
            var text = "\(clock(flow.endNanoseconds)) flow \(flow.flow) \(endpoint(flow.client)) -> \(endpoint(flow.server)) "
                + "ended: \(flow.endReason.rawValue), \(flow.transactions.count) transaction\(flow.transactions.count == 1 ? "" : "s")"
            for finding in flow.findings where finding.severity != .info {
                text += "\n  \(finding.severity.rawValue) \(finding.code.rawValue): \(finding.message)"
            }
            return text
        }
    }

    static func line(_ message: MessageRecord) -> String {
        let name = message.messageID.map { "Message-ID \($0)" } ?? "fingerprint \(message.fingerprint ?? "?")"
        let outcomes = message.attempts.map { "\($0.primary.outcome.rawValue)" }.joined(separator: ", ")
        return "message \(name): \(message.attempts.count) attempts (\(outcomes)), \(message.accepted) accepted"
    }

    static func endpoint(_ e: EndpointRecord) -> String { e.ip.contains(":") ? "[\(e.ip)]:\(e.port)" : "\(e.ip):\(e.port)" }

    /// `HH:MM:SS.mmm` UTC.
    static func clock(_ nanoseconds: Int64) -> String {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = (nanoseconds % 1_000_000_000) / 1_000_000
        return two(parts.tm_hour) + ":" + two(parts.tm_min) + ":" + two(parts.tm_sec) + "." + String(String(1000 + millis).dropFirst())
    }

    /// `1.234 s`, or `0.4 ms` below a second.
    static func seconds(_ nanoseconds: Int64) -> String {
        let micros = abs(nanoseconds / 1_000)
        if micros < 1_000_000 { return "\(micros / 1_000).\((micros % 1_000) / 100) ms" }
        let millis = micros / 1_000
        return "\(millis / 1000).\(String(String(1000 + millis % 1000).dropFirst())) s"
    }

    private static func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
