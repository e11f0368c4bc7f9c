import SMTP

/// One transaction as one capture saw it.
public struct AttemptView: Sendable, Hashable {
    public var capture: Int
    public var flow: Int
    public var transaction: Int
    public var startNanoseconds: Int64
    public var outcome: Outcome
    public var diagnosis: Diagnosis

    public init(_ record: TransactionRecord) {
        self = withUnsafePointer(to: record) { AttemptView($0) }
    }

    /// The view of a record read where it is.
    init(_ record: UnsafePointer<TransactionRecord>) {
        capture = record.pointee.capture
        flow = record.pointee.flow
        transaction = record.pointee.index
        startNanoseconds = record.pointee.startNanoseconds
        outcome = record.pointee.outcome
        diagnosis = record.pointee.diagnosis
    }
}

/// One attempt to send a message, possibly seen by several captures (e.g. outside and
/// inside a firewall). The earliest view is the primary one: it is nearest the sender,
/// so its outcome is what the sender experienced.
public struct Attempt: Sendable, Hashable {
    /// All views, earliest first.
    public var views: [AttemptView]
    public var primary: AttemptView { views[0] }
    /// Some view shows the server accepting the message (in time or late).
    public var accepted: Bool { views.contains { $0.outcome == .accepted || $0.outcome == .acceptedLate } }
    /// Accepted, but not in time for the sender: it will send again (a duplicate).
    public var acceptedLate: Bool { accepted && primary.outcome != .accepted }
    /// One capture saw the client's terminator go unanswered, another never saw it arrive:
    /// something between them dropped it.
    public var terminatorLost: Bool {
        views.count >= 2 && views.contains { $0.diagnosis == .terminatorNotReceived } && views.contains { $0.diagnosis.isUnanswered }
    }
}

/// Seconds between consecutive attempt starts.
public struct IntervalStats: Sendable, Hashable {
    public var medianNanoseconds: Int64
    public var minNanoseconds: Int64
    public var maxNanoseconds: Int64
}

/// How attempts were spaced.
public enum RetryPattern: String, Sendable, Hashable {
    /// All intervals within 20 % (or 2 s) of the median.
    case steady
    /// Intervals never shrink and the last is at least 1.5 times the first.
    case backoff
    case irregular
}

/// One message seen in two or more transactions, across flows and captures.
public struct MessageRecord: Sendable, Hashable {
    public var messageID: String?
    public var fingerprint: String?
    public var mailFrom: String?
    public var rcptTo: [String]
    public var attempts: [Attempt]
    /// Nil with a single attempt (seen from two captures).
    public var interval: IntervalStats?
    public var pattern: RetryPattern?
    public var regular: Bool { pattern == .steady || pattern == .backoff }
    /// Attempts the server accepted.
    public var accepted: Int { attempts.filter(\.accepted).count }
    /// Attempts accepted after the sender had given up: duplicates in the making.
    public var acceptedLate: Int { attempts.filter(\.acceptedLate).count }
    /// Transactions (views) behind the attempts.
    public var transactions: Int { attempts.reduce(0) { $0 + $1.views.count } }
}

/// Cross-flow correlation. Reads transaction records only, never parser state, so the
/// same step can later merge JSON Lines from many machines.
///
/// Identity: the Message-ID when there is one, else the content fingerprint plus the
/// envelope (MAIL FROM and the sorted RCPT TO list).
///
/// Several captures of one run: transactions of the same message in *different* captures
/// whose starts lie within ``AnalysisOptions/crossCaptureWindowNanoseconds`` are one
/// attempt seen from two vantage points, not two attempts. Intervals are measured between
/// attempts, so a message sent 4 times and captured on both sides of a firewall shows 4
/// attempts of 2 views each, not 8 attempts.
public enum Correlator {
    public static func messages(from records: [TransactionRecord], windowNanoseconds: Int64) -> [MessageRecord] {
        var groups: [String: [TransactionRecord]] = [:]
        var order: [String] = []
        for record in records {
            guard let key = identity(of: record) else { continue }
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(record)
        }
        var messages: [MessageRecord] = []
        for key in order {
            guard let group = groups[key], group.count >= 2 else { continue }
            messages.append(message(from: group, windowNanoseconds: windowNanoseconds))
        }
        return messages.sorted { ($0.attempts[0].primary.startNanoseconds, $0.messageID ?? "", $0.fingerprint ?? "")
            < ($1.attempts[0].primary.startNanoseconds, $1.messageID ?? "", $1.fingerprint ?? "") }
    }

    static func identity(of record: TransactionRecord) -> String? {
        var text = ""
        return identity(of: record, reusing: &text)
    }

    /// ``identity(of:)``, the usual `"id:" + messageID` of ASCII text written into `text`
    /// (emptied first; its storage reused when nothing else holds it) and returned.
    static func identity(of record: TransactionRecord, reusing text: inout String) -> String? {
        if let id = record.messageIDText {
            let fast = id.withBytes { raw -> Bool in
                let utf8 = UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
                guard !utf8.isEmpty, JSONByteWriter.isASCII(utf8) else { return false }
                text.removeAll(keepingCapacity: true)
                text.reserveCapacity(utf8.count + 3)
                text.append("id:")
                // In pieces of at most 15 bytes: each is a small string (no allocation of its
                // own), copied in place.
                var at = 0
                while at < utf8.count {
                    let end = min(at + 15, utf8.count)
                    text.append(String(decoding: UnsafeBufferPointer(rebasing: utf8[at..<end]), as: UTF8.self))
                    at = end
                }
                return true
            }
            if fast { return text }
        } else {
            // Without Message-ID, no identity without a fingerprint (decided before any string is made).
            guard let fingerprint = record.fingerprintText, !fingerprint.withBytes({ $0.isEmpty }) else { return nil }
            if fingerprintIdentity(of: record, into: &text) { return text }
        }
        return identity(messageID: record.messageID, fingerprint: record.fingerprint, mailFrom: record.mailFrom, rcptTo: record.rcptTo)
    }

