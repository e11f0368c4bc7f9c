import Testing

@testable import SMTP

/// The dialog's fast paths against the general ones, on inputs that reach both: message chunks
/// that follow on from the last (straight to the scanner) against chunks that overlap the last
/// by a byte (the general path, which skips the byte), header blocks copied a chunk at a time
/// against byte by byte, the pending FIFO's ring against an array, a session reset in place
/// against a new one. Each with seeded random splits of whole dialogs.
@Suite struct DialogFastPathTests {
    // MARK: dialogs

    /// Message bodies that reach every branch of the scanner: header blocks (short, folded,
    /// past the cap, none), dot-stuffed lines, near misses, bare line breaks, NUL bytes,
    /// empty bodies, lines of every length.
    static let bodies: [String] = [
        "Subject: hello\r\nMessage-ID: <a.1@example.org>\r\nFrom: a@example.org\r\nTo: b@example.net\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nbody line one\r\nbody line two\r\n",
        "Subject: folded\r\n  continued here\r\n\tand here\r\nX-Other: 1\r\n\r\n..stuffed\r\n.\r\nnot the end above? it is stuffed\r\n",
        "no header block at all\r\n",
        "",
        "Subject: x\n\nbare line feeds\n.\nnear miss above\r\n",
        "Subject: y\r\n\r\nnear miss \r.\r here and \n.\r\n there\r\n\u{0}.\r\nnul before\r\n",
        "Subject: " + String(repeating: "long subject ", count: 30) + "\r\n\r\n" + String(repeating: "0123456789", count: 40) + "\r\n",
        String(repeating: "line of text that goes on for a while\r\n", count: 20),
        "Subject: z\r\n\r\n\r\n\r\n..\r\n...\r\n.x\r\n",
    ]

    /// A dialog of `count` transactions with bodies picked by `rng`, replies in every form.
    static func dialog(_ rng: inout SplitMix64, transactions count: Int, options: SMTPOptions = SMTPOptions()) -> Dialog {
        var d = Dialog()
        d.options = options
        d.server("220 mx.example.net ESMTP\r\n")
        d.client("EHLO client.example.org\r\n")
        d.server("250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n")
        for index in 0..<count {
            let body = bodies[Int(rng.next() % UInt64(bodies.count))]
            if rng.next() % 3 == 0 {
                // Pipelined envelope: the replies come together.
                d.client("MAIL FROM:<a\(index)@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n")
                d.server("250 ok\r\n550 no such user\r\n250 ok\r\n354 go ahead\r\n")
            } else {
                d.client("MAIL FROM:<a\(index)@example.org>\r\n")
                d.server("250 2.1.0 ok\r\n")
                d.client("RCPT TO:<b@example.net>\r\n")
                d.server(rng.next() % 2 == 0 ? "250 2.1.5 ok\r\n" : "250-2.1.5 recipient\r\n250 2.1.5 ok\r\n")
                d.client("DATA\r\n")
                d.server("354 End data with <CR><LF>.<CR><LF>\r\n")
            }
            d.client(body + "\r\n.\r\n")
            switch rng.next() % 4 {
            case 0: d.server("250 2.0.0 Ok: queued as ABC\(index)\r\n")
            case 1: d.server("250-first line\r\n250-second line\r\n250 queued\r\n")
            case 2: d.server("25x malformed\r\n250 queued after all\r\n")  // malformed, then unsolicited
            default: d.server("250-mixed\r\nno code inside\r\n251 wrong code\r\n")
            }
        }
        d.client("QUIT\r\n")
        d.server("221 bye\r\n")
        d.end(.client)
        d.end(.server)
        return d
    }

    /// Runs `dialog` with chunk boundaries at `cuts`; with `overlapping`, every chunk after a
    /// side's first is fed from one byte before where the last ended (the byte sent again),
    /// which the session skips on its general path: no chunk takes the follow-on fast path.
    static func run(_ dialog: Dialog, cuts: [Int], overlapping: Bool) -> (events: [SMTPEvent], statistics: SMTPStatistics) {
        var session = SMTPSession(options: dialog.options)
        var events: [SMTPEvent] = []
        var sent: [SMTPSide: [UInt8]] = [.client: [], .server: []]
        var global = 0
        let cuts = Set(cuts)
        for step in dialog.steps {
            switch step {
            case .send(let side, let bytes):
                var start = 0
                while start < bytes.count {
                    var end = start + 1
                    while end < bytes.count && !cuts.contains(global + end) { end += 1 }
                    let streamStart = sent[side, default: []].count
                    sent[side, default: []] += bytes[start..<end]
                    let from = overlapping && streamStart > 0 ? streamStart - 1 : streamStart
                    let all = sent[side, default: []]
                    all[from...].withUnsafeBytes { raw in
                        session.feed(side, raw, at: UInt64(from)) { events.append($0) }
                    }
                    start = end
                }
                global += bytes.count
            case .gap(let side, let length):
                let at = UInt64(sent[side, default: []].count)
                session.gap(side, at: at, length: length) { events.append($0) }
                sent[side, default: []] += [UInt8](repeating: 0, count: Int(length))
            case .end(let side):
                session.end(side) { events.append($0) }
            }
        }
        return (events, session.statistics)
    }

