/// The `smtpscope/1` records built as a `JSONValue` tree, then serialized: the encoding
/// smtpscope used before records were written straight as bytes (JSONRecordBytes.swift).
/// Kept as the reference the byte path is tested against (JSONBytePathTests), so the two
/// cannot drift apart unnoticed. Not used for output.
enum JSONReferenceEncoder {
    static func encode(_ flow: FlowRecord) -> String { flowValue(flow).serialized }
    static func encode(_ message: MessageRecord) -> String { messageValue(message).serialized }
    static func encode(_ summary: SummaryRecord) -> String { summaryValue(summary).serialized }
    static func encode(_ transaction: TransactionRecord) -> String { liveTransactionValue(transaction).serialized }

    static func header(_ type: String) -> [(String, JSONValue)] {
        [("type", .string(type)), ("schema", .string(SMTPScopeVersion.schema))]
    }

    static func endpoint(_ endpoint: EndpointRecord) -> JSONValue {
        .object([("ip", .string(endpoint.ip)), ("port", .int(Int64(endpoint.port)))])
    }

    static func flowValue(_ flow: FlowRecord) -> JSONValue {
        .object(header("flow") + [
            ("capture", .int(Int64(flow.capture))),
            ("flow", .int(Int64(flow.flow))),
            ("community_id", .string(flow.communityID)),
            ("client", endpoint(flow.client)),
            ("server", endpoint(flow.server)),
            ("start", .time(flow.startNanoseconds)),
            ("end", .time(flow.endNanoseconds)),
            ("first_frame", .uint(flow.firstFrame)),
            ("last_frame", .uint(flow.lastFrame)),
            ("end_reason", .string(flow.endReason.rawValue)),
            ("closed_by", .optional(flow.closedBy?.rawValue)),
            ("banner", .optional(flow.banner)),
            ("tls", .bool(flow.tls)),
            ("transactions", .array(flow.transactions.map { .object(transactionFields($0)) })),
            ("findings", .array(flow.findings.map(findingValue))),
            ("packets", .uint(flow.packets)),
            ("midstream", .bool(flow.midstream)),
            ("wireshark_filter", .string(flow.wiresharkFilter)),
        ])
    }

    static func transactionFields(_ t: TransactionRecord) -> [(String, JSONValue)] {
        [
            ("index", .int(Int64(t.index))),
            ("mail_from", .optional(t.mailFrom)),
            ("rcpt_to", .array(t.rcptTo.map(JSONValue.string))),
            ("message_id", .optional(t.messageID)),
            ("size", .optionalUInt(t.size)),
            ("fingerprint", .optional(t.fingerprint)),
            ("data_frame", .optionalUInt(t.dataFrame)),
            ("terminator", terminatorValue(t.terminator)),
            ("reply", t.reply.map(replyValue) ?? .null),
            ("outcome", .string(t.outcome.rawValue)),
            ("diagnosis", .string(t.diagnosis.rawValue)),
            ("start", .time(t.startNanoseconds)),
            ("subject", .optional(t.subject)),
            ("gave_up", t.gaveUp.map(gaveUpValue) ?? .null),
        ]
    }

    static func liveTransactionValue(_ t: TransactionRecord) -> JSONValue {
        .object(header("transaction") + [
            ("capture", .int(Int64(t.capture))),
            ("flow", .int(Int64(t.flow))),
            ("client", endpoint(t.client)),
            ("server", endpoint(t.server)),
        ] + transactionFields(t))
    }

    static func terminatorValue(_ t: TerminatorRecord) -> JSONValue {
        .object([
            ("seen", .bool(t.seen)),
            ("style", .optional(t.style)),
            ("frames", .array(t.frames.map(JSONValue.uint))),
            ("split_after", .array(t.splitAfter.map { .int(Int64($0)) })),
            ("time", .time(t.timeNanoseconds)),
            ("spread", .seconds(t.spreadNanoseconds)),
            ("retransmissions", .array(t.retransmissionFrames.map(JSONValue.uint))),
            ("offset", .optionalUInt(t.offset)),
        ])
    }

    static func replyValue(_ r: ReplyRecord) -> JSONValue {
        .object([
            ("code", .int(Int64(r.code))),
            ("text", .string(r.text)),
            ("frame", .uint(r.frame)),
            ("latency", .seconds(r.latencyNanoseconds)),
            ("time", .time(r.timeNanoseconds)),
        ])
    }

    static func gaveUpValue(_ g: GiveUpRecord) -> JSONValue {
        .object([
            ("kind", .string(g.kind.rawValue)),
            ("frame", .optionalUInt(g.frame)),
            ("time", .time(g.timeNanoseconds)),
            ("waited", .seconds(g.waitedNanoseconds)),
        ])
    }

    static func findingValue(_ f: Finding) -> JSONValue {
        .object([
            ("code", .string(f.code.rawValue)),
            ("severity", .string(f.severity.rawValue)),
            ("frames", .array(f.frames.map(JSONValue.uint))),
            ("message", .string(f.message)),
            ("occurrences", .int(Int64(f.occurrences))),
            ("wireshark_filter", f.frames.isEmpty ? .null : .string(WiresharkFilter.frames(f.frames))),
        ])
    }

