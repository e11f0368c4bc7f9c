@testable import Analysis
import Reassembly
import SMTP
import Wire

/// Base capture time of the synthetic flows: 2023-11-14 22:13:20 UTC.
let t0: Int64 = 1_700_000_000 * 1_000_000_000

/// Capture time `ms` milliseconds after ``t0``.
func at(_ ms: Int64) -> Int64 { t0 + ms * 1_000_000 }

let clientEndpoint = Endpoint(address: .v4(0xC000_020A), port: 41234)  // 192.0.2.10
let serverEndpoint = Endpoint(address: .v4(0xC633_6419), port: 25)  // 198.51.100.25

/// Drives a ``FlowTracker`` through its test seam: stream events carry real client bytes
/// (for terminator geometry), SMTP events are injected with the context they fire in.
struct TrackerHarness {
    var tracker: FlowTracker<SilentDialog>
    let id = FlowID(3)

    init(midstream: Bool = false, options: AnalysisOptions = AnalysisOptions()) {
        let info = FlowInfo(id: id, client: clientEndpoint, server: serverEndpoint, firstFrame: 1,
                            firstTimestampNanoseconds: t0, midstream: midstream)
        tracker = FlowTracker(info: info, capture: 0, options: options, dialog: SilentDialog())
    }

    mutating func clientData(_ text: String, offset: UInt64, frame: UInt64, ms: Int64) {
        data(.clientToServer, text, offset: offset, frame: frame, ms: ms)
    }

    mutating func data(_ direction: FlowDirection, _ text: String, offset: UInt64, frame: UInt64, ms: Int64) {
        let bytes = Array(text.utf8)
        let segment = SegmentInfo(frame: frame, sequenceNumber: UInt32(truncatingIfNeeded: offset &+ 1000),
                                  timestampNanoseconds: at(ms), flags: [.ack, .psh], streamOffset: offset, length: bytes.count)
        bytes.withUnsafeBytes { buffer in
            tracker.handle(.data(id, direction, offset: offset, bytes: buffer, segment: segment))
        }
    }

    mutating func smtp(_ event: SMTPEvent, _ side: SMTPSide, frame: UInt64, ms: Int64, end: StreamEndReason? = nil) {
        tracker.handle(event, context: EventContext(side: side, frame: frame, timestampNanoseconds: at(ms), endReason: end))
    }

    mutating func end(_ direction: FlowDirection, _ reason: StreamEndReason, frame: UInt64, ms: Int64) {
        tracker.handle(.end(id, direction, reason: reason, frame: frame, timestampNanoseconds: at(ms)))
    }

    mutating func retransmit(offset: UInt64, length: Int, frame: UInt64, ms: Int64, conflicting: Bool = false) {
        let segment = SegmentInfo(frame: frame, sequenceNumber: 0, timestampNanoseconds: at(ms), flags: [.ack],
                                  streamOffset: offset, length: length)
        tracker.handle(.retransmission(id, .clientToServer, offset: offset, length: length, segment: segment, conflicting: conflicting))
    }

    mutating func reply(_ code: Int, _ text: String, answering: ReplyContext, frame: UInt64, ms: Int64) {
        smtp(.reply(SMTPReply(code: code, lines: [text], offset: 0, endOffset: 0), answering: answering), .server, frame: frame, ms: ms)
    }

    static func command(_ verb: String, _ argument: String = "", offset: UInt64 = 0) -> SMTPCommand {
        SMTPCommand(verb: verb, argument: argument, offset: offset, length: verb.count + argument.count + 3)
    }

    static let body = "Message-ID: <m1@example.org>\r\nSubject: hi\r\n\r\nhello"  // 50 bytes: the terminator starts at client offset 150
    /// Client offset where message data begins, and where the terminator begins.
    static let messageOffset: UInt64 = 100
    static let terminatorOffset: UInt64 = messageOffset + UInt64(body.utf8.count)

    /// MAIL, RCPT, DATA (frame 8), 354 (frame 9), then the message in chunks from frame 10
    /// on, 1 ms apart starting at 1000 ms, cut at `splitAfter` positions of the terminator;
    /// then the end-of-data event. Returns the frame and time of the last chunk.
    @discardableResult
    mutating func sendMessage(splitAfter: [Int], messageID: String? = "<m1@example.org>", transaction: Int = 0,
                              firstFrame: UInt64 = 10, startMs: Int64 = 1000) -> (frame: UInt64, ms: Int64) {
        smtp(.transactionStarted(transaction: transaction, offset: 20), .client, frame: firstFrame - 4, ms: startMs - 40)
        smtp(.command(Self.command("MAIL", "FROM:<alice@example.org> SIZE=100", offset: 20)), .client, frame: firstFrame - 4, ms: startMs - 40)
        smtp(.command(Self.command("RCPT", "TO:<bob@example.net>", offset: 60)), .client, frame: firstFrame - 4, ms: startMs - 40)
        smtp(.command(Self.command("DATA", offset: 94)), .client, frame: firstFrame - 2, ms: startMs - 20)
        reply(354, "go ahead", answering: .command(Self.command("DATA", offset: 94)), frame: firstFrame - 1, ms: startMs - 10)
        smtp(.messageStarted(transaction: transaction, offset: Self.messageOffset + UInt64(transaction) * 1000), .server, frame: firstFrame - 1, ms: startMs - 10)
        // Each transaction's message lies further along the client stream.
        let base = Self.messageOffset + UInt64(transaction) * 1000
        let stream = Array((Self.body + "\r\n.\r\n").utf8)
        let bodyLength = Self.body.utf8.count
        var cuts = [0] + splitAfter.map { bodyLength + $0 } + [stream.count]
        cuts = Array(Set(cuts)).sorted()
        var frame = firstFrame
        var ms = startMs
        for (start, end) in zip(cuts, cuts.dropFirst()) {
            let text = String(decoding: stream[start..<end], as: UTF8.self)
            clientData(text, offset: base + UInt64(start), frame: frame, ms: ms)
            frame += 1
            ms += 1
        }
        let summary = MessageSummary(
            transaction: transaction, mailFrom: "alice@example.org", rcptTo: ["bob@example.net"], dataOffset: base,
            size: UInt64(bodyLength + 2), messageID: messageID, subject: "hi", date: nil, from: nil, to: nil,
            fingerprint: "f1f1", headersTruncated: false)
        smtp(.endOfData(summary, terminator: TerminatorInfo(style: .crlf, offset: base + UInt64(bodyLength), length: 5)),
             .client, frame: frame - 1, ms: ms - 1)
        return (frame - 1, ms - 1)
    }

    mutating func close(closedBy: FlowDirection? = .clientToServer, resetBy: FlowDirection? = nil, now ms: Int64) -> FlowRecord {
        tracker.close(summary: FlowSummary(lastFrame: 1, lastTimestampNanoseconds: at(ms), packets: 40, closedBy: closedBy, resetBy: resetBy),
                      now: at(ms))
    }
}

extension FlowRecord {
    func finding(_ code: FindingCode) -> Finding? { findings.first { $0.code == code } }
    var codes: Set<FindingCode> { Set(findings.map(\.code)) }
}
