import Reassembly
import SMTP
import Wire

extension TranscriptRenderer {
    /// One JSON object per line: a `flow` header, then one object per entry with `type`
    /// (`line`, `message`, `elided`, `end_of_data`, `near_miss`, `smuggling`, `gap`, `not_kept`,
    /// `retransmission`, `tls`, `end`), `dir` (`C`/`S`), `offset`, `length`, `frames`, `pieces`
    /// (`{frame, offset, length}` per segment part, in byte order), `time` (epoch seconds) and
    /// the kind's own fields.
    public func jsonLines(_ recording: TranscriptRecording, entries: [TranscriptEntry]) -> [String] {
        let info = recording.info
        var lines: [String] = [
            JSONValue.object([
                ("type", .string("flow")), ("flow", .int(Int64(info.id.index))),
                ("client", endpoint(info.client)), ("server", endpoint(info.server)),
                ("first_frame", .uint(info.firstFrame)), ("start", .time(info.firstTimestampNanoseconds)),
                ("midstream", .bool(info.midstream)),
                ("frames", recording.summary.map { .uint($0.packets) } ?? .null),
            ]).serialized
        ]
        for entry in entries { lines.append(json(entry, start: info.firstTimestampNanoseconds).serialized) }
        return lines
    }

    func endpoint(_ endpoint: Endpoint) -> JSONValue {
        .object([("ip", .string("\(endpoint.address)")), ("port", .int(Int64(endpoint.port)))])
    }

    func json(_ entry: TranscriptEntry, start: Int64) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("type", .string(typeName(entry.kind))),
            ("dir", .string(entry.direction == .clientToServer ? "C" : "S")),
            ("offset", .uint(entry.offset)), ("length", .uint(entry.length)),
            ("frames", .array(entry.frames.map { .uint($0) })),
            ("pieces", .array(entry.slices.map {
                .object([("frame", .uint($0.frame)), ("offset", .uint($0.offset)), ("length", .int(Int64($0.length)))])
            })),
            ("time", .time(entry.timestampNanoseconds)),
        ]
        if !entry.bytes.isEmpty { fields.append(("text", .string(escaped(entry.bytes)))) }
        switch entry.kind {
        case .command(let verb, let argument):
            fields.append(("verb", .optional(verb)))
            fields.append(("argument", .optional(argument)))
        case .reply(let code):
            fields.append(("code", code.map { .int(Int64($0)) } ?? .null))
        case .message, .encrypted, .notKept:
            break
        case .elided(let count):
            fields.append(("lines", .int(Int64(count))))
        case .endOfData(let t):
            fields += [
                ("transaction", .int(Int64(t.transaction))), ("style", .optional(t.style?.rawValue)),
                ("split_after", .array(t.splitAfter.map { .int(Int64($0)) })),
                ("spread", .seconds(t.spreadNanoseconds)),
                ("repeated_by", .array(t.repeatedBy.map { .uint($0) })),
                ("mail_from", .optional(t.mailFrom)), ("rcpt_to", .array(t.rcptTo.map { .string($0) })),
                ("message_id", .optional(t.messageID)), ("size", .uint(t.size)),
                ("reply_code", t.replyCode.map { .int(Int64($0)) } ?? .null),
            ]
        case .nearMiss(let t, let style):
            fields += [("transaction", .int(Int64(t))), ("style", .string(style.rawValue))]
        case .smuggling(let t, let envelope):
            fields += [
                ("transaction", .int(Int64(t))), ("mail_from", .optional(envelope.mailFrom)),
                ("rcpt_to", .array(envelope.rcptTo.map { .string($0) })), ("message_id", .optional(envelope.messageID)),
            ]
        case .gap(let reason):
            fields.append(("reason", .string(reason.rawValue)))
        case .repeated(let frame, let conflicting):
            fields += [("frame", .uint(frame)), ("conflicting", .bool(conflicting))]
        case .end(let reason, let frame):
            fields += [("reason", .string(reason.rawValue)), ("frame", .uint(frame))]
        }
        return .object(fields)
    }

    func typeName(_ kind: TranscriptEntry.Kind) -> String {
        switch kind {
        case .command, .reply: return "line"
        case .message: return "message"
        case .elided: return "elided"
        case .endOfData: return "end_of_data"
        case .nearMiss: return "near_miss"
        case .smuggling: return "smuggling"
        case .gap: return "gap"
        case .notKept: return "not_kept"
        case .repeated: return "retransmission"
        case .encrypted: return "tls"
        case .end: return "end"
        }
    }
}

extension TranscriptRenderer {
    /// `transcript --list` as JSON Lines: one `flow` object per flow.
    public func listJSONLines(_ flows: [TranscriptFlowListing]) -> [String] {
        flows.map { flow in
            JSONValue.object([
                ("type", .string("flow")), ("flow", .int(Int64(flow.info.id.index))),
                ("client", endpoint(flow.info.client)), ("server", endpoint(flow.info.server)),
                ("frames", .uint(flow.frames)), ("first_frame", .uint(flow.info.firstFrame)),
                ("last_frame", .uint(flow.lastFrame)), ("start", .time(flow.info.firstTimestampNanoseconds)),
                ("midstream", .bool(flow.info.midstream)),
            ]).serialized
        }
    }
}
