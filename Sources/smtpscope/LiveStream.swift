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

    init(format: Format, analysis: AnalysisOptions) {
        self.format = format
        file = fdopen(STDOUT_FILENO, "w")
        failed = file == nil
        messages = LiveMessages(options: analysis)
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

    /// The end of the run: final message records and the summary (jsonl), or the report (text):
    /// retried messages and the summary, flows having been printed as they closed.
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
/// its flow record) goes into a ``MessageTable`` keyed as the offline ``Correlator`` keys
/// messages; a message's record is emitted again each time its entry changes. The table
/// is bounded by ``AnalysisOptions/maxCorrelatedMessages`` (least recently seen forgotten).
struct LiveMessages {
    private var table: MessageTable

    init(options: AnalysisOptions) { table = MessageTable(options: options) }

    /// The message records that changed because of `record`.
    mutating func note(_ record: LiveRecord) -> [MessageRecord] {
        let transactions: [TransactionRecord]
        switch record {
        case .transaction(let transaction): transactions = [transaction]
        case .flow(let flow): transactions = flow.transactions
        }
        var touched: [String] = []
        for transaction in transactions {
            if let identity = table.note(transaction), !touched.contains(identity) { touched.append(identity) }
        }
        return touched.compactMap { table.message(identity: $0) }
    }
}
