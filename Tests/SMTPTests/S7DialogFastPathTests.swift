import Testing

@testable import SMTP

/// This round's dialog fast paths against the general ones. A reply that lies whole in the
/// chunk is read at once past the framer (`replyInPlace`); a line that goes on with a reply
/// being built is joined in place (`continuedReply`); a command line in place is read without
/// the framer's closure. Fed byte by byte, no line ever lies whole in a chunk, so every line
/// takes the general path (framer buffer, `serverLine`/`clientLine`): the events and counters
/// of the two runs must be the same. Each dialog also checks a few hand-written expectations.
@Suite struct S7DialogFastPathTests {
    /// Events and counters of `dialog` fed as its steps are written, and fed byte by byte;
    /// `same` also holds for both runs with routine events off (the tracker's setting, where
    /// a routine reply in place is handled without its text).
    static func runs(_ dialog: Dialog) -> (whole: [SMTPEvent], bytewise: [SMTPEvent], same: Bool) {
        var quiet = dialog
        quiet.options.reportsRoutineEvents = false
        let (whole, bytewise, same) = runs(dialog, options: dialog.options)
        let (quietWhole, quietBytewise, quietSame) = runs(dialog, options: quiet.options)
        #expect(quietSame, "routine events off, whole: \(quietWhole)\nbyte by byte: \(quietBytewise)")
        return (whole, bytewise, same && quietSame)
    }

    static func runs(_ dialog: Dialog, options: SMTPOptions) -> (whole: [SMTPEvent], bytewise: [SMTPEvent], same: Bool) {
        func run(bytewise: Bool) -> ([SMTPEvent], SMTPStatistics) {
            var session = SMTPSession(options: options)
            var events: [SMTPEvent] = []
            var offsets: [SMTPSide: UInt64] = [.client: 0, .server: 0]
            for step in dialog.steps {
                switch step {
                case .send(let side, let bytes):
                    let base = offsets[side, default: 0]
                    if bytewise {
                        for k in bytes.indices {
                            bytes[k...k].withUnsafeBytes { session.feed(side, $0, at: base + UInt64(k)) { events.append($0) } }
                        }
                    } else {
                        bytes.withUnsafeBytes { session.feed(side, $0, at: base) { events.append($0) } }
                    }
                    offsets[side, default: 0] += UInt64(bytes.count)
                case .gap(let side, let length):
                    session.gap(side, at: offsets[side, default: 0], length: length) { events.append($0) }
                    offsets[side, default: 0] += length
                case .end(let side):
                    session.end(side) { events.append($0) }
                }
            }
            return (events, session.statistics)
        }
        let (whole, wholeStatistics) = run(bytewise: false)
        let (bytewise, bytewiseStatistics) = run(bytewise: true)
        return (whole, bytewise, whole == bytewise && wholeStatistics == bytewiseStatistics)
    }

    /// The replies of `events`: code, lines, and what each answers (a command's verb, or the
    /// context's name).
    static func replies(_ events: [SMTPEvent]) -> [(code: Int, lines: [String], answering: String)] {
        events.compactMap { event in
            guard case .reply(let reply, let context) = event else { return nil }
            let answering: String
            switch context {
            case .greeting: answering = "greeting"
            case .command(let command): answering = command.verb
            case .endOfData(let index): answering = "end \(index)"
            case .unsolicited: answering = "unsolicited"
            }
            return (reply.code, reply.lines, answering)
        }
    }

    static func anomalies(_ events: [SMTPEvent]) -> [SMTPAnomaly] {
        events.compactMap { if case .anomaly(let kind, _, _) = $0 { return kind } else { return nil } }
    }

