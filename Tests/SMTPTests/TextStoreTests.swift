@testable import SMTP
import Testing

/// The session keeps command arguments, reply lines, header values and envelope addresses in
/// stores it reuses once nothing refers to them. These tests check both sides of that: text
/// that is kept stays what was sent, and text that is dropped lets the store be reused.
@Suite struct TextStoreTests {
    /// One connection: greeting, EHLO (multi-line reply), MAIL, RCPT ×2, DATA, message, QUIT.
    static func conversation(_ n: Int) -> (client: String, server: String) {
        let client = "EHLO c\(n).example.org\r\nMAIL FROM:<sender\(n)@example.org> SIZE=10\r\n"
            + "RCPT TO:<first\(n)@example.net>\r\nRCPT TO:<second\(n)@example.net>\r\nDATA\r\n"
            + "Message-ID: <id\(n)@example.org>\r\nSubject: hello number \(n)\r\n"
            + "From: Sender \(n) <sender\(n)@example.org>\r\nTo: First <first\(n)@example.net>\r\n"
            + "Date: Mon, 1 Jan 2024 00:00:0\(n % 10) +0000\r\n\r\nbody \(n)\r\n.\r\nQUIT\r\n"
        let server = "220 mx.example.net ESMTP ready for \(n)\r\n250-mx.example.net greets c\(n)\r\n250-PIPELINING\r\n"
            + "250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n250 2.1.0 sender ok\r\n250 2.1.5 first ok\r\n"
            + "250 2.1.5 second ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as Q\(n)\r\n221 2.0.0 Bye\r\n"
        return (client, server)
    }

    /// Feeds the client side, then the server side (the session holds what the replies decide).
    static func feed(_ session: inout SMTPSession, _ n: Int, emit: (SMTPEvent) -> Void) {
        let (client, server) = conversation(n)
        Array(client.utf8).withUnsafeBytes { session.feed(.client, $0, at: 0, emit: emit) }
        Array(server.utf8).withUnsafeBytes { session.feed(.server, $0, at: 0, emit: emit) }
        session.end(.client, emit: emit)
        session.end(.server, emit: emit)
    }