    // MARK: message chunks

    /// Message chunks that follow on from the last go straight to the scanner; chunks that
    /// overlap it by a byte go the general way. Same events, whatever the split.
    @Test(arguments: 1...24)
    func messageChunksGiveTheSameEventsOnEitherPath(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var options = SMTPOptions()
        if seed % 3 == 0 {
            options.maxHeaderBytes = 24  // blocks past the cap
            options.maxLineLength = 40
        }
        let d = Self.dialog(&rng, transactions: 4, options: options)
        let whole = Self.run(d, cuts: [], overlapping: false)
        #expect(!endsOfData(whole.events).isEmpty)
        for round in 0..<12 {
            let count = round == 0 ? d.totalBytes : Int(rng.next() % 40)
            let cuts = round == 0 ? Array(0..<d.totalBytes) : (0..<count).map { _ in Int(rng.next() % UInt64(d.totalBytes)) }
            let fast = Self.run(d, cuts: cuts, overlapping: false)
            let general = Self.run(d, cuts: cuts, overlapping: true)
            #expect(fast.events == whole.events)
            #expect(general.events == whole.events)
            // The overlapping bytes are not counted twice.
            #expect(general.statistics == fast.statistics)
        }
    }

    /// A hand-checked message through both paths: its summary is what the bytes say.
    @Test func aMessageSplitAnywhereKeepsItsSizeFieldsAndFingerprint() {
        let body = "Subject: split\r\nMessage-ID: <s@example.org>\r\n\r\n..dot\r\nplain\r\n"
        var d = Dialog()
        d.client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n")
        d.server("250 ok\r\n250 ok\r\n354 go\r\n")
        d.client(body + ".\r\n")
        d.server("250 queued\r\n")
        let content = unstuffed(body)
        for cut in 0..<d.totalBytes {
            for overlapping in [false, true] {
                let run = Self.run(d, cuts: [cut], overlapping: overlapping)
                let ends = endsOfData(run.events)
                #expect(ends.count == 1)
                guard let (summary, terminator) = ends.first else { continue }
                #expect(summary.size == UInt64(content.count))
                #expect(summary.fingerprint == xxh64Hex(content))
                #expect(summary.subjectText?.string == "split")
                #expect(summary.messageIDText?.string == "<s@example.org>")
                #expect(terminator?.style == .crlf)
            }
        }
    }

    // MARK: replies

    /// Replies of every form (multi-line, pipelined, malformed, a line without a code inside
    /// a multi-line reply, over-long lines, past the line limit), randomly composed and split.
    @Test(arguments: 1...16)
    func replyFormsAreChunkingIndependent(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let forms = [
            "250 ok\r\n", "250-a\r\n250-b\r\n250 c\r\n", "354 go\r\n", "xyz\r\n", "250-a\r\nplain\r\n250 b\r\n",
            "250-a\r\n251 b\r\n", "25\r\n", "250 " + String(repeating: "v", count: 90) + "\r\n",
            "250-1\r\n250-2\r\n250-3\r\n250-4\r\n250-5\r\n250 6\r\n", "550 no\n", "250 bare\rcr\r\n", "220 hi\r\n",
        ]
        let commands = ["NOOP\r\n", "MAIL FROM:<a@b>\r\n", "RCPT TO:<c@d>\r\n", "EHLO x\r\n", "RSET\r\n"]
        var d = Dialog()
        d.options.maxLineLength = 48
        d.options.maxReplyLines = 4
        for _ in 0..<30 {
            if rng.next() % 2 == 0 {
                d.client(commands[Int(rng.next() % UInt64(commands.count))])
            } else {
                d.server(forms[Int(rng.next() % UInt64(forms.count))])
            }
        }
        d.end(.client)
        d.end(.server)
        let whole = Self.run(d, cuts: [], overlapping: false)
        for round in 0..<16 {
            let cuts = round == 0 ? Array(0..<d.totalBytes) : (0..<Int(rng.next() % 30)).map { _ in Int(rng.next() % UInt64(d.totalBytes)) }
            #expect(Self.run(d, cuts: cuts, overlapping: false).events == whole.events)
            #expect(Self.run(d, cuts: cuts, overlapping: true).events == whole.events)
        }
    }