    @Test func pipelinedRepliesInOneChunkAnswerTheirCommandsInOrder() {
        var d = Dialog()
        d.server("220 mx.example.net ESMTP\r\n")
        d.client("EHLO c.example.org\r\n")
        d.server("250-mx.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
        d.client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n")
        d.server("250 2.1.0 ok\r\n550 5.1.1 no such user\r\n250 2.1.5 ok\r\n354 go ahead\r\n")
        d.client("Subject: s\r\n\r\nbody\r\n.\r\n")
        d.server("250 2.0.0 queued\r\n")
        d.client("QUIT\r\n")
        d.server("221 bye\r\n")
        let (whole, bytewise, same) = Self.runs(d)
        #expect(same, "whole: \(whole)\nbyte by byte: \(bytewise)")
        let got = Self.replies(whole)
        #expect(got.map(\.code) == [220, 250, 250, 550, 250, 354, 250, 221])
        #expect(got.map(\.answering) == ["greeting", "EHLO", "MAIL", "RCPT", "RCPT", "DATA", "end 0", "QUIT"])
        #expect(got[1].lines == ["mx.example.net", "PIPELINING", "8BITMIME"])
        #expect(got[3].lines == ["5.1.1 no such user"])
        // The refused recipient is no recipient of the message.
        let summary = whole.compactMap { if case .endOfData(let s, _) = $0 { return s } else { return nil } }.first
        #expect(summary?.rcptTo == ["c@example.net"])
        #expect(Self.anomalies(whole).isEmpty)
    }

    @Test func routineRepliesInPlaceAreLeftOutAsTheGeneralPathLeavesThemOut() {
        // Pipelined replies in one chunk: routine ones (positive, to a command other than
        // EHLO, no line that may be a masked keyword) and the others beside them.
        var d = Dialog()
        d.server("220 mx\r\n")
        d.client("EHLO c\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\n")
        d.server("250-mx\r\n250 SIZE\r\n250 ok\r\n250 XXXXXXXA\r\n250 \u{7F}odd\r\n250-fine\r\n250 xforward\r\n421 closing\r\n250 \r\n250 ok\r\n550 no\r\n250 ok\r\n")
        var quiet = d
        quiet.options.reportsRoutineEvents = false
        let (whole, bytewise, same) = Self.runs(quiet, options: quiet.options)
        #expect(same, "whole: \(whole)\nbyte by byte: \(bytewise)")
        // Reported: the greeting, the masked-looking ones (`XXXXXXXA`, `\u{7F}odd`, a second
        // line `xforward`), the 421 and the refused RCPT; not the plain positive replies to
        // EHLO, NOOP, MAIL and RCPT (an empty text included).
        #expect(Self.replies(whole).map(\.code) == [220, 250, 250, 250, 421, 550])
        #expect(Self.replies(whole).map(\.lines).dropFirst(1).first == ["XXXXXXXA"])
        let commands = whole.compactMap { if case .command(let c) = $0 { return c.verb } else { return nil } }
        #expect(commands == ["MAIL", "RCPT", "RCPT"])
    }

    @Test func withoutAddressFieldsASummaryKeepsItsMessageIDAndSubject() {
        var d = Dialog()
        d.server("220 mx\r\n")
        d.client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n")
        d.server("250 ok\r\n250 ok\r\n354 go\r\n")
        d.client("From: A <a@example.org>\r\nTo: b@example.net\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nSubject: hello\r\nMessage-ID: <m@example.org>\r\n\r\nbody\r\n.\r\n")
        d.server("250 queued\r\n")
        func summaries(_ options: SMTPOptions) -> [MessageSummary] {
            Self.runs(d, options: options).whole.compactMap { if case .endOfData(let s, _) = $0 { return s } else { return nil } }
        }
        var without = d.options
        without.readsAddressFields = false
        let all = summaries(d.options)
        let some = summaries(without)
        #expect(all.count == 1 && some.count == 1)
        #expect(all.first?.from == "A <a@example.org>" && all.first?.to == "b@example.net" && all.first?.date == "Mon, 1 Jan 2024 00:00:00 +0000")
        #expect(some.first?.from == nil && some.first?.to == nil && some.first?.date == nil)
        #expect(some.first?.messageID == "<m@example.org>" && some.first?.subject == "hello")
        #expect(some.first?.fingerprint == all.first?.fingerprint && some.first?.size == all.first?.size)
    }

    @Test func replyLinesAreCappedAndCountedAsTheGeneralPathKeepsThem() {
        var d = Dialog()
        d.options.maxReplyLines = 3
        d.options.maxArgumentLength = 8
        d.server("220 mx\r\n")
        d.client("EHLO c\r\n")
        d.server("250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-CHUNKING\r\n250 8BITMIME\r\n")
        d.client("NOOP\r\n")
        d.server("250\r\n")  // a code alone: no text
        d.client("NOOP\r\n")
        d.server("250-\r\n250 \r\n")  // empty texts
        let (whole, bytewise, same) = Self.runs(d)
        #expect(same, "whole: \(whole)\nbyte by byte: \(bytewise)")
        let got = Self.replies(whole)
        #expect(got.map(\.code) == [220, 250, 250, 250])
        #expect(got[1].lines == ["mx.examp", "PIPELINI", "SIZE 100"])
        #expect(got[2].lines == [""])
        #expect(got[3].lines == ["", ""])
    }

    @Test func aReplyLongerThanTheFastPathReadsIsReadWhole() {
        // 40 lines: more than the 32 the fast path reads; the general path takes it.
        var d = Dialog()
        d.server("220 mx\r\n")
        d.client("EHLO c\r\n")
        let keywords = (0..<40).map { "X-KEYWORD-\($0)" }
        d.server(keywords.enumerated().map { "250\($0.offset == 39 ? " " : "-")\($0.element)\r\n" }.joined())
        let (whole, bytewise, same) = Self.runs(d)
        #expect(same, "whole: \(whole)\nbyte by byte: \(bytewise)")
        let got = Self.replies(whole)
        #expect(got.count == 2 && got[1].lines == keywords)
    }

    @Test func linesWithSomethingToReportTakeTheGeneralPath() {
        var d = Dialog()
        d.options.maxLineLength = 40
        d.server("220 mx\r\n")
        d.client("NOOP\r\n")
        d.server("250-first\r\n251 wrong code\r\n")  // malformed: another code inside
        d.client("NOOP\r\n")
        d.server("250-first\r\nno code here\r\n250 last\r\n")  // a line without a code inside
        d.client("NOOP\r\n")
        d.server("250 bare line feed\n")
        d.client("NOOP\r\n")
        d.server("250 bare\rcarriage return\r\n")
        d.client("NOOP\r\n")
        d.server("250 " + String(repeating: "long ", count: 12) + "\r\n")  // past the line limit
        d.client("NOOP\r\n")
        d.server("25x not a code\r\n")
        let (whole, bytewise, same) = Self.runs(d)
        #expect(same, "whole: \(whole)\nbyte by byte: \(bytewise)")
        let kinds = Self.anomalies(whole)
        #expect(kinds.contains(.malformedReply))
        #expect(kinds.contains(.bareLF))
        #expect(kinds.contains(.bareCR))
        #expect(kinds.contains(.lineTooLong))
        let got = Self.replies(whole)
        #expect(got[1].code == 250 && got[1].lines == ["first", "wrong code"])
        #expect(got[2].lines == ["first", "no code here", "last"])
    }

    @Test func starttlsAcceptedEndsTheReadingAtItsReply() {
        var d = Dialog()
        d.server("220 mx\r\n")
        d.client("EHLO c\r\n")
        d.server("250-mx\r\n250 STARTTLS\r\n")
        d.client("STARTTLS\r\n")
        // The 220 and the first TLS bytes (which look like a reply) in one chunk.
        d.server("220 2.0.0 ready\r\n250 not a reply: encrypted\r\n\u{16}\u{3}\u{1}")
        d.client("\u{16}\u{3}\u{1}\u{0}\u{5}hello")
        let (whole, bytewise, same) = Self.runs(d)
        #expect(same, "whole: \(whole)\nbyte by byte: \(bytewise)")
        #expect(Self.replies(whole).map(\.code) == [220, 250, 220])
        #expect(whole.contains { if case .tlsStarted = $0 { return true } else { return false } })
    }

    @Test func afterAGapTheServerSideResynchronisesOnTheGeneralPath() {
        var d = Dialog()
        d.server("220 mx\r\n")
        d.client("MAIL FROM:<a@example.org>\r\n")
        d.server("250 ok\r\n")
        d.gap(.server, 7)
        d.client("NOOP\r\n")
        d.server("tail of a lost line\r\n250 ok after the gap\r\n250-two\r\n250 lines\r\n")
        let (whole, bytewise, same) = Self.runs(d)
        #expect(same, "whole: \(whole)\nbyte by byte: \(bytewise)")
        #expect(Self.anomalies(whole).contains(.dataAfterGap))
    }

    @Test func greetingsBannersAndBDATRepliesAsTheGeneralPathReadsThem() {
        var d = Dialog()
        d.server("220 ********************\r\n")  // masked banner
        d.client("EHLO c\r\n")
        d.server("250-mx\r\n250-CHUNKING\r\n250 XXXXXXXA\r\n")  // masked STARTTLS
        d.client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nBDAT 10\r\n0123456789BDAT 4 LAST\r\nabcd")
        d.server("250 ok\r\n250 ok\r\n250 10 octets\r\n250 queued\r\n")
        d.client("QUIT\r\n")
        d.server("221 bye\r\n")
        d.end(.client)
        d.end(.server)
        let (whole, bytewise, same) = Self.runs(d)
        #expect(same, "whole: \(whole)\nbyte by byte: \(bytewise)")
        #expect(Self.anomalies(whole).contains(.bannerMasked))
        #expect(Self.replies(whole).map(\.answering) == ["greeting", "EHLO", "MAIL", "RCPT", "BDAT", "end 0", "QUIT"])
    }

    @Test(arguments: 1...12)
    func randomDialogsGiveTheSameEventsWholeAndByteByByte(seed: Int) {
        // Whole transactions with every reply form, in chunks as written: pipelined, split
        // EHLO replies, malformed lines (`DialogFastPathTests.dialog`).
        var rng = SplitMix64(seed: UInt64(seed) &* 0x51_7CC1)
        let d = DialogFastPathTests.dialog(&rng, transactions: 6)
        let (whole, bytewise, same) = Self.runs(d)
        #expect(same, "whole: \(whole.count) events, byte by byte: \(bytewise.count)")
        #expect(Self.replies(whole).count >= 6 * 4)
    }

    // MARK: the parts

    /// `SMTPVerb.matching` against the spelling compared byte by byte (as `Parsing.upper`
    /// folds), on every verb in mixed case and with each byte changed to letters' neighbours
    /// (`@`, `` ` ``, `[`, `{`, the letter with bit 5 flipped, a non-ASCII byte).
    @Test func verbsMatchAsTheirSpellingComparedByteByByte() {
        func reference(_ bytes: [UInt8], _ caseInsensitive: Bool) -> SMTPVerb? {
            SMTPVerb.allCases.first { verb in
                let spelling = Array(verb.text.utf8)
                return spelling.count == bytes.count
                    && zip(spelling, bytes).allSatisfy { $0 == (caseInsensitive ? Parsing.upper($1) : $1) }
            }
        }
        var rng = SplitMix64(seed: 7)
        var checked = 0
        for verb in SMTPVerb.allCases {
            let spelling = Array(verb.text.utf8)
            var candidates: [[UInt8]] = [spelling, spelling.map { $0 | 0x20 }]
            for _ in 0..<4 { candidates.append(spelling.map { rng.next() % 2 == 0 ? $0 | 0x20 : $0 }) }
            for k in spelling.indices {
                for replacement: UInt8 in [0x40, 0x60, 0x5B, 0x7B, spelling[k] ^ 0x20, spelling[k] ^ 0x80, spelling[k] &+ 1, 0] {
                    var changed = spelling
                    changed[k] = replacement
                    candidates.append(changed)
                }
            }
            candidates.append(Array(spelling.dropLast()))
            candidates.append(spelling + [0x20])
            for candidate in candidates {
                for caseInsensitive in [true, false] {
                    let got = candidate.withUnsafeBytes { SMTPVerb.matching($0, caseInsensitive: caseInsensitive) }
                    #expect(got == reference(candidate, caseInsensitive), "\(candidate) caseInsensitive: \(caseInsensitive)")
                    checked += 1
                }
            }
        }
        #expect(checked > 1000)
        #expect(Array("mAiL".utf8).withUnsafeBytes { SMTPVerb.matching($0, caseInsensitive: true) } == .mail)
        #expect(Array("xforward".utf8).withUnsafeBytes { SMTPVerb.matching($0, caseInsensitive: true) } == .xforward)
        #expect(Array("XCLIENT".utf8).withUnsafeBytes { SMTPVerb.matching($0, caseInsensitive: false) } == .xclient)
        #expect(Array("STARTTLX".utf8).withUnsafeBytes { SMTPVerb.matching($0, caseInsensitive: true) } == nil)
    }

    @Test func aCommandKeepsItsVerbWithOrWithoutAString() {
        var known = SMTPCommand(verb: "MAIL", argument: "FROM:<a@b>", offset: 0, length: 18)
        let unknown = SMTPCommand(verb: "XYZZY", argument: "", offset: 0, length: 7)
        #expect(known.verb == "MAIL" && known.knownVerb == .mail)
        #expect(unknown.verb == "XYZZY" && unknown.knownVerb == nil)
        #expect(SMTPCommand(verb: "mail", argument: "", offset: 0, length: 6).knownVerb == nil)  // not upper case
        known.verb = "XYZZY"
        #expect(known.verb == "XYZZY" && known.knownVerb == nil)
        known.verb = "RCPT"
        #expect(known.verb == "RCPT" && known.knownVerb == .rcpt)
        // Equal commands are equal however their verb was given.
        var reset = SMTPCommand(verb: "XYZZY", argument: "x", offset: 3, length: 9)
        reset.verb = "RSET"
        #expect(reset == SMTPCommand(verb: "RSET", argument: "x", offset: 3, length: 9))
        #expect(reset.hashValue == SMTPCommand(verb: "RSET", argument: "x", offset: 3, length: 9).hashValue)
    }

    @Test func linesWrittenInOneGoEqualLinesAppendedOneByOne() {
        var rng = SplitMix64(seed: 11)
        for round in 0..<200 {
            let bytes = (0..<(Int(rng.next() % 300))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var ranges: [(Int, Int)] = []
            for _ in 0...(Int(rng.next() % 6)) {
                let a = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count + 1))
                let b = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count + 1))
                ranges.append((min(a, b), max(a, b)))
            }
            // Small stores: the lines often need a new one.
            var bulk = TextArena(initialCapacity: 16 + round % 64)
            var single = TextArena(initialCapacity: 16 + round % 64)
            // Something already in the stores, as in a session.
            _ = Array("250 earlier".utf8).withUnsafeBytes { bulk.text($0) }
            _ = Array("250 earlier".utf8).withUnsafeBytes { single.text($0) }
            let written = bytes.withUnsafeBytes { raw in
                ranges.withUnsafeBufferPointer { bulk.lines($0, in: raw) }
            }
            var appended: ReplyLines?
            bytes.withUnsafeBytes { raw in
                for range in ranges { appended = single.appending(line: UnsafeRawBufferPointer(rebasing: raw[range.0..<range.1]), to: appended) }
            }
            let expected = ranges.map { String(decoding: bytes[$0.0..<$0.1], as: UTF8.self) }
            #expect(written.count == ranges.count)
            #expect(written.strings == expected)
            #expect(appended?.strings == expected)
        }
    }

    @Test func headerLineFeedsAreFoundAsByteByByte() {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<300 {
            let count = Int(rng.next() % 90)
            let bytes = (0..<count).map { _ in rng.next() % 9 == 0 ? UInt8(0x0A) : UInt8(0x20 + rng.next() % 90) }
            bytes.withUnsafeBytes { raw in
                for start in 0...count {
                    let expected = bytes[start...].firstIndex(of: 0x0A) ?? count
                    #expect(HeaderCollector.lineFeed(in: raw, from: start) == expected)
                }
            }
        }
    }
    // MARK: commands and header names

    @Test func commandLinesInPlaceReadAsTheFramerHandsThemOut() {
        var d = Dialog()
        d.options.maxLineLength = 48
        d.server("220 mx\r\n")
        // Pipelined, a bare line feed, a bare carriage return, a line past the limit, a
        // line ending in `\r\r\n`, lower case, an unknown verb, AUTH and its response line.
        d.client("EHLO c\r\nmail FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\nRCPT TO:<c@ex\rample.net>\r\n")
        d.server("250 mx\r\n250 ok\r\n250 ok\r\n250 ok\r\n")
        d.client("NOOP " + String(repeating: "x", count: 60) + "\r\nXYZZY plugh\r\nNOOP\r\r\n")
        d.server("250 ok\r\n500 what\r\n250 ok\r\n")
        d.client("AUTH PLAIN\r\n")
        d.server("334 \r\n")
        d.client("dGVzdAB0ZXN0AHRlc3Q=\r\nRSET\r\n")
        d.server("235 ok\r\n250 ok\r\n")
        d.gap(.client, 5)
        d.client("ost line\r\nQUIT\r\n")
        d.server("221 bye\r\n")
        let (whole, bytewise, same) = Self.runs(d)
        #expect(same, "whole: \(whole)\nbyte by byte: \(bytewise)")
        let commands = whole.compactMap { if case .command(let c) = $0 { return c.verb } else { return nil } }
        // `NOOP\r\r\n`: only the `\r` before the `\n` ends the line; the other is part of the verb.
        #expect(commands == ["EHLO", "MAIL", "RCPT", "RCPT", "NOOP", "XYZZY", "NOOP\r", "AUTH", "RSET", "QUIT"])
        let kinds = Self.anomalies(whole)
        #expect(kinds.contains(.bareLF) && kinds.contains(.bareCR) && kinds.contains(.lineTooLong) && kinds.contains(.dataAfterGap))
    }

    /// The header fields against the rule written out: a line's name is the text before its
    /// first colon, spaces and tabs trimmed, matched in any ASCII case.
    @Test func headerNamesAreReadAsTheTextBeforeTheFirstColon() {
        let names = [
            "Message-ID", "message-id", "MESSAGE-ID ", "Message-Id\t", "Message_ID", "Message-IDs", "Message-I", "Message-\u{C9}D",
            "Subject", "SUBJECT  ", "Subjects", "Sub ject", "subjecT\t ", "Date", "dATE ", "Dates", "Dat", "From", "FROM\t", "Fro m",
            "To", "tO ", "Tox", "T", "X-To", "Mail", "\u{13}ate", "Da\rte", "Date\r", "To\r", "From\u{0}", "Resent-From",
        ]
        var rng = SplitMix64(seed: 3)
        for _ in 0..<300 {
            var lines: [(name: String, value: String)] = []
            for _ in 0..<(1 + Int(rng.next() % 8)) {
                lines.append((names[Int(rng.next() % UInt64(names.count))], "v\(rng.next() % 1000)"))
            }
            let block = lines.map { "\($0.name):\($0.value)\r\n" }.joined() + "\r\nbody\r\n"
            // The rule, on the names as written: the first line whose trimmed name is wanted.
            func expected(_ wanted: String) -> String? {
                lines.first { line in
                    var name = Substring(line.name)
                    while let last = name.last, last == " " || last == "\t" { name = name.dropLast() }
                    return name.utf8.count == wanted.utf8.count
                        && zip(name.utf8, wanted.utf8).allSatisfy { Parsing.lower($0) == $1 }
                }?.value
            }
            var scanner = MessageScanner(afterCRLF: true)
            let bytes = Array((block + ".\r\n").utf8)
            _ = bytes.withUnsafeBytes { scanner.scan($0, from: 0, base: 0) }
            var arena = TextArena(initialCapacity: 64)
            let fields = scanner.headerFields(maxValueLength: 998, arena: &arena)
            #expect(fields.messageID?.string == expected("message-id"), "\(block)")
            #expect(fields.subject?.string == expected("subject"), "\(block)")
            #expect(fields.date?.string == expected("date"), "\(block)")
            #expect(fields.from?.string == expected("from"), "\(block)")
            #expect(fields.to?.string == expected("to"), "\(block)")
        }
    }
}
