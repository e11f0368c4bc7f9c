import SMTP
import Testing

/// Whole conversations with every expected event written out; offsets come from the lengths of
/// the literal lines (`Dialog` returns where each piece starts).
@Suite struct DialogTests {
    @Test func plainDialogWithPipeliningAndOneMessage() {
        var d = Dialog()
        let greet = "220 mx.example.net ESMTP\r\n"
        let sGreet = d.server(greet)
        let ehlo = "EHLO client.example.org\r\n"
        let cEhlo = d.client(ehlo)
        let ehloReply = "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 CHUNKING\r\n"
        let sEhlo = d.server(ehloReply)
        let mail = "MAIL FROM:<alice@example.org> SIZE=100\r\n"
        let rcpt = "RCPT TO:<bob@example.net>\r\n"
        let data = "DATA\r\n"
        let cMail = d.client(mail + rcpt + data)
        let cRcpt = cMail + UInt64(mail.utf8.count)
        let cData = cRcpt + UInt64(rcpt.utf8.count)
        let sMail = d.server("250 2.1.0 Ok\r\n")
        let sRcpt = d.server("250 2.1.5 Ok\r\n")
        let sData = d.server("354 End data with <CR><LF>.<CR><LF>\r\n")
        let content = "Message-ID: <1@example.org>\r\nSubject: hello\r\n world\r\nFrom: Alice <alice@example.org>\r\n\r\nbody\r\n"
        let cContent = d.client(content)
        let cTerm = d.client(".\r\n")
        let sQueued = d.server("250 2.0.0 Ok: queued as 4XyZ\r\n")
        let cQuit = d.client("QUIT\r\n")
        let sBye = d.server("221 2.0.0 Bye\r\n")
        d.end(.client)
        d.end(.server)

        let events = verified(d)
        let mailCommand = cmd("MAIL", "FROM:<alice@example.org> SIZE=100", cMail, mail)
        let rcptCommand = cmd("RCPT", "TO:<bob@example.net>", cRcpt, rcpt)
        let dataCommand = cmd("DATA", "", cData, data)
        let ehloCommand = cmd("EHLO", "client.example.org", cEhlo, ehlo)
        // The CRLF before "." ends the last line (RFC 5321 §4.1.1.4): the message is all of content.
        let body = unstuffed(content)
        #expect(body == Array(content.utf8))
        let summary = MessageSummary(
            transaction: 0, mailFrom: "alice@example.org", rcptTo: ["bob@example.net"], dataOffset: cContent,
            size: UInt64(body.count), messageID: "<1@example.org>", subject: "hello world", date: nil,
            from: "Alice <alice@example.org>", to: nil, fingerprint: xxh64Hex(body), headersTruncated: false)
        let expected: [SMTPEvent] = [
            reply(220, ["mx.example.net ESMTP"], sGreet, greet, .greeting),
            .command(ehloCommand),
            reply(250, ["mx.example.net", "PIPELINING", "SIZE 10240000", "STARTTLS", "CHUNKING"], sEhlo, ehloReply, .command(ehloCommand)),
            .extensions(["PIPELINING", "SIZE", "STARTTLS", "CHUNKING"]),
            .transactionStarted(transaction: 0, offset: cMail),
            .command(mailCommand),
            .command(rcptCommand),
            .command(dataCommand),
            reply(250, ["2.1.0 Ok"], sMail, "250 2.1.0 Ok\r\n", .command(mailCommand)),
            reply(250, ["2.1.5 Ok"], sRcpt, "250 2.1.5 Ok\r\n", .command(rcptCommand)),
            reply(354, ["End data with <CR><LF>.<CR><LF>"], sData, "354 End data with <CR><LF>.<CR><LF>\r\n", .command(dataCommand)),
            .messageStarted(transaction: 0, offset: cContent),
            .endOfData(summary, terminator: TerminatorInfo(style: .crlf, offset: cTerm - 2, length: 5)),
            reply(250, ["2.0.0 Ok: queued as 4XyZ"], sQueued, "250 2.0.0 Ok: queued as 4XyZ\r\n", .endOfData(transaction: 0)),
            command("QUIT", "", cQuit, "QUIT\r\n"),
            reply(221, ["2.0.0 Bye"], sBye, "221 2.0.0 Bye\r\n", .command(cmd("QUIT", "", cQuit, "QUIT\r\n"))),
        ]
        #expect(events == expected)
    }