    /// What each reply form gives, written out by hand.
    @Test func replyFormsGiveTheirLines() {
        var d = Dialog()
        d.options.maxReplyLines = 3
        let greeting = "220-mx\r\n220 ESMTP\r\n"
        let greetingAt = d.server(greeting)
        d.client("NOOP\r\nNOOP\r\nNOOP\r\n")
        let long = "250-1\r\n250-2\r\n250-3\r\n250 4\r\n"
        let longAt = d.server(long)
        let mixed = "250-a\r\nplain\r\n250 b\r\n"
        let mixedAt = d.server(mixed)
        let wrong = "250-a\r\n251 b\r\n"
        let wrongAt = d.server(wrong)
        let replies = d.run().compactMap { event -> SMTPReply? in
            if case .reply(let reply, _) = event { return reply }
            return nil
        }
        #expect(replies == [
            SMTPReply(code: 220, lines: ["mx", "ESMTP"], offset: greetingAt, endOffset: greetingAt + UInt64(greeting.utf8.count)),
            // Past three lines a reply keeps no more.
            SMTPReply(code: 250, lines: ["1", "2", "3"], offset: longAt, endOffset: longAt + UInt64(long.utf8.count)),
            // A line without a code is kept whole and does not end the reply.
            SMTPReply(code: 250, lines: ["a", "plain", "b"], offset: mixedAt, endOffset: mixedAt + UInt64(mixed.utf8.count)),
            SMTPReply(code: 250, lines: ["a", "b"], offset: wrongAt, endOffset: wrongAt + UInt64(wrong.utf8.count)),
        ])
        let anomalies = d.run().compactMap { event -> SMTPAnomaly? in
            if case .anomaly(let kind, .server, _) = event { return kind }
            return nil
        }
        #expect(anomalies == [.malformedReply, .malformedReply])  // the plain line, the 251
    }

    // MARK: header block

    /// The header block taken a chunk range at a time against byte by byte: the same block
    /// end, truncation and fields, for random blocks, caps and splits.
    @Test(arguments: 1...40)
    func headerBlockByRangesMatchesByteByByte(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let pieces = ["\r\n", "\n", "\r", "Subject: s", "To: t", " fold", "\tx", "a", ": ", "Message-ID: <m>", "From:f", "\n\r\n", "\r\n\r\n"]
        var block: [UInt8] = []
        for _ in 0..<Int(rng.next() % 24 + 1) { block += Array(pieces[Int(rng.next() % UInt64(pieces.count))].utf8) }
        let cap = [0, 1, 5, 16, 64, 16 * 1024][Int(rng.next() % 6)]
        var byByte = HeaderCollector()
        for b in block { byByte.add(b, cap: cap) }
        var byRange = HeaderCollector()
        var start = 0
        block.withUnsafeBytes { raw in
            while start < block.count {
                let end = min(block.count, start + Int(rng.next() % 9) + 1)
                if byRange.collecting { byRange.add(raw, start..<end, cap: cap) }
                start = end
            }
        }
        #expect(byRange.collecting == byByte.collecting)
        #expect(byRange.truncated == byByte.truncated)
        var arenaA = TextArena(initialCapacity: 16)
        var arenaB = TextArena(initialCapacity: 16)
        #expect(byRange.parse(maxValueLength: 998, arena: &arenaA) == byByte.parse(maxValueLength: 998, arena: &arenaB))
    }

    /// Hand-computed: the block ends at the first empty line, and only a line break can end it.
    @Test func headerBlockEndsAtTheFirstEmptyLine() {
        let text = Array("Subject: a\r\nTo: b\r\n\r\nSubject: not a header\r\n".utf8)
        for cut in 0...text.count {
            var collector = HeaderCollector()
            text.withUnsafeBytes { raw in
                collector.add(raw, 0..<cut, cap: 1024)
                if collector.collecting { collector.add(raw, cut..<text.count, cap: 1024) }
            }
            #expect(!collector.collecting)
            #expect(!collector.truncated)
            var arena = TextArena(initialCapacity: 16)
            let fields = collector.parse(maxValueLength: 998, arena: &arena)
            #expect(fields.subject?.string == "a")
            #expect(fields.to?.string == "b")
        }
    }

    // MARK: pending FIFO

    /// The ring of pending commands against an array, for random pushes, pops and clears.
    @Test(arguments: 1...20)
    func pendingRingMatchesAnArray(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var queue = PendingQueue()
        var model: [ReplyContext] = []
        for step in 0..<400 {
            switch rng.next() % 10 {
            case 0..<5:
                let context: ReplyContext =
                    step % 3 == 0
                    ? .endOfData(transaction: step)
                    : .command(SMTPCommand(verb: "NOOP", argument: "n\(step)", offset: UInt64(step), length: 6))
                queue.push(context, verb: step % 3 == 0 ? nil : .noop)
                model.append(context)
            case 5..<9:
                let popped = queue.pop()
                #expect(popped?.context == model.first)
                if !model.isEmpty { model.removeFirst() }
            default:
                if rng.next() % 4 == 0 {
                    queue.removeAll()
                    model.removeAll()
                }
            }
            #expect(queue.count == model.count)
            #expect(queue.isEmpty == model.isEmpty)
        }
        while let item = queue.pop() {
            #expect(item.context == model.first)
            model.removeFirst()
        }
        #expect(model.isEmpty)
    }

    // MARK: reply lines

    /// `someLineStarts(where:)` (one pass over the length prefixes) and `isASCII` (eight bytes
    /// at a time) against the lines handed out one by one, for lines kept in a store and as
    /// strings, of every length (0, past 255 so that prefixes hold bytes of 0x80 and more).
    @Test(arguments: 1...30)
    func replyLineChecksMatchTheLines(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let alphabet: [UInt8] = [0x78, 0x58, 0x41, 0x20, 0x09, 0x7F, 0xC3, 0xA9, 0x80, 0x32]
        var arena = TextArena(initialCapacity: 64)
        var stored: ReplyLines?
        var strings: [String] = []
        for _ in 0..<Int(rng.next() % 6 + 1) {
            let length = [0, 1, 3, 9, 130, 300][Int(rng.next() % 6)]
            let line = (0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            line.withUnsafeBytes { stored = arena.appending(line: $0, to: stored) }
            strings.append(String(decoding: line, as: UTF8.self))
        }
        for lines in [stored ?? ReplyLines([]), ReplyLines(strings)] {
            var handedOut: [[UInt8]] = []
            lines.forEachLine { handedOut.append(Array($0)) }
            for probe: (UInt8) -> Bool in [{ $0 | 0x20 == 0x78 }, { $0 >= 0x80 }, { $0 == 0x20 }, { _ in false }] {
                #expect(lines.someLineStarts(where: probe) == handedOut.contains { $0.first.map(probe) ?? false })
            }
            #expect(lines.isASCII == handedOut.allSatisfy { $0.allSatisfy { $0 < 0x80 } })
        }
    }

    // MARK: reset

    /// A session reset in place after a dialog left in any state (mid-message, bytes held for
    /// a reply, a reply half built, a near miss, anomalies counted) reads the next connection
    /// as a new session does.
    @Test(arguments: 1...12)
    func resetSessionReadsAsANewOne(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var options = SMTPOptions()
        options.maxReportsPerAnomaly = 1
        let first = Self.dialog(&rng, transactions: 2, options: options)
        // Cut the first connection short at a random point.
        var used = SMTPSession(options: options)
        let stop = Int(rng.next() % UInt64(first.steps.count))
        var offsets: [SMTPSide: UInt64] = [.client: 0, .server: 0]
        for step in first.steps.prefix(stop) {
            if case .send(let side, let bytes) = step {
                let take = side == .client && rng.next() % 2 == 0 ? bytes.count / 2 : bytes.count
                bytes[0..<take].withUnsafeBytes { used.feed(side, $0, at: offsets[side] ?? 0) { _ in } }
                offsets[side, default: 0] += UInt64(take)
            }
        }
        Array("250-half built\r\nstray".utf8).withUnsafeBytes { used.feed(.server, $0, at: offsets[.server] ?? 0) { _ in } }
        used.reset()
        let second = Self.dialog(&rng, transactions: 3, options: options)
        var fresh = SMTPSession(options: options)
        var freshEvents: [SMTPEvent] = []
        var reusedEvents: [SMTPEvent] = []
        var at: [SMTPSide: UInt64] = [.client: 0, .server: 0]
        for step in second.steps {
            switch step {
            case .send(let side, let bytes):
                bytes.withUnsafeBytes { raw in
                    fresh.feed(side, raw, at: at[side] ?? 0) { freshEvents.append($0) }
                    used.feed(side, raw, at: at[side] ?? 0) { reusedEvents.append($0) }
                }
                at[side, default: 0] += UInt64(bytes.count)
            case .gap(let side, let length):
                fresh.gap(side, at: at[side] ?? 0, length: length) { freshEvents.append($0) }
                used.gap(side, at: at[side] ?? 0, length: length) { reusedEvents.append($0) }
                at[side, default: 0] += length
            case .end(let side):
                fresh.end(side) { freshEvents.append($0) }
                used.end(side) { reusedEvents.append($0) }
            }
        }
        #expect(reusedEvents == freshEvents)
        #expect(used.statistics == fresh.statistics)
    }
}