    @Test func keptEventsStayAsSentWhileTheSessionGoesOn() {
        var session = SMTPSession()
        var kept: [SMTPEvent] = []
        Self.feed(&session, 1) { kept.append($0) }
        // Many more conversations, their events dropped: the session must not write over
        // the bytes the kept events refer to.
        for n in 2...40 {
            session.reset()
            Self.feed(&session, n) { _ in }
        }
        var replies: [[String]] = []
        var arguments: [String] = []
        var summary: MessageSummary?
        for event in kept {
            switch event {
            case .reply(let reply, _): replies.append(reply.lines)
            case .command(let command): arguments.append(command.argument)
            case .endOfData(let s, _): summary = s
            default: break
            }
        }
        #expect(arguments == ["c1.example.org", "FROM:<sender1@example.org> SIZE=10", "TO:<first1@example.net>",
                              "TO:<second1@example.net>", "", ""])
        #expect(replies == [
            ["mx.example.net ESMTP ready for 1"],
            ["mx.example.net greets c1", "PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME"],
            ["2.1.0 sender ok"], ["2.1.5 first ok"], ["2.1.5 second ok"], ["End data with <CR><LF>.<CR><LF>"],
            ["2.0.0 Ok: queued as Q1"], ["2.0.0 Bye"],
        ])
        #expect(summary?.mailFrom == "sender1@example.org")
        #expect(summary?.rcptTo == ["first1@example.net", "second1@example.net"])
        #expect(summary?.messageID == "<id1@example.org>")
        #expect(summary?.subject == "hello number 1")
        #expect(summary?.from == "Sender 1 <sender1@example.org>")
        #expect(summary?.to == "First <first1@example.net>")
        #expect(summary?.date == "Mon, 1 Jan 2024 00:00:01 +0000")
    }

    @Test func storesAreReusedWhenNoEventIsKept() {
        var session = SMTPSession()
        Self.feed(&session, 1) { _ in }
        // Weak: a strong reference here would itself keep the session from reusing them.
        final class Weak {
            weak var store: TextStore?
            init(_ store: TextStore?) { self.store = store }
        }
        let stores = [session.commandText.current, session.replyText.current, session.headerText.current, session.envelopeText.current]
            .map(Weak.init)
        #expect(stores.allSatisfy { $0.store != nil })
        for n in 2...20 {
            session.reset()
            Self.feed(&session, n) { _ in }
        }
        let after = [session.commandText.current, session.replyText.current, session.headerText.current, session.envelopeText.current]
        for (before, now) in zip(stores, after) { #expect(before.store != nil && before.store === now) }
    }

    @Test func aKeptEventMakesTheSessionMoveToAnotherStore() {
        var session = SMTPSession()
        var greeting: SMTPReply?
        Self.feed(&session, 1) { event in
            if case .reply(let reply, .greeting) = event { greeting = reply }
        }
        let first = session.replyText.current
        for n in 2...30 {
            session.reset()
            Self.feed(&session, n) { _ in }
        }
        // The store holding the kept greeting was never started over; it filled up and was
        // replaced, and the greeting still reads as sent.
        #expect(session.replyText.current !== first)
        #expect(greeting?.lines == ["mx.example.net ESMTP ready for 1"])
    }

    @Test func joinedIsTheLinesJoinedBySpaces() {
        var arena = TextArena(initialCapacity: 8)  // small: growing moves the lines along
        var lines: ReplyLines?
        let texts = ["", "PIPELINING", "", "SIZE 10240000", "caf\u{E9}"]
        for text in texts.prefix(4) {
            lines = Array(text.utf8).withUnsafeBytes { arena.appending(line: $0, to: lines) }
        }
        #expect(lines?.strings == Array(texts.prefix(4)))
        #expect(lines?.joined() == " PIPELINING  SIZE 10240000")
        #expect(lines?.joined(after: "250 ") == "250  PIPELINING  SIZE 10240000")
        // Non-ASCII text, and a UTF-8 sequence cut in the middle, as String(decoding:) reads them.
        var bytes = Array(texts[4].utf8)
        lines = bytes.withUnsafeBytes { arena.appending(line: $0, to: lines) }
        bytes.removeLast()
        lines = bytes.withUnsafeBytes { arena.appending(line: $0, to: lines) }
        #expect(lines?.joined() == " PIPELINING  SIZE 10240000 caf\u{E9} caf\u{FFFD}")
        #expect(lines?.count == 6)
        #expect(lines?.first == "")
    }

    @Test func storedTextComparesAsItsString() {
        var arena = TextArena(initialCapacity: 64)
        let stored = Array("FROM:<a@example.org>".utf8).withUnsafeBytes { arena.text($0) }
        #expect(stored == SMTPText("FROM:<a@example.org>"))
        #expect(stored.hashValue == SMTPText("FROM:<a@example.org>").hashValue)
        #expect(stored != SMTPText("FROM:<b@example.org>"))
        let command = SMTPCommand(verb: "MAIL", argumentText: stored, offset: 0, length: 26)
        #expect(command == SMTPCommand(verb: "MAIL", argument: "FROM:<a@example.org>", offset: 0, length: 26))
    }

    @Test func aResetSessionReportsWhatAFreshOneDoes() {
        var fresh = SMTPSession()
        var expected: [SMTPEvent] = []
        Self.feed(&fresh, 7) { expected.append($0) }
        var reused = SMTPSession()
        // Leave the session mid-way: a message open, bytes held, commands pending.
        Array("EHLO x\r\nMAIL FROM:<a@b>\r\nDATA\r\nSubject: open\r\n".utf8).withUnsafeBytes {
            reused.feed(.client, $0, at: 0) { _ in }
        }
        Array("220 x\r\n250 x\r\n250 ok\r\n354 go\r\n".utf8).withUnsafeBytes { reused.feed(.server, $0, at: 0) { _ in } }
        reused.reset()
        var got: [SMTPEvent] = []
        Self.feed(&reused, 7) { got.append($0) }
        #expect(got == expected)
        #expect(reused.statistics == fresh.statistics)
    }

    @Test func withoutExtensionEventsMaskedStarttlsIsStillReported() {
        var options = SMTPOptions()
        options.reportsExtensions = false
        var session = SMTPSession(options: options)
        var events: [SMTPEvent] = []
        Array("EHLO c\r\n".utf8).withUnsafeBytes { session.feed(.client, $0, at: 0) { events.append($0) } }
        Array("220 mx\r\n250-mx\r\n250-XXXXXXXA\r\n250 xxxxa\r\n".utf8).withUnsafeBytes {
            session.feed(.server, $0, at: 0) { events.append($0) }
        }
        let masked = events.filter { if case .anomaly(.starttlsMasked, _, _) = $0 { true } else { false } }
        let extensions = events.filter { if case .extensions = $0 { true } else { false } }
        // "XXXXXXXA" and "XXXXA" (upper-cased) are masked keywords; "mx" on the first line is no keyword.
        #expect(masked.count == 2)
        #expect(extensions.isEmpty)
    }
}
