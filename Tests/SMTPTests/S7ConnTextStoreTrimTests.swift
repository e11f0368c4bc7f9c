import Testing

@testable import SMTP

/// A session reset for the next connection keeps its text stores when they are of the usual
/// size (no allocation per connection) but lets go of one that a rare long text grew past
/// ``SMTPSession/textStoreLimit``; either way the next connection reads exactly what a fresh
/// session reads.
@Suite struct S7ConnTextStoreTrimTests {
    /// One connection's dialog: a message with `subject`, its summary and reply texts kept.
    static func connection(_ session: inout SMTPSession, subject: String, id: String) -> (summaries: [MessageSummary], replies: [String]) {
        var summaries: [MessageSummary] = []
        var replies: [String] = []
        var offsets: [SMTPSide: UInt64] = [.client: 0, .server: 0]
        func feed(_ side: SMTPSide, _ text: String) {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBytes { raw in
                session.feed(side, raw, at: offsets[side] ?? 0) { event in
                    switch event {
                    case .endOfData(let summary, _): summaries.append(summary)
                    case .reply(let reply, _): replies.append("\(reply.code) " + reply.lines.joined(separator: "|"))
                    default: break
                    }
                }
            }
            offsets[side, default: 0] += UInt64(bytes.count)
        }
        feed(.server, "220 mx.example.net ESMTP\r\n")
        feed(.client, "EHLO client.example.org\r\n")
        feed(.server, "250-mx.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
        feed(.client, "MAIL FROM:<a@example.org>\r\n")
        feed(.server, "250 ok\r\n")
        feed(.client, "RCPT TO:<b@example.net>\r\n")
        feed(.server, "250 ok\r\n")
        feed(.client, "DATA\r\n")
        feed(.server, "354 go ahead\r\n")
        feed(.client, "Message-ID: <\(id)@example.org>\r\nSubject: \(subject)\r\n\r\nbody\r\n.\r\n")
        feed(.server, "250 queued as \(id)\r\n")
        feed(.client, "QUIT\r\n")
        feed(.server, "221 bye\r\n")
        return (summaries, replies)
    }

    @Test func aStoreALongHeaderGrewIsLetGoAtTheResetAndTheNextConnectionReadsItsOwnText() {
        var session = SMTPSession()
        // 900 bytes of Subject (under the 998-byte value limit): the header store must grow.
        let long = String(repeating: "L", count: 900)
        let first = Self.connection(&session, subject: long, id: "one")
        #expect(first.summaries.map(\.subject) == [long])
        #expect(session.headerText.storeSize > SMTPSession.textStoreLimit)

        session.reset()
        #expect(session.headerText.storeSize == 0)
        // The first connection's summary still reads its own text (its store stays alive).
        #expect(first.summaries.map(\.subject) == [long])

        var fresh = SMTPSession()
        let expected = Self.connection(&fresh, subject: "short", id: "two")
        let second = Self.connection(&session, subject: "short", id: "two")
        #expect(second.summaries == expected.summaries)
        #expect(second.summaries.map(\.subject) == ["short"])
        #expect(second.summaries.map(\.messageID) == ["<two@example.org>"])
        #expect(second.replies == expected.replies)
        #expect(session.headerText.storeSize == 512)
    }

    @Test func storesOfTheUsualSizeAreKeptAtTheReset() {
        var session = SMTPSession()
        let first = Self.connection(&session, subject: "usual", id: "one")
        #expect(first.summaries.map(\.subject) == ["usual"])
        let sizes = [session.commandText.storeSize, session.replyText.storeSize, session.headerText.storeSize, session.envelopeText.storeSize]
        // The usual dialog fits each store at its first size: none grew.
        #expect(sizes == [256, 512, 512, 256])

        session.reset()
        #expect([session.commandText.storeSize, session.replyText.storeSize, session.headerText.storeSize, session.envelopeText.storeSize] == sizes)
        let second = Self.connection(&session, subject: "again", id: "two")
        var fresh = SMTPSession()
        #expect(second.summaries == Self.connection(&fresh, subject: "again", id: "two").summaries)
        #expect(second.summaries.map(\.subject) == ["again"])
    }
}
