import Wire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the generator made happen to one transaction (a MAIL … DATA attempt),
/// written as one JSON line of the truth file. Field names follow the
/// `smtpscope/1` transaction record where one exists.
struct TruthRecord {
    var client: Endpoint
    var server: Endpoint
    var flowStart: Int64
    /// 0-based index of the transaction in its connection.
    var transaction: Int
    /// The Message-ID on the wire; nil when the message was never sent (greylisted at RCPT).
    var messageID: String?
    var plannedMessageID: String
    var attempt: Int
    /// Segment boundaries inside `\r\n.\r\n`, as generated.
    var splitAfter: [Int]
    var terminatorFrames: [UInt64]
    /// Reply to end of data (or to DATA when every RCPT was refused); nil when none came.
    var replyCode: Int?
    var recipientReplyCode: Int?
    var replyFrame: UInt64?
    var outcome: String
    var diagnosis: String
    var mailTime: Int64
    /// Message size after dot-unstuffing, including the last line's CRLF (RFC 5321 §4.1.1.4), without `.\r\n`.
    var size: Int?
    var dotStuffed: Bool

    var json: String {
        var fields: [String] = [
            #""type":"message""#,
            #""client":\#(endpoint(client))"#,
            #""server":\#(endpoint(server))"#,
            #""flow_start":\#(seconds(flowStart))"#,
            #""transaction":\#(transaction)"#,
            #""message_id":\#(messageID.map(quoted) ?? "null")"#,
            #""planned_message_id":\#(quoted(plannedMessageID))"#,
            #""attempt":\#(attempt)"#,
            #""split_after":[\#(splitAfter.map(String.init).joined(separator: ","))]"#,
            #""terminator_frames":[\#(terminatorFrames.map(String.init).joined(separator: ","))]"#,
            #""reply_code":\#(replyCode.map(String.init) ?? "null")"#,
            #""reply_frame":\#(replyFrame.map(String.init) ?? "null")"#,
        ]
        if let recipientReplyCode { fields.append(#""rcpt_reply_code":\#(recipientReplyCode)"#) }
        fields += [
            #""outcome":\#(quoted(outcome))"#,
            #""diagnosis":\#(quoted(diagnosis))"#,
            #""mail_time":\#(seconds(mailTime))"#,
            #""size":\#(size.map(String.init) ?? "null")"#,
            #""dot_stuffed":\#(dotStuffed)"#,
        ]
        return "{" + fields.joined(separator: ",") + "}"
    }
}

func endpoint(_ endpoint: Endpoint) -> String { #"{"ip":"\#(endpoint.address)","port":\#(endpoint.port)}"# }

/// Epoch seconds with nanosecond digits, exact (no floating point rounding).
func seconds(_ nanoseconds: Int64) -> String {
    let fraction = String(nanoseconds % 1_000_000_000)
    return "\(nanoseconds / 1_000_000_000)." + String(repeating: "0", count: 9 - fraction.count) + fraction
}

/// Values here are made by the generator (no quotes or control characters), but escape anyway.
func quoted(_ text: String) -> String {
    var out = "\""
    for character in text.unicodeScalars {
        switch character {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where character.value < 0x20: out += "?"
        default: out.unicodeScalars.append(character)
        }
    }
    return out + "\""
}

/// Buffered line writer for the truth file.
final class TruthWriter {
    private let file: UnsafeMutablePointer<FILE>
    private(set) var records = 0

    init?(path: String) {
        guard let file = fopen(path, "w") else { return nil }
        self.file = file
    }

    func write(line: String) {
        fputs(line, file)
        fputs("\n", file)
    }

    func write(_ record: TruthRecord) {
        records += 1
        write(line: record.json)
    }

    func close() -> Bool { fclose(file) == 0 }
}
