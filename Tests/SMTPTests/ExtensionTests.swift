import SMTP
import Testing

/// BDAT, AUTH, STARTTLS, gaps, middlebox fingerprints and limits.
@Suite struct ExtensionTests {
    @Test func bdatChunksAndLast() {
        var d = Dialog()
        d.server("220 mx\r\n")
        let cMail = d.client("MAIL FROM:<a@example.org>\r\n")
        d.server("250 ok\r\n")
        let b1 = "BDAT 12\r\n"
        let c1 = d.client(b1 + "Subject: b\r\n")
        let s1 = d.server("250 2.0.0 12 octets\r\n")
        let b2 = "BDAT 6 LAST\r\n"
        let c2 = d.client(b2 + "\r\nbody")
        let s2 = d.server("250 2.0.0 queued\r\n")
        let cQuit = d.client("QUIT\r\n")
        let events = verified(d)
        let first = cmd("BDAT", "12", c1, b1)
        let content = Array("Subject: b\r\n\r\nbody".utf8)
        let summary = MessageSummary(
            transaction: 0, mailFrom: "a@example.org", rcptTo: [], dataOffset: c1 + 9, size: 18, messageID: nil,
            subject: "b", date: nil, from: nil, to: nil, fingerprint: xxh64Hex(content), headersTruncated: false)
        #expect(Array(events.dropFirst(4)) == [
            .command(first),
            .messageStarted(transaction: 0, offset: c1 + 9),
            .bdatChunk(transaction: 0, size: 12, last: false, offset: c1 + 9),
            reply(250, ["2.0.0 12 octets"], s1, "250 2.0.0 12 octets\r\n", .command(first)),
            command("BDAT", "6 LAST", c2, b2),
            .bdatChunk(transaction: 0, size: 6, last: true, offset: c2 + 13),
            .endOfData(summary, terminator: nil),
            reply(250, ["2.0.0 queued"], s2, "250 2.0.0 queued\r\n", .endOfData(transaction: 0)),
            command("QUIT", "", cQuit, "QUIT\r\n"),
        ])
        #expect(events.contains(.transactionStarted(transaction: 0, offset: cMail)))
    }

    @Test func bdatZeroLastAndMalformedSizes() {
        var d = Dialog()
        d.options.maxBDATChunkSize = 100
        d.server("220 mx\r\n")
        let cBad = d.client("BDAT ten\r\n")
        d.server("501 5.5.4 bad syntax\r\n")
        let cBig = d.client("BDAT 101\r\n" + String(repeating: "x", count: 101))
        d.server("552 too big\r\n")
        let cZero = d.client("BDAT 0 LAST\r\n")
        d.server("250 queued\r\n")
        let cNoop = d.client("NOOP\r\n")
        d.server("250 ok\r\n")
        let events = verified(d)
        #expect(events.contains(.anomaly(.malformedBDAT, side: .client, offset: cBad)))
        #expect(events.contains(.anomaly(.malformedBDAT, side: .client, offset: cBig)))
        // The oversized chunk is still counted: the 101 bytes are no commands.
        #expect(events.contains(.bdatChunk(transaction: 0, size: 101, last: false, offset: cBig + 10)))
        #expect(events.contains(.bdatChunk(transaction: 0, size: 0, last: true, offset: cZero + 13)))
        let ends = endsOfData(events)
        #expect(ends.count == 1)
        #expect(ends.first?.0.size == 101)
        #expect(ends.first?.1 == nil)
        let nonBDAT = events.compactMap { e -> String? in
            if case .command(let c) = e, c.verb != "BDAT" { return c.verb }
            return nil
        }
        #expect(nonBDAT == ["NOOP"])
        #expect(events.last == reply(250, ["ok"], UInt64("220 mx\r\n501 5.5.4 bad syntax\r\n552 too big\r\n250 queued\r\n".utf8.count), "250 ok\r\n", .command(cmd("NOOP", "", cNoop, "NOOP\r\n"))))
    }

    @Test func authLoginContinuationLinesAreNotCommands() {
        var d = Dialog()
        d.server("220 mx\r\n")
        let cAuth = d.client("AUTH LOGIN\r\n")
        let s1 = d.server("334 VXNlcm5hbWU6\r\n")
        d.client("dXNlcg==\r\n")
        let s2 = d.server("334 UGFzc3dvcmQ6\r\n")
        d.client("cGFzcw==\r\n")
        let s3 = d.server("235 2.7.0 Authentication successful\r\n")
        let cMail = d.client("MAIL FROM:<u@example.org>\r\n")
        d.server("250 ok\r\n")
        let events = verified(d)
        let auth = cmd("AUTH", "LOGIN", cAuth, "AUTH LOGIN\r\n")
        let mail = cmd("MAIL", "FROM:<u@example.org>", cMail, "MAIL FROM:<u@example.org>\r\n")
        #expect(Array(events.dropFirst()) == [
            .command(auth),
            reply(334, ["VXNlcm5hbWU6"], s1, "334 VXNlcm5hbWU6\r\n", .command(auth)),
            reply(334, ["UGFzc3dvcmQ6"], s2, "334 UGFzc3dvcmQ6\r\n", .command(auth)),
            reply(235, ["2.7.0 Authentication successful"], s3, "235 2.7.0 Authentication successful\r\n", .command(auth)),
            .transactionStarted(transaction: 0, offset: cMail),
            .command(mail),
            reply(250, ["ok"], s3 + UInt64("235 2.7.0 Authentication successful\r\n".utf8.count), "250 ok\r\n", .command(mail)),
        ])
    }

    @Test func authPlainWithInitialResponseAndPipelinedMail() {
        var d = Dialog()
        d.server("220 mx\r\n")
        let line = "AUTH PLAIN AHVzZXIAcGFzcw==\r\n"
        let cAuth = d.client(line + "MAIL FROM:<u@example.org>\r\n")
        d.server("235 ok\r\n250 ok\r\n")
        let events = verified(d)
        let auth = cmd("AUTH", "PLAIN AHVzZXIAcGFzcw==", cAuth, line)
        let mail = cmd("MAIL", "FROM:<u@example.org>", cAuth + UInt64(line.utf8.count), "MAIL FROM:<u@example.org>\r\n")
        #expect(events.contains(reply(235, ["ok"], 8, "235 ok\r\n", .command(auth))))
        #expect(events.contains(reply(250, ["ok"], 16, "250 ok\r\n", .command(mail))))
    }

    @Test func starttlsMakesBothSidesOpaque() {
        var d = Dialog()
        d.server("220 mx\r\n")
        d.client("EHLO c\r\n")
        d.server("250-mx\r\n250 STARTTLS\r\n")
        let cTLS = d.client("STARTTLS\r\n")
        let sReady = d.server("220 2.0.0 Ready to start TLS\r\n")
        // TLS records that happen to contain SMTP-looking text must not be parsed.
        d.client([0x16, 0x03, 0x01, 0x00, 0x05] + Array("QUIT\r\n".utf8))
        d.server([0x16, 0x03, 0x03].map { String(UnicodeScalar($0)) }.joined() + "250 ok\r\n")
        d.end(.client)
        var session = SMTPSession()
        var events: [SMTPEvent] = []
        for step in d.steps {
            if case .send(let side, let bytes) = step {
                let at = side == .client ? session.statistics.clientBytes : session.statistics.serverBytes
                bytes.withUnsafeBytes { session.feed(side, $0, at: at) { events.append($0) } }
            }
        }
        #expect(events == verified(d).filter { _ in true })
        #expect(events.last == .tlsStarted(clientOffset: cTLS + 10, serverOffset: sReady + UInt64("220 2.0.0 Ready to start TLS\r\n".utf8.count)))
        #expect(session.statistics.encryptedBytes == 11 + 11)
    }

    @Test func gapInsideDataMarksTheMessageIncompleteThenResync() {
        var (d, start) = TerminatorTests.opened()
        d.client("Message-ID: <g@example.org>\r\n\r\npart")
        d.gap(.client, 1000)
        d.client("more body\r\n.\r\n")
        let cQuit = d.client("QUIT\r\n")
        d.server("250 queued\r\n221 bye\r\n")
        let events = verified(d)
        let incomplete = events.compactMap { e -> (MessageSummary, IncompleteReason)? in
            if case .messageIncomplete(let s, let r) = e { return (s, r) }
            return nil
        }
        #expect(incomplete.count == 1)
        #expect(incomplete.first?.1 == .gap)
        #expect(incomplete.first?.0.messageID == "<g@example.org>")
        #expect(incomplete.first?.0.dataOffset == start)
        #expect(events.contains(.anomaly(.dataAfterGap, side: .client, offset: cQuit)))
        #expect(events.contains(command("QUIT", "", cQuit, "QUIT\r\n")))
        #expect(endsOfData(events).isEmpty)
    }

    @Test func gapOutsideDataResynchronisesOnTheNextReply() {
        var d = Dialog()
        d.server("220 mx\r\n")
        let cNoop = d.client("NOOP\r\n")
        d.server("250 o")
        d.gap(.server, 3)
        let sNext = d.server("tail of a line\r\n250 fine\r\n")
        let cQuit = d.client("QUIT\r\n")
        let sBye = d.server("221 bye\r\n")
        let events = verified(d)
        _ = cNoop
        #expect(Array(events.suffix(5)) == [
            .anomaly(.dataAfterGap, side: .server, offset: sNext + 16),
            .anomaly(.unsolicitedReply, side: .server, offset: sNext + 16),
            reply(250, ["fine"], sNext + 16, "250 fine\r\n", .unsolicited),
            command("QUIT", "", cQuit, "QUIT\r\n"),
            reply(221, ["bye"], sBye, "221 bye\r\n", .command(cmd("QUIT", "", cQuit, "QUIT\r\n"))),
        ])
    }

    @Test func endInsideDataMarksTheMessageIncomplete() {
        var (d, _) = TerminatorTests.opened()
        d.client("Subject: cut\r\n\r\nbody\r\n.")
        d.end(.client)
        let events = verified(d)
        guard case .messageIncomplete(let s, .end)? = events.last else {
            Issue.record("no messageIncomplete(.end) at the end: \(String(describing: events.last))")
            return
        }
        #expect(s.subject == "cut")
        // The last line's CRLF is content; the held line-start dot is not.
        #expect(s.size == UInt64("Subject: cut\r\n\r\nbody\r\n".utf8.count))
    }

    @Test func mailguardFingerprints() {
        var d = Dialog()
        let banner = "220 *********0****2****0*****\r\n"
        d.server(banner)
        let cEhlo = d.client("EHLO c\r\n")
        let sEhlo = d.server("500 5.5.1 Command unrecognized: \"XXXX c\"\r\n")
        d.client("HELO c\r\n")
        d.server("250 mx\r\n")
        let cX = d.client("XXXX\r\n")
        d.server("500 5.5.1 Command unrecognized: \"XXXX\"\r\n")
        d.client("EHLO c\r\n")
        let sEhlo2 = d.server("250-mx\r\n250-XXXXXXXA\r\n250 8BITMIME\r\n")
        let events = verified(d)
        #expect(events.contains(.anomaly(.bannerMasked, side: .server, offset: 0)))
        #expect(events.contains(.anomaly(.ehloRejected, side: .server, offset: sEhlo)))
        #expect(events.contains(.anomaly(.commandMasked, side: .client, offset: cX)))
        #expect(events.contains(command("XXXX", "", cX, "XXXX\r\n")))
        #expect(events.contains(.anomaly(.starttlsMasked, side: .server, offset: sEhlo2)))
        #expect(events.contains(.extensions(["XXXXXXXA", "8BITMIME"])))
        _ = cEhlo
        var plain = Dialog()
        plain.server("220 mx.example.net ESMTP Postfix (Debian/GNU)\r\n")
        #expect(!plain.run().contains { if case .anomaly = $0 { return true }; return false })
    }

    @Test func limitsAreReported() {
        var d = Dialog()
        d.options.maxLineLength = 16
        d.options.maxPendingCommands = 2
        d.server("220 mx\r\n")
        let long = "VRFY " + String(repeating: "a", count: 30) + "\r\n"
        let cLong = d.client(long)
        let cNoops = d.client("NOOP\r\nNOOP\n")
        d.server("250 ok\r\n250 ok\r\n")
        let events = verified(d)
        #expect(events.contains(.anomaly(.lineTooLong, side: .client, offset: cLong)))
        // Kept: the first 16 bytes of the line; length is the whole line.
        #expect(events.contains(.command(SMTPCommand(verb: "VRFY", argument: "aaaaaaaaaaa", offset: cLong, length: long.utf8.count))))
        #expect(events.contains(.anomaly(.tooManyPendingCommands, side: .client, offset: cNoops + 6)))
        #expect(events.contains(.anomaly(.bareLF, side: .client, offset: cNoops + 6)))
        // The VRFY was dropped from the FIFO: the first reply answers the first NOOP.
        #expect(events.contains(reply(250, ["ok"], 8, "250 ok\r\n", .command(cmd("NOOP", "", cNoops, "NOOP\r\n")))))
    }

    @Test func aLineThatNeverEndsIsReportedWhenItOutgrowsTheLimit() {
        // 100 bytes with no line end against a 16-byte limit, then the client closes:
        // the limit was hit, so it is said once, at the line's first byte.
        var d = Dialog()
        d.options.maxLineLength = 16
        d.server("220 mx\r\n")
        let cLong = d.client(String(repeating: "A", count: 100))
        d.end(.client)
        let events = verified(d)
        #expect(events.filter { $0 == .anomaly(.lineTooLong, side: .client, offset: cLong) }.count == 1)

        // The same line finished later is still reported once, not again at its end.
        var e = Dialog()
        e.options.maxLineLength = 16
        e.server("220 mx\r\n")
        let cLater = e.client(String(repeating: "A", count: 100))
        _ = e.client("\r\n")
        let finished = verified(e)
        #expect(finished.filter { if case .anomaly(.lineTooLong, _, _) = $0 { return true }; return false }.count == 1)
        #expect(finished.contains(.anomaly(.lineTooLong, side: .client, offset: cLater)))
    }
}
