import Analysis

#if canImport(Glibc)
import Glibc
#endif

/// Writes live records to standard output one line at a time, flushed at once, so a
/// reader at the other end of a pipe (`| jq`) sees each record as it is decided.
final class LiveStream {
    enum Format {
        case text, jsonl
    }

    let format: Format
    private let file: UnsafeMutablePointer<FILE>?
    private var messages: LiveMessages
    /// A write failed (e.g. the reader of the pipe went away).
    private(set) var failed = false

    init(format: Format, crossCaptureWindowNanoseconds: Int64) {
        self.format = format
        file = fdopen(STDOUT_FILENO, "w")
        failed = file == nil
        messages = LiveMessages(windowNanoseconds: crossCaptureWindowNanoseconds)
    }

    /// One record from the analyzer, then any message record it changed.
    func emit(_ record: LiveRecord) {
        switch format {
        case .jsonl: line(JSONLinesEncoder.encode(record))
        case .text: if let text = LiveText.line(record) { line(text) }
        }
        for message in messages.note(record) {
            switch format {
            case .jsonl: line(JSONLinesEncoder.encode(message))
            case .text: line(LiveText.line(message))
            }
        }
    }

    /// The end of the run: final message records and the summary (jsonl), or the full report (text).
    func finish(_ result: AnalysisResult) {
        switch format {
        case .jsonl:
            for message in result.messages { line(JSONLinesEncoder.encode(message)) }
            line(JSONLinesEncoder.encode(result.summary))
        case .text:
            line("\nCapture stopped. Report:\n")
            line(renderText(result))
        }
    }

    private func line(_ text: String) {
        guard let file, !failed else { return }
        if fputs(text.hasSuffix("\n") ? text : text + "\n", file) < 0 || fflush(file) != 0 { failed = true }
    }
}

/// Message records as retries arrive: every transaction (provisional, then final from
/// its flow record) is grouped by Message-ID, or fingerprint plus envelope, as the
/// offline ``Correlator`` groups them; a group's record is emitted again each time it changes.
struct LiveMessages {
    private struct TransactionKey: Hashable {
        var capture: Int, flow: Int, index: Int
    }

    /// Identities followed at most; beyond it new messages are no longer followed live
    /// (the final records at the end still cover them).
    static let maxIdentities = 100_000

    private let window: Int64
    private var groups: [String: [TransactionKey: TransactionRecord]] = [:]
    private var lastEmitted: [String: MessageRecord] = [:]

    init(windowNanoseconds: Int64) { window = windowNanoseconds }

    /// The message records that changed because of `record`.
    mutating func note(_ record: LiveRecord) -> [MessageRecord] {
        let transactions: [TransactionRecord]
        switch record {
        case .transaction(let transaction): transactions = [transaction]
        case .flow(let flow): transactions = flow.transactions
        }
        var touched: [String] = []
        for transaction in transactions {
            guard let identity = Self.identity(of: transaction) else { continue }
            if groups[identity] == nil && groups.count >= Self.maxIdentities { continue }
            groups[identity, default: [:]][TransactionKey(capture: transaction.capture, flow: transaction.flow, index: transaction.index)] = transaction
            if !touched.contains(identity) { touched.append(identity) }
        }
        var changed: [MessageRecord] = []
        for identity in touched {
            guard let group = groups[identity], group.count >= 2,
                  let message = Correlator.messages(from: Array(group.values), windowNanoseconds: window).first,
                  lastEmitted[identity] != message
            else { continue }
            lastEmitted[identity] = message
            changed.append(message)
        }
        return changed
    }

    /// The offline grouping key (DESIGN.md: Message-ID; without one, fingerprint plus envelope).
    static func identity(of record: TransactionRecord) -> String? {
        if let id = record.messageID, !id.isEmpty { return "id:" + id }
        guard let fingerprint = record.fingerprint, !fingerprint.isEmpty else { return nil }
        return "fp:" + fingerprint + "|" + (record.mailFrom ?? "") + "|" + record.rcptTo.sorted().joined(separator: ",")
    }
}
