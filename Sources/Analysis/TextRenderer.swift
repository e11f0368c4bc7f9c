/// Options of the text report.
public struct TextOptions: Sendable {
    /// Also print flows with no problem.
    public var all: Bool
    public init(all: Bool = false) { self.all = all }
}

/// The report for people: one block per problem flow, then retried messages, then the
/// summary sentence and the middlebox verdict.
public func renderText(_ result: AnalysisResult, options: TextOptions = TextOptions()) -> String {
    var out = ""
    let names = TextReport.captureNames(result.summary)
    var shown = 0
    for flow in result.flows where options.all || flow.hasProblems {
        TextReport.writeFlow(flow, captureName: names[flow.capture] ?? "capture \(flow.capture)", to: &out)
        shown += 1
    }
    TextReport.writeEnd(messages: result.messages, summary: result.summary, shownFlows: shown) { out += $0 }
    return out
}

/// The text report in pieces, for writing it as the run goes (`analyze` streams each
/// flow's block as the flow closes): ``writeFlow(_:captureName:to:)`` per shown flow,
/// then ``writeEnd(messages:summary:shownFlows:write:)`` once. Together they print exactly
/// what ``renderText(_:options:)`` prints.
public enum TextReport {
    /// One flow's block, followed by the blank line that separates blocks.
    public static func writeFlow(_ flow: FlowRecord, captureName: String, to out: inout String) {
        TextRenderer.writeFlow(flow, captureName: captureName, to: &out)
        out += "\n"
    }

    /// The retried messages and the summary, handed to `write` a few lines at a time.
    /// `shownFlows` is the number of flow blocks printed before.
    public static func writeEnd(messages: [MessageRecord], summary: SummaryRecord, shownFlows: Int, write: (String) -> Void) {
        let names = captureNames(summary)
        var out = ""
        var first = true
        for message in messages where message.attempts.count >= 2 || message.acceptedLate > 0 {
            out.removeAll(keepingCapacity: true)
            if first { out += "Retried messages\n" }
            first = false
            TextRenderer.writeMessage(message, names: names, to: &out)
            write(out)
        }
        out.removeAll(keepingCapacity: true)
        if !first { out += "\n" }
        TextRenderer.writeSummary(summary, shownFlows: shownFlows, to: &out)
        write(out)
    }

    static func captureNames(_ summary: SummaryRecord) -> [Int: String] {
        Dictionary(summary.captures.map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
    }
}

enum TextRenderer {
    static func writeFlow(_ flow: FlowRecord, captureName: String, to out: inout String) {
        out += "\(captureName), flow \(flow.flow): \(endpoint(flow.client)) -> \(endpoint(flow.server)), "
            + "\(TimeText.utc(flow.startNanoseconds)), frames \(flow.firstFrame)-\(flow.lastFrame), ended: \(flow.endReason.rawValue)"
        if let closedBy = flow.closedBy { out += " (closed by the \(closedBy.rawValue))" }
        out += "\n"
        if let banner = flow.banner { out += "  banner: \(banner)\n" }
        for transaction in flow.transactions { writeTransaction(transaction, to: &out) }
        for finding in flow.findings {
            out += "  \(finding.severity.rawValue) \(finding.code.rawValue): \(finding.message)"
            if !finding.frames.isEmpty { out += " [frames \(finding.frames.map(String.init).joined(separator: " "))]" }
            out += "\n"
        }
        out += "  wireshark: \(flow.wiresharkFilter)\n"
    }

    static func writeTransaction(_ t: TransactionRecord, to out: inout String) {
        var head = "  transaction \(t.index)"
        if let from = t.mailFrom { head += " <\(from)> -> " + t.rcptTo.map { "<\($0)>" }.joined(separator: ", ") }
        if let id = t.messageID { head += ", Message-ID \(id)" }
        if let size = t.size { head += ", \(size) bytes" }
        out += head + ": \(t.outcome.rawValue), \(t.diagnosis.rawValue)\n"
        out += "    " + story(t) + "\n"
    }

