@testable import Analysis
import Reassembly
import SMTP
import Testing
import TestSupport
import Wire

/// Production trackers run their sessions without routine events and without reading the
/// Date, From and To header fields (``SMTPOptions/reportsRoutineEvents`` and
/// ``SMTPOptions/readsAddressFields`` off): the records must be the ones a tracker makes from
/// every event and every field. Conversations with every reply a tracker reads something in: masked
/// EHLO keywords and banners, 421, EHLO refused, refused recipients, rejected DATA and BDAT,
/// unknown (masked) verbs, STARTTLS, AUTH, pipelining, QUIT and RSET.
@Suite struct S7DialogRoutineEventsTests {
    static let conversations: [(client: String, server: String)] = [
        TrackerReuseTests.first,
        TrackerReuseTests.second,
        (client: "EHLO c\r\n|XXXX\r\n|MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n|Subject: s\r\n\r\nx\r\n.\r\n|RSET\r\n|QUIT\r\n",
         server: "220 mx ESMTP\r\n|250-mx\r\n250-XXXXXXXA\r\n250 xforward\r\n|502 what\r\n|250 ok\r\n550 no\r\n250 ok\r\n354 go\r\n|250 queued\r\n|250 reset\r\n|221 bye\r\n"),
        (client: "HELO c\r\n|EHLO c\r\n|MAIL FROM:<a@example.org>\r\n|RCPT TO:<b@example.net>\r\n|DATA\r\n|NOOP\r\n|QUIT\r\n",
         server: "220 mx\r\n|250 mx\r\n|502 no EHLO\r\n|250 ok\r\n|250 ok\r\n|554 no thanks\r\n|250 ok\r\n|221 bye\r\n"),
        (client: "EHLO c\r\n|MAIL FROM:<a@example.org>\r\n|RCPT TO:<b@example.net>\r\n|BDAT 5 LAST\r\nhello|QUIT\r\n",
         server: "220 mx\r\n|250-mx\r\n250 CHUNKING\r\n|250 ok\r\n|250 ok\r\n|552 too big\r\n|421 closing\r\n"),
        (client: "EHLO c\r\n|AUTH PLAIN\r\n|dGVzdA==\r\n|STARTTLS\r\n|\u{16}\u{3}\u{1}secret",
         server: "220 mx\r\n|250-mx\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n|334 \r\n|235 ok\r\n|220 go ahead\r\n|\u{16}\u{3}\u{3}secret"),
        (client: "EHLO c\r\n|MAIL FROM:<a@example.org>\r\n|RCPT TO:<b@example.net>\r\n|DATA\r\n|x\r\n.\r\n",
         server: "220 mx\r\n|250-mx\r\n250-\u{1}odd\r\n250 \u{C9}t\u{E9}\r\n|250 ok\r\n|250 ok\r\n|354 go\r\n"),
    ]

    @Test(arguments: 0..<7)
    func recordsAreTheSameWithoutRoutineEvents(index: Int) {
        let conversation = Self.conversations[index]
        var everything = AnalysisOptions().smtp
        everything.reportsExtensions = false
        everything.reportsRoutineEvents = true
        everything.readsAddressFields = true
        let full = FlowTrackerShared<SMTPSession>(options: AnalysisOptions()) { SMTPSession(options: everything) }
        let quiet = FlowTrackerShared<SMTPSession>(options: AnalysisOptions())
        var a = FlowTracker(info: TrackerReuseTests.info(index, port: 40000), capture: 0, shared: full)
        var b = FlowTracker(info: TrackerReuseTests.info(index, port: 40000), capture: 0, shared: quiet)
        let expected = TrackerReuseTests.run(&a, flow: index, client: conversation.client, server: conversation.server)
        let got = TrackerReuseTests.run(&b, flow: index, client: conversation.client, server: conversation.server)
        #expect(got == expected)
        #expect(!expected.transactions.isEmpty || index == 5)
    }

    /// The SMTP side: the events without routine ones are the full events less exactly those
    /// the option names (written out here), with the same counters.
    @Test(arguments: 1...12)
    func onlyRoutineEventsAreLeftOut(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed))
        var client = "EHLO c\r\n"
        var server = "220 mx\r\n250-mx\r\n250-XFORWARD NAME\r\n250 8BITMIME\r\n"
        let commands = ["MAIL FROM:<a@example.org>", "RCPT TO:<b@example.net>", "NOOP", "VRFY x", "HELP", "RSET", "XXXX", "HELO c", "DATA"]
        let replies = ["250 ok", "550 no", "421 bye", "250 XXXXXXXA", "250-x\r\n250 y", "354 go", "500 what", "221 ok", "250 \u{7F}"]
        for _ in 0..<20 {
            client += commands[Int(rng.next() % UInt64(commands.count))] + "\r\n"
            server += replies[Int(rng.next() % UInt64(replies.count))] + "\r\n"
        }
        func run(routine: Bool) -> ([SMTPEvent], SMTPStatistics) {
            var options = SMTPOptions()
            options.reportsRoutineEvents = routine
            var session = SMTPSession(options: options)
            var events: [SMTPEvent] = []
            // Pipelined: the commands, then the replies that answer them in order.
            Array(client.utf8).withUnsafeBytes { session.feed(.client, $0, at: 0) { events.append($0) } }
            Array(server.utf8).withUnsafeBytes { session.feed(.server, $0, at: 0) { events.append($0) } }
            return (events, session.statistics)
        }
        let (all, allStatistics) = run(routine: true)
        let (quiet, quietStatistics) = run(routine: false)
        func isRoutine(_ event: SMTPEvent) -> Bool {
            switch event {
            case .command(let command):
                guard let verb = command.knownVerb else { return false }
                return ![SMTPVerb.mail, .rcpt, .data, .bdat, .rset, .quit].contains(verb)
            case .reply(let reply, .command):
                return reply.code < 400
                    && !reply.lines.contains { line in
                        guard let first = line.utf8.first else { return false }
                        return first == UInt8(ascii: "x") || first == UInt8(ascii: "X") || first >= 0x7F || first < 0x20
                    }
            default:
                return false
            }
        }
        #expect(quiet == all.filter { !isRoutine($0) })
        #expect(quietStatistics == allStatistics)
        #expect(all.count > quiet.count)
        // Replies answered commands (the comparison is not only about unsolicited ones).
        #expect(all.contains { if case .reply(_, .command) = $0 { return true } else { return false } })
    }
}
