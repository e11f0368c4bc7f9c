@testable import Analysis
import Reassembly
import SMTP
import Testing

/// A recipient the server refused (RCPT answered 4xx/5xx) is no recipient of the message: the
/// transaction's rcpt_to lists the accepted ones, as `MessageSummary.rcptTo` and the raw
/// client's record (captures/smtp/postfix-raw-pipelining.pcap.sent.json) do.
@Suite struct RefusedRecipientTests {
    @Test func pipelinedRefusedRecipientIsDropped() {
        var h = TrackerHarness()
        let mail = TrackerHarness.command("MAIL", "FROM:<pipe@example.com>", offset: 20)
        let rcpts = ["one@example.org", "reject@example.org", "two@example.org"].enumerated().map {
            TrackerHarness.command("RCPT", "TO:<\($0.element)>", offset: 50 + UInt64($0.offset) * 25)
        }
        let data = TrackerHarness.command("DATA", offset: 125)
        h.smtp(.transactionStarted(transaction: 0, offset: 20), .client, frame: 6, ms: 10)
        for command in [mail] + rcpts + [data] { h.smtp(.command(command), .client, frame: 6, ms: 10) }
        // One server segment answers all five, in order (RFC 2920).
        for (code, command) in zip([250, 250, 554, 250, 354], [mail] + rcpts + [data]) {
            h.reply(code, "x", answering: .command(command), frame: 7, ms: 20)
        }
        h.smtp(.messageStarted(transaction: 0, offset: 131), .server, frame: 7, ms: 20)
        h.clientData("hi\r\n.\r\n", offset: 131, frame: 8, ms: 30)
        let summary = MessageSummary(
            transaction: 0, mailFrom: "pipe@example.com", rcptTo: ["one@example.org", "two@example.org"], dataOffset: 131,
            size: 4, messageID: nil, subject: nil, date: nil, from: nil, to: nil, fingerprint: "f", headersTruncated: false)
        h.smtp(.endOfData(summary, terminator: TerminatorInfo(style: .crlf, offset: 133, length: 5)), .client, frame: 8, ms: 30)
        h.reply(250, "queued", answering: .endOfData(transaction: 0), frame: 9, ms: 40)
        let flow = h.close(now: 50)
        #expect(flow.transactions.first?.rcptTo == ["one@example.org", "two@example.org"])
        #expect(flow.transactions.first?.outcome == .accepted)
    }

    @Test func everyRecipientRefusedLeavesNone() {
        var h = TrackerHarness()
        let mail = TrackerHarness.command("MAIL", "FROM:<a@example.org>", offset: 20)
        let rcpt = TrackerHarness.command("RCPT", "TO:<nobody@example.net>", offset: 50)
        let data = TrackerHarness.command("DATA", offset: 80)
        h.smtp(.transactionStarted(transaction: 0, offset: 20), .client, frame: 6, ms: 10)
        for command in [mail, rcpt, data] { h.smtp(.command(command), .client, frame: 6, ms: 10) }
        h.reply(250, "ok", answering: .command(mail), frame: 7, ms: 20)
        h.reply(550, "5.1.1 unknown", answering: .command(rcpt), frame: 7, ms: 20)
        h.reply(554, "5.5.1 no valid recipients", answering: .command(data), frame: 7, ms: 20)
        let flow = h.close(now: 50)
        #expect(flow.transactions.first?.rcptTo == [])
        #expect(flow.transactions.first?.outcome == .rejected)
    }
}
