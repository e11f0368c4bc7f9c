import Testing

@testable import SMTP

/// The session's cheaper wrapping against the general paths it stands for: a one-line reply
/// read in place and made at once against the same line buffered across chunks (the general
/// reply builder), and the scanner's own copy of the limits against the options it was made
/// from.
@Suite struct WrapFastPathTests {
    /// Every reply, fed as one chunk (lines in place: whole one-line replies take the quick
    /// path) and byte by byte (every line buffered: the general path), gives the same events.
    @Test func oneLineRepliesInPlaceMatchTheGeneralPath() {
        let replies = [
            "220 mx.example.net ESMTP\r\n", "250 2.1.0 Ok\r\n", "250 ok\r\n", "550 5.1.1 no such user\r\n",
            "354 End data with <CR><LF>.<CR><LF>\r\n", "221\r\n", "250\r\n", "220****************\r\n",
            "250 " + String(repeating: "w", count: 200) + "\r\n", "250-a\r\n250 b\r\n", "xyz\r\n", "25\r\n",
            "250 bare lf\n", "250 bare\rcr\r\n", "250-start\r\nno code\r\n250 end\r\n",
        ]
        let commands = ["NOOP\r\n", "MAIL FROM:<a@example.org>\r\n", "RCPT TO:<b@example.net>\r\n", "EHLO x\r\n"]
        var rng = SplitMix64(seed: 7)
        for options in [SMTPOptions(), { var o = SMTPOptions(); o.maxArgumentLength = 5; o.maxLineLength = 40; return o }()] {
            var d = Dialog()
            d.options = options
            for index in 0..<60 {
                if index % 2 == 0 {
                    d.client(commands[Int(rng.next() % UInt64(commands.count))])
                } else {
                    d.server(replies[Int(rng.next() % UInt64(replies.count))])
                }
            }
            d.end(.client)
            d.end(.server)
            let inPlace = d.run()
            let buffered = d.run(cuts: Array(0..<d.totalBytes))
            #expect(inPlace == buffered)
            #expect(inPlace.contains { if case .reply = $0 { true } else { false } })
        }
    }

    /// What a one-line reply gives, written out by hand: its code, its text after the space
    /// (capped), its offsets, and what it answers.
    @Test func oneLineReplyFieldsAreWhatTheBytesSay() {
        var d = Dialog()
        d.options.maxArgumentLength = 6
        d.server("220 mx ESMTP\r\n")
        d.client("NOOP\r\n")
        d.server("250 2.0.0 fine\r\n")
        d.client("NOOP\r\n")
        d.server("354\r\n")
        for events in [d.run(), d.run(cuts: Array(0..<d.totalBytes))] {
            let replies = events.compactMap { event -> (SMTPReply, ReplyContext)? in
                if case .reply(let reply, let context) = event { return (reply, context) }
                return nil
            }
            #expect(replies.count == 3)
            guard replies.count == 3 else { continue }
            #expect(replies[0].0 == SMTPReply(code: 220, lines: ["mx ESM"], offset: 0, endOffset: 14))
            #expect(replies[0].1 == .greeting)
            #expect(replies[1].0 == SMTPReply(code: 250, lines: ["2.0.0 "], offset: 14, endOffset: 30))
            #expect(replies[1].1 == .command(cmd("NOOP", "", 0, "NOOP\r\n")))
            #expect(replies[2].0 == SMTPReply(code: 354, lines: [""], offset: 30, endOffset: 35))
        }
    }

    /// The scanner reads the limits of the options the session was made with (kept at
    /// `init`, and kept by `reset`): a near-miss cap of 1 reports one near miss of three.
    @Test func scannerKeepsTheSessionLimits() {
        var options = SMTPOptions()
        options.maxNearMissesPerMessage = 1
        let session = SMTPSession(options: options)
        #expect(session.scanner.limits == ScanLimits(session.options))
        #expect(session.scanner.limits.maxNearMissesPerMessage == 1)
        var d = Dialog()
        d.options = options
        d.client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n")
        d.server("250 ok\r\n250 ok\r\n354 go\r\n")
        d.client("one\n.\ntwo\n.\nthree\n.\nend\r\n.\r\n")
        d.server("250 queued\r\n")
        d.client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n")
        d.server("250 ok\r\n250 ok\r\n354 go\r\n")
        d.client("x\n.\ny\n.\r\n.\r\n")
        d.server("250 queued\r\n")
        let events = d.run()
        let nearMisses = events.compactMap { event -> Int? in
            if case .nearMissTerminator(let transaction, _) = event { return transaction }
            return nil
        }
        // One per message: the cap holds for the second message too (after `reset`).
        #expect(nearMisses == [0, 1])
        var unlimited = d
        unlimited.options = SMTPOptions()
        let all = unlimited.run().filter { if case .nearMissTerminator = $0 { true } else { false } }
        #expect(all.count == 5)
    }
}