    static func viewFields(_ v: AttemptView) -> [(String, JSONValue)] {
        [
            ("capture", .int(Int64(v.capture))),
            ("flow", .int(Int64(v.flow))),
            ("transaction", .int(Int64(v.transaction))),
            ("start", .time(v.startNanoseconds)),
            ("outcome", .string(v.outcome.rawValue)),
            ("diagnosis", .string(v.diagnosis.rawValue)),
        ]
    }

    static func messageValue(_ m: MessageRecord) -> JSONValue {
        .object(header("message") + [
            ("message_id", .optional(m.messageID)),
            ("fingerprint", .optional(m.fingerprint)),
            ("attempts", .array(m.attempts.map { attempt in
                .object(viewFields(attempt.primary) + [("views", .array(attempt.views.map { .object(viewFields($0)) }))])
            })),
            ("interval", m.interval.map { i in
                .object([("median", .seconds(i.medianNanoseconds)), ("min", .seconds(i.minNanoseconds)), ("max", .seconds(i.maxNanoseconds))])
            } ?? .null),
            ("regular", .bool(m.regular)),
            ("accepted", .int(Int64(m.accepted))),
            ("accepted_late", .int(Int64(m.acceptedLate))),
            ("pattern", .optional(m.pattern?.rawValue)),
            ("mail_from", .optional(m.mailFrom)),
            ("rcpt_to", .array(m.rcptTo.map(JSONValue.string))),
            ("transactions", .int(Int64(m.transactions))),
        ])
    }

    /// `correlation_evicted` `{messages, transactions}`, only once correlation reached a
    /// limit (``AnalysisOptions/maxCorrelatedMessages``), so runs within it print as before.
    static func correlationLimitFields(_ s: SummaryRecord) -> [(String, JSONValue)] {
        guard s.correlationLimited else { return [] }
        return [("correlation_evicted", .object([
            ("messages", .int(Int64(s.correlationEvictedMessages))),
            ("transactions", .int(Int64(s.correlationDroppedTransactions))),
        ]))]
    }

    static func summaryValue(_ s: SummaryRecord) -> JSONValue {
        let a = s.association
        return .object(header("summary") + [
            ("packets", .uint(s.packets)),
            ("flows", .int(Int64(s.flows))),
            ("transactions", .int(Int64(s.transactions))),
            ("outcomes", .object(Outcome.allCases.map { ($0.rawValue, .int(Int64(s.outcomes[$0] ?? 0))) })),
            ("diagnoses", .object(Diagnosis.allCases.map { ($0.rawValue, .int(Int64(s.diagnoses[$0] ?? 0))) })),
            ("association", .object([
                ("split_unanswered", .int(Int64(a.splitUnanswered))),
                ("split_answered", .int(Int64(a.splitAnswered))),
                ("unsplit_unanswered", .int(Int64(a.unsplitUnanswered))),
                ("unsplit_answered", .int(Int64(a.unsplitAnswered))),
                ("p_value", .double(a.pValue)),
                ("test", .string("fisher_exact_two_sided")),
            ])),
            ("sentence", .string(a.sentence)),
            ("middlebox", .object([
                ("detected", .bool(s.middlebox.detected)),
                ("kind", .optional(s.middlebox.kind)),
                ("evidence", .array(s.middlebox.evidence.map(JSONValue.string))),
            ])),
            ("decode_errors", .uint(s.decodeErrors)),
            ("truncated_frames", .uint(s.truncatedFrames)),
            ("limits_hit", .uint(s.limitsHit)),
        ] + correlationLimitFields(s) + [
            ("drops", .optionalUInt(s.drops)),
            ("read_errors", .int(Int64(s.readErrors))),
            ("messages", .int(Int64(s.messages))),
            ("retried_messages", .int(Int64(s.retriedMessages))),
            ("accepted_late", .int(Int64(s.acceptedLate))),
            ("captures", .array(s.captures.map { c in
                .object([
                    ("index", .int(Int64(c.index))),
                    ("name", .string(c.name)),
                    ("packets", .uint(c.packets)),
                    ("frames_analyzed", .uint(c.framesAnalyzed)),
                    ("bytes", .uint(c.capturedBytes)),
                    ("tcp_segments", .uint(c.tcpSegments)),
                    ("decode_errors", .uint(c.decodeErrors)),
                    ("truncated_frames", .uint(c.truncatedFrames)),
                    ("limits_hit", .uint(c.limitsHit)),
                    ("drops", .optionalUInt(c.drops)),
                    ("start", .time(c.firstNanoseconds)),
                    ("end", .time(c.lastNanoseconds)),
                    ("read_error", c.readError.map { e in
                        .object([("frame", .uint(e.frame)), ("reason", .string(e.reason))])
                    } ?? .null),
                ])
            })),
        ])
    }
}
