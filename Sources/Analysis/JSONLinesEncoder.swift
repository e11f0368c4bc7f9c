/// JSON Lines per the `smtpscope/1` contract (DESIGN.md "Output contract"). Keys come in
/// contract order, then added fields; unknown values are `null`, never omitted; times
/// are epoch seconds with 6 decimals; durations are seconds with 6 decimals.
///
/// Records are written as UTF-8 straight into a reused byte buffer (JSONRecordBytes.swift);
/// the `String` API decodes those bytes, so both give the same text.
public enum JSONLinesEncoder {
    /// All lines of a run: flows, then messages, then the summary (last).
    public static func encode(_ result: AnalysisResult) -> [String] {
        result.flows.map(encode) + result.messages.map(encode) + [encode(result.summary)]
    }

    /// The lines of `encode(_ result: AnalysisResult)`, each ending in `"\n"`, handed to `write` one at a time
    /// from one reused buffer: no array of all lines is built (for writing straight to output).
    public static func write(_ result: AnalysisResult, to write: (String) -> Void) {
        var writer = LineWriter()
        for flow in result.flows { writer.write(flow, to: write) }
        writer.writeEnd(messages: result.messages, summary: result.summary, to: write)
    }

    /// Writes records one line at a time from one reused byte buffer, for output written as
    /// the run goes (`analyze` streams each `flow` record as the flow closes).
    ///
    /// The `bytesTo:` variants hand `write` the line's UTF-8 bytes, borrowed for the call only
    /// (do not keep the pointer); the `to:` variants hand it the same text as a `String`.
    public struct LineWriter {
        private var json = JSONByteWriter()

        public init() {}

        /// One `flow` record, ending in `"\n"`, as UTF-8 bytes.
        public mutating func write(_ flow: FlowRecord, bytesTo write: (UnsafeRawBufferPointer) -> Void) {
            json.reset()
            json.flow(flow)
            emit(to: write)
        }

        /// The `message` records, then the `summary` record (last), each ending in `"\n"`, as UTF-8 bytes.
        public mutating func writeEnd(messages: [MessageRecord], summary: SummaryRecord, bytesTo write: (UnsafeRawBufferPointer) -> Void) {
            for message in messages {
                json.reset()
                json.message(message)
                emit(to: write)
            }
            json.reset()
            json.summary(summary)
            emit(to: write)
        }

        /// One `flow` record, ending in `"\n"`.
        public mutating func write(_ flow: FlowRecord, to write: (String) -> Void) {
            self.write(flow, bytesTo: { bytes in write(String(decoding: bytes, as: UTF8.self)) })
        }

        /// The `message` records, then the `summary` record (last), each ending in `"\n"`.
        public mutating func writeEnd(messages: [MessageRecord], summary: SummaryRecord, to write: (String) -> Void) {
            writeEnd(messages: messages, summary: summary, bytesTo: { bytes in write(String(decoding: bytes, as: UTF8.self)) })
        }

        private mutating func emit(to write: (UnsafeRawBufferPointer) -> Void) {
            json.newline()
            json.withBytes { write($0) }
        }
    }

    public static func encode(_ flow: FlowRecord) -> String { text { $0.flow(flow) } }
    public static func encode(_ message: MessageRecord) -> String { text { $0.message(message) } }
    public static func encode(_ summary: SummaryRecord) -> String { text { $0.summary(summary) } }
    /// The live `transaction` record.
    public static func encode(_ transaction: TransactionRecord) -> String { text { $0.liveTransaction(transaction) } }
    public static func encode(_ record: LiveRecord) -> String {
        switch record {
        case .transaction(let transaction): return encode(transaction)
        case .flow(let flow): return encode(flow)
        }
    }

    /// One record as a `String`, without the line's `"\n"`.
    private static func text(_ record: (inout JSONByteWriter) -> Void) -> String {
        var json = JSONByteWriter(capacity: 1024)
        record(&json)
        return json.withBytes { String(decoding: $0, as: UTF8.self) }
    }
}