    /// ``identity(messageID:fingerprint:mailFrom:rcptTo:)`` of a record without Message-ID,
    /// `"fp:" + fingerprint + "|" + mailFrom + "|" + rcptTo.sorted().joined(separator: ",")`,
    /// written into `text` when every part is ASCII (ASCII strings sort as their bytes).
    /// False (nothing decided) otherwise.
    private static func fingerprintIdentity(of record: TransactionRecord, into text: inout String) -> Bool {
        guard let fingerprint = record.fingerprintText else { return false }
        let lines = record.rcptToList
        return fingerprint.withBytes { print -> Bool in
            guard !print.isEmpty, isASCII(print) else { return false }
            let from = record.mailFromText ?? SMTPText("")
            return from.withBytes { from -> Bool in
                guard isASCII(from) else { return false }
                var ascii = true
                lines.forEachLine(while: { line in
                    ascii = isASCII(line)
                    return ascii
                })
                guard ascii else { return false }
                text.removeAll(keepingCapacity: true)
                appendASCII("fp:", to: &text)
                appendASCII(print, to: &text)
                appendASCII("|", to: &text)
                appendASCII(from, to: &text)
                appendASCII("|", to: &text)
                // ASCII strings sort as their bytes.
                var first = true
                lines.forEachLineInByteOrder { line in
                    if !first { appendASCII(",", to: &text) }
                    first = false
                    appendASCII(line, to: &text)
                }
                return true
            }
        }
    }

    private static func isASCII(_ raw: UnsafeRawBufferPointer) -> Bool {
        JSONByteWriter.isASCII(UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count))
    }

    private static func appendASCII(_ literal: StaticString, to text: inout String) {
        appendASCII(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount), to: &text)
    }

    /// Appended in pieces of at most 15 bytes: each is a small string (no allocation of its
    /// own), copied in place.
    private static func appendASCII(_ bytes: UnsafeRawBufferPointer, to text: inout String) {
        var at = 0
        while at < bytes.count {
            let end = min(at + 15, bytes.count)
            text.append(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[at..<end]), as: UTF8.self))
            at = end
        }
    }

    /// The identity of a transaction with this envelope.
    static func identity(messageID: String?, fingerprint: String?, mailFrom: String?, rcptTo: [String]) -> String? {
        if let id = messageID, !id.isEmpty { return "id:" + id }
        guard let fingerprint, !fingerprint.isEmpty else { return nil }
        return "fp:" + fingerprint + "|" + (mailFrom ?? "") + "|" + rcptTo.sorted().joined(separator: ",")
    }

    static func message(from group: [TransactionRecord], windowNanoseconds: Int64) -> MessageRecord {
        let sorted = group.sorted { ($0.startNanoseconds, $0.capture, $0.flow, $0.index) < ($1.startNanoseconds, $1.capture, $1.flow, $1.index) }
        let first = sorted[0]
        return message(
            views: sorted.map(AttemptView.init), messageID: sorted.lazy.compactMap(\.messageID).first,
            fingerprint: sorted.lazy.compactMap(\.fingerprint).first, mailFrom: first.mailFrom, rcptTo: first.rcptTo,
            windowNanoseconds: windowNanoseconds)
    }

    /// One message from its views, sorted by (start, capture, flow, transaction): views of
    /// different captures within the window join one attempt, the rest start new ones.
    static func message(views: [AttemptView], messageID: String?, fingerprint: String?, mailFrom: String?, rcptTo: [String],
                        windowNanoseconds: Int64) -> MessageRecord {
        var attempts: [Attempt] = []
        for view in views {
            if let at = attempts.lastIndex(where: { attempt in
                !attempt.views.contains { $0.capture == view.capture }
                    && (view.startNanoseconds &- attempt.primary.startNanoseconds).magnitude <= windowNanoseconds.magnitude
            }) {
                attempts[at].views.append(view)
            } else {
                attempts.append(Attempt(views: [view]))
            }
        }
        let starts = attempts.map(\.primary.startNanoseconds)
        let intervals = zip(starts.dropFirst(), starts).map { $0 &- $1 }
        return MessageRecord(
            messageID: messageID, fingerprint: fingerprint, mailFrom: mailFrom, rcptTo: rcptTo, attempts: attempts,
            interval: stats(intervals), pattern: pattern(intervals))
    }

    static func stats(_ intervals: [Int64]) -> IntervalStats? {
        guard let low = intervals.min(), let high = intervals.max() else { return nil }
        return IntervalStats(medianNanoseconds: median(intervals), minNanoseconds: low, maxNanoseconds: high)
    }

    static func median(_ values: [Int64]) -> Int64 {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : sorted[mid - 1] / 2 + sorted[mid] / 2 + (sorted[mid - 1] % 2 + sorted[mid] % 2) / 2
    }

    /// Nil with fewer than two intervals: one interval shows no pattern.
    static func pattern(_ intervals: [Int64]) -> RetryPattern? {
        guard intervals.count >= 2 else { return nil }
        let middle = median(intervals)
        let tolerance = max(middle / 5, 2_000_000_000)
        if intervals.allSatisfy({ ($0 &- middle).magnitude <= tolerance.magnitude }) { return .steady }
        let growing = zip(intervals.dropFirst(), intervals).allSatisfy { $0 >= $1 }
        if growing, let first = intervals.first, let last = intervals.last, last &* 2 >= first &* 3 { return .backoff }
        return .irregular
    }
}
