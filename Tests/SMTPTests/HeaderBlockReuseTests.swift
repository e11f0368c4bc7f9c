import Testing

@testable import SMTP

/// A session keeps its header block's storage from one message to the next (no allocation per
/// message); every message must still start a block of its own: not truncated because an
/// earlier one was, and with no field of an earlier one.
@Suite struct HeaderBlockReuseTests {
    @Test func eachMessageStartsAFreshHeaderBlock() {
        var options = SMTPOptions()
        options.maxHeaderBytes = 64
        var session = SMTPSession(options: options)
        var summaries: [MessageSummary] = []
        var offsets: [SMTPSide: UInt64] = [.client: 0, .server: 0]
        func feed(_ side: SMTPSide, _ text: String) {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBytes { raw in
                session.feed(side, raw, at: offsets[side] ?? 0) { event in
                    if case .endOfData(let summary, _) = event { summaries.append(summary) }
                }
            }
            offsets[side, default: 0] += UInt64(bytes.count)
        }
        let messages = [
            "Subject: " + String(repeating: "x", count: 100) + "\r\n\r\nfirst",  // past the 64-byte cap
            "Message-ID: <two@example.org>\r\nSubject: two\r\n\r\nsecond",
            "Subject: three\r\n\r\nthird",
        ]
        feed(.server, "220 mx.example.net ESMTP\r\n")
        feed(.client, "EHLO client.example.org\r\n")
        feed(.server, "250 mx.example.net\r\n")
        for message in messages {
            feed(.client, "MAIL FROM:<a@example.org>\r\n")
            feed(.server, "250 ok\r\n")
            feed(.client, "RCPT TO:<b@example.net>\r\n")
            feed(.server, "250 ok\r\n")
            feed(.client, "DATA\r\n")
            feed(.server, "354 go ahead\r\n")
            feed(.client, message + "\r\n.\r\n")
            feed(.server, "250 queued\r\n")
        }
        #expect(summaries.count == 3)
        guard summaries.count == 3 else { return }
        #expect(summaries[0].headersTruncated)
        #expect(!summaries[1].headersTruncated)
        #expect(summaries[1].messageID == "<two@example.org>")
        #expect(summaries[1].subject == "two")
        #expect(!summaries[2].headersTruncated)
        #expect(summaries[2].messageID == nil)
        #expect(summaries[2].subject == "three")
    }
}