    /// What happened, in words with numbers.
    static func story(_ t: TransactionRecord) -> String {
        var parts: [String] = []
        let term = t.terminator
        let frames = term.frames.map(String.init).joined(separator: "/")
        if term.seen {
            if term.style == "bdat" {
                parts.append("BDAT LAST in frame \(frames)")
            } else if term.isSplit {
                parts.append("terminator split after byte \(term.splitAfter.map(String.init).joined(separator: ",")) across frames \(frames)")
            } else {
                parts.append("terminator in one segment (frame \(frames))")
            }
            if term.style != "crlf" && term.style != "bdat", let style = term.style { parts.append("style \(style)") }
            if !term.retransmissionFrames.isEmpty {
                parts.append("resent in frames \(term.retransmissionFrames.map(String.init).joined(separator: " "))")
            }
        } else if t.dataFrame != nil {
            parts.append("DATA in frame \(t.dataFrame.map(String.init) ?? "?"), no terminator arrived")
        }
        if let reply = t.reply {
            let latency = reply.latencyNanoseconds.map { " after \(TimeText.duration($0))" } ?? ""
            parts.append("\(reply.code) came back\(latency) (frame \(reply.frame): \(reply.text.prefix(60)))")
        } else if t.outcome == .noReply {
            parts.append("no reply came back")
        }
        if let gaveUp = t.gaveUp {
            let waited = gaveUp.waitedNanoseconds.map { " after \(TimeText.duration($0))" } ?? ""
            switch gaveUp.kind {
            case .timeout: parts.append("the capture went on\(waited) with no reply")
            default: parts.append("the client gave up\(waited) (\(gaveUp.kind.rawValue.uppercased())\(gaveUp.frame.map { ", frame \($0)" } ?? ""))")
            }
        }
        if t.outcome == .acceptedLate { parts.append("the server accepted it only after that: a duplicate in the making") }
        return parts.isEmpty ? "nothing more is known" : parts.joined(separator: ", ")
    }

    static func writeMessage(_ m: MessageRecord, names: [Int: String], to out: inout String) {
        let name = m.messageID.map { "Message-ID \($0)" } ?? "message \(m.fingerprint?.prefix(16) ?? "?")"
        out += "  \(name): sent \(m.attempts.count) time\(m.attempts.count == 1 ? "" : "s")"
        if let interval = m.interval {
            if interval.minNanoseconds == interval.maxNanoseconds {
                out += " at \(TimeText.duration(interval.medianNanoseconds)) intervals"
            } else {
                out += " at intervals of \(TimeText.duration(interval.minNanoseconds))-\(TimeText.duration(interval.maxNanoseconds)) (median \(TimeText.duration(interval.medianNanoseconds)))"
            }
        }
        if let pattern = m.pattern { out += ", \(pattern.rawValue)" }
        out += "; accepted \(m.accepted) time\(m.accepted == 1 ? "" : "s")"
        if m.acceptedLate > 0 { out += " (\(m.acceptedLate) after the sender had given up: duplicate delivery)" }
        out += "\n"
        for attempt in m.attempts {
            let views = attempt.views.map { v in
                "\(names[v.capture] ?? "capture \(v.capture)") flow \(v.flow) tx \(v.transaction): \(v.outcome.rawValue)/\(v.diagnosis.rawValue)"
            }
            out += "    \(TimeText.utc(attempt.primary.startNanoseconds))  " + views.joined(separator: " | ") + "\n"
        }
    }

    static func writeSummary(_ s: SummaryRecord, shownFlows: Int, to out: inout String) {
        out += "Summary: \(counted(Int(clamping: s.packets), "packet")), \(counted(s.flows, "SMTP flow")), "
            + counted(s.transactions, "transaction")
        let outcomes = Outcome.allCases.compactMap { o in s.outcomes[o].map { "\($0) \(o.rawValue)" } }
        if !outcomes.isEmpty { out += " (" + outcomes.joined(separator: ", ") + ")" }
        out += "\n"
        out += s.association.sentence + "\n"
        if s.middlebox.detected {
            out += "Middlebox: \(s.middlebox.kind ?? "unknown") (Cisco PIX/ASA SMTP fixup-like) detected:\n"
            for evidence in s.middlebox.evidence { out += "  - \(evidence)\n" }
        } else {
            out += "Middlebox: none detected.\n"
        }
        if s.decodeErrors + s.truncatedFrames + s.limitsHit > 0 || s.readErrors > 0 || s.correlationLimited {
            out += "Capture: \(s.decodeErrors) decode errors, \(s.truncatedFrames) truncated frames, \(s.limitsHit) limits reached"
            for capture in s.captures {
                if let error = capture.readError { out += "; \(capture.name) unreadable from frame \(error.frame)" }
            }
            if s.correlationLimited {
                out += "; correlation limit: \(s.correlationEvictedMessages) messages and \(s.correlationDroppedTransactions) transactions forgotten"
            }
            out += ".\n"
        }
    }

    /// `1 packet`, `2 packets`.
    static func counted(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }

    static func endpoint(_ e: EndpointRecord) -> String {
        e.ip.contains(":") ? "[\(e.ip)]:\(e.port)" : "\(e.ip):\(e.port)"
    }
}