    @Test func rejectedRecipientIsDroppedAndRepliesPairInOrder() {
        var d = Dialog()
        d.server("220 mx\r\n")
        let mail = "MAIL FROM:<a@example.org>\r\n"
        let r1 = "RCPT TO:<nobody@example.net>\r\n"
        let r2 = "RCPT TO:<bob@example.net>\r\n"
        let cMail = d.client(mail + r1 + r2 + "DATA\r\n")
        let c1 = cMail + UInt64(mail.utf8.count)
        let c2 = c1 + UInt64(r1.utf8.count)
        let cData = c2 + UInt64(r2.utf8.count)
        // Replies arrive in two segments, interleaved with nothing else.
        d.server("250 ok\r\n550 5.1.1 unknown\r\n")
        let s3 = d.server("250 ok\r\n354 go\r\n")
        let cBody = d.client("x\r\n.\r\n")
        d.server("250 queued\r\n")
        let events = verified(d)
        let replies = events.compactMap { e -> (Int, ReplyContext)? in
            if case .reply(let r, let c) = e { return (r.code, c) }
            return nil
        }
        #expect(replies.map(\.0) == [220, 250, 550, 250, 354, 250])
        #expect(replies.map(\.1) == [
            .greeting,
            .command(cmd("MAIL", "FROM:<a@example.org>", cMail, mail)),
            .command(cmd("RCPT", "TO:<nobody@example.net>", c1, r1)),
            .command(cmd("RCPT", "TO:<bob@example.net>", c2, r2)),
            .command(cmd("DATA", "", cData, "DATA\r\n")),
            .endOfData(transaction: 0),
        ])
        _ = s3
        let ends = endsOfData(events)
        #expect(ends.count == 1)
        #expect(ends.first?.0.rcptTo == ["bob@example.net"])
        #expect(ends.first?.0.size == 3)  // "x\r\n"
        #expect(ends.first?.1 == TerminatorInfo(style: .crlf, offset: cBody + 1, length: 5))
    }

    @Test func rejectedDataDoesNotStartAMessage() {
        var d = Dialog()
        d.server("220 mx\r\n")
        let cMail = d.client("MAIL FROM:<a@example.org>\r\n")
        d.server("250 ok\r\n")
        let cData = d.client("DATA\r\n")
        let sReject = d.server("554 5.5.1 No valid recipients\r\n")
        // A line that would end a message is a command line here.
        let cDot = d.client(".\r\n")
        let cRset = d.client("RSET\r\n")
        d.server("502 5.5.2 Error: command not recognized\r\n250 ok\r\n")
        let events = verified(d)
        let dataCommand = cmd("DATA", "", cData, "DATA\r\n")
        let dot = cmd(".", "", cDot, ".\r\n")
        let rset = cmd("RSET", "", cRset, "RSET\r\n")
        #expect(events.dropFirst(4).elementsEqual([
            .command(dataCommand),
            reply(554, ["5.5.1 No valid recipients"], sReject, "554 5.5.1 No valid recipients\r\n", .command(dataCommand)),
            .command(dot),
            .command(rset),
            reply(502, ["5.5.2 Error: command not recognized"], sReject + 31, "502 5.5.2 Error: command not recognized\r\n", .command(dot)),
            reply(250, ["ok"], sReject + 31 + 41, "250 ok\r\n", .command(rset)),
        ]))
        #expect(!events.contains { if case .messageStarted = $0 { return true }; return false })
        #expect(events.contains(.transactionStarted(transaction: 0, offset: cMail)))
    }

    @Test func clientBytesAheadOfTheDataReplyAreHeldUntilItComes() {
        // The whole client side of the transaction arrives before any reply to it.
        var d = Dialog()
        d.server("220 mx\r\n")
        let head = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
        let cMail = d.client(head + "Subject: early\r\n\r\nhi\r\n.\r\nQUIT\r\n")
        let cContent = cMail + UInt64(head.utf8.count)
        d.server("250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n221 bye\r\n")
        let events = verified(d)
        let kinds = events.map { e -> String in
            switch e {
            case .reply(let r, _): return "\(r.code)"
            case .command(let c): return c.verb
            case .messageStarted: return "start"
            case .endOfData: return "eod"
            case .transactionStarted: return "txn"
            default: return "other"
            }
        }
        #expect(kinds == ["220", "txn", "MAIL", "RCPT", "DATA", "250", "250", "354", "start", "eod", "QUIT", "250", "221"])
        #expect(events.contains(.messageStarted(transaction: 0, offset: cContent)))
        let ends = endsOfData(events)
        #expect(ends.first?.0.subject == "early")
        #expect(ends.first?.0.size == UInt64(unstuffed("Subject: early\r\n\r\nhi\r\n").count))
    }

    @Test func clientBytesAheadOfARejectionAreReadAsCommands() {
        var d = Dialog()
        d.server("220 mx\r\n")
        let cData = d.client("DATA\r\nRSET\r\n")
        d.server("503 5.5.1 need MAIL\r\n250 ok\r\n")
        let events = verified(d)
        let dataCommand = cmd("DATA", "", cData, "DATA\r\n")
        let rset = cmd("RSET", "", cData + 6, "RSET\r\n")
        #expect(events == [
            reply(220, ["mx"], 0, "220 mx\r\n", .greeting),
            // DATA without MAIL: a transaction seen mid-way.
            .transactionStarted(transaction: 0, offset: cData),
            .command(dataCommand),
            reply(503, ["5.5.1 need MAIL"], 8, "503 5.5.1 need MAIL\r\n", .command(dataCommand)),
            .command(rset),
            reply(250, ["ok"], 8 + 21, "250 ok\r\n", .command(rset)),
        ])
    }

    @Test func resetMidTransactionAndTwoMessagesPerConnection() {
        var d = Dialog()
        d.server("220 mx\r\n")
        let c0 = d.client("MAIL FROM:<first@example.org>\r\n")
        d.server("250 ok\r\n")
        d.client("RCPT TO:<x@example.net>\r\n")
        d.server("250 ok\r\n")
        d.client("RSET\r\n")
        d.server("250 ok\r\n")
        var starts: [UInt64] = []
        var contents: [UInt64] = []
        for n in 1...2 {
            starts.append(d.client("MAIL FROM:<m\(n)@example.org>\r\n"))
            d.server("250 ok\r\n")
            d.client("RCPT TO:<r\(n)@example.net>\r\n")
            d.server("250 ok\r\n")
            d.client("DATA\r\n")
            d.server("354 go\r\n")
            contents.append(d.client("Message-ID: <\(n)@example.org>\r\n\r\nbody \(n)\r\n.\r\n"))
            d.server("250 queued\r\n")
        }
        let events = verified(d)
        let started = events.compactMap { e -> UInt64? in
            if case .transactionStarted(_, let o) = e { return o }
            return nil
        }
        #expect(started == [c0] + starts)
        let ends = endsOfData(events)
        #expect(ends.map(\.0.transaction) == [1, 2])
        #expect(ends.map(\.0.mailFrom) == ["m1@example.org", "m2@example.org"])
        #expect(ends.map(\.0.rcptTo) == [["r1@example.net"], ["r2@example.net"]])
        #expect(ends.map(\.0.messageID) == ["<1@example.org>", "<2@example.org>"])
        #expect(ends.map(\.0.dataOffset) == contents)
        let bodies = [1, 2].map { unstuffed("Message-ID: <\($0)@example.org>\r\n\r\nbody \($0)\r\n") }
        #expect(ends.map(\.0.fingerprint) == bodies.map(xxh64Hex))
        // Different content, different fingerprints; each end answered by its own reply.
        #expect(ends[0].0.fingerprint != ends[1].0.fingerprint)
        #expect(events.filter { if case .reply(_, .endOfData) = $0 { return true }; return false }.count == 2)
    }
}
