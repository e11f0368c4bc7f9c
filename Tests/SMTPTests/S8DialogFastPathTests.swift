import Testing

@testable import SMTP

/// This round's fast paths of the message reader against the general ones:
/// - `feed` takes a chunk's first plain run itself (`MessageScanner.scanPlainStart`) and calls
///   the scan only for the rest; the scan alone, from the chunk's first byte, is the general path;
/// - a plain run's bytes join the header block without a search for its end
///   (`HeaderCollector.addRun`); `add`, which searches, is the general path;
/// - the header parse stops once every wanted field is set and none is being gathered.
@Suite struct S8DialogFastPathTests {
    /// What a scanner has made of a message, for comparing two runs.
    struct Outcome: Equatable {
        /// Where the scan stopped (a near miss, the terminator), with the stream offsets reached.
        var stops: [ScanStop] = []
        var stopOffsets: [Int] = []
        var size: UInt64 = 0
        var fingerprint: UInt64 = 0
        var messageID: String?
        var subject: String?
        var date: String?
        var truncated = false
        var nearMissCount = 0
        var afterNearMiss: [UInt8] = []
    }

    /// `message` (DATA content and terminator) read in chunks cut at `cuts`, either as `feed`
    /// reads a chunk (`fast`) or by the scan alone; a chunk left after a stop is scanned on.
    static func read(_ message: [UInt8], cuts: [Int], fast: Bool, maxHeaderBytes: Int = 4096) -> Outcome {
        var options = SMTPOptions()
        options.maxHeaderBytes = maxHeaderBytes
        var scanner = MessageScanner(afterCRLF: true)
        scanner.limits = ScanLimits(options)
        var outcome = Outcome()
        let bounds = [0] + cuts.filter { $0 > 0 && $0 < message.count }.sorted() + [message.count]
        for (start, end) in zip(bounds, bounds.dropFirst()) where start < end {
            Array(message[start..<end]).withUnsafeBytes { chunk in
                var from = fast ? scanner.scanPlainStart(chunk) : 0
                if fast && from >= chunk.count { return }
                while true {
                    let (reached, stop) = scanner.scan(chunk, from: from, base: UInt64(start))
                    from = reached
                    if case .needMore = stop { break }
                    outcome.stops.append(stop)
                    outcome.stopOffsets.append(start + reached)
                    if reached >= chunk.count { break }
                }
            }
        }
        var arena = TextArena(initialCapacity: 64)
        let fields = scanner.headerFields(maxValueLength: 998, addressFields: true, arena: &arena)
        outcome.size = scanner.size
        outcome.fingerprint = scanner.fingerprintValue
        outcome.messageID = fields.messageID?.string
        outcome.subject = fields.subject?.string
        outcome.date = fields.date?.string
        outcome.truncated = scanner.headersTruncated
        outcome.nearMissCount = scanner.nearMissCount
        outcome.afterNearMiss = scanner.afterNearMiss
        return outcome
    }

    static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    static let header = "Received: from a.example.org\r\n\tby b.example.net; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
        + "From: <a@example.org>\r\nSubject: plain runs\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
        + "Message-ID: <run@example.org>\r\nMIME-Version: 1.0\r\n\r\n"
    static let body = "first line of the body\r\nsecond line\r\n\r\nafter an empty line\r\n..stuffed\r\nlast\r\n.\r\n"

    /// Every cut into two chunks, and chunks of 7 bytes: the same outcome as the scan alone,
    /// and the hand-known one (size: the content without the terminator, one stuffed dot removed).
    @Test func chunkStartsTakenByFeedMatchTheScan() {
        let message = Array((Self.header + Self.body).utf8)
        let content = Array((Self.header + "first line of the body\r\nsecond line\r\n\r\nafter an empty line\r\n.stuffed\r\nlast\r\n").utf8)
        var cutsList: [[Int]] = (1..<message.count).map { [$0] }
        cutsList.append(Array(stride(from: 7, to: message.count, by: 7)))
        cutsList.append([])
        for cuts in cutsList {
            let fast = Self.read(message, cuts: cuts, fast: true)
            let general = Self.read(message, cuts: cuts, fast: false)
            #expect(fast == general, "cuts \(cuts)")
            #expect(fast.size == UInt64(content.count), "cuts \(cuts)")
            #expect(xxh64Hex(content) == Self.hex16(fast.fingerprint), "cuts \(cuts)")
            #expect(fast.messageID == "<run@example.org>", "cuts \(cuts)")
            #expect(fast.subject == "plain runs", "cuts \(cuts)")
            #expect(fast.date == "Mon, 1 Jan 2024 00:00:00 +0000", "cuts \(cuts)")
            #expect(!fast.truncated)
            #expect(fast.stops.count == 1, "cuts \(cuts)")
        }
    }

    /// A header block over the cap: cut where a plain run outgrows it, as the scan alone cuts it.
    @Test func headerCapReachedInsideAPlainRun() {
        let message = Array((Self.header + Self.body).utf8)
        for cap in [0, 1, 20, 40, 75, 90, 140] {
            for cuts in [[], [33], [90], [30, 60, 91, 120]] {
                let fast = Self.read(message, cuts: cuts, fast: true, maxHeaderBytes: cap)
                let general = Self.read(message, cuts: cuts, fast: false, maxHeaderBytes: cap)
                #expect(fast == general, "cap \(cap) cuts \(cuts)")
                #expect(fast.truncated, "cap \(cap) cuts \(cuts)")
            }
        }
    }

    /// After a near miss the feed leaves everything to the scan (the text after it is kept):
    /// the same near misses and kept text either way.
    @Test func nearMissThenPlainChunks() {
        let message = Array("Subject: n\r\n\r\nbefore\n.\nMAIL FROM:<x@example.net>\r\nmore text here\r\n.\r\n".utf8)
        for cut in 1..<message.count {
            let fast = Self.read(message, cuts: [cut, cut + 9], fast: true)
            let general = Self.read(message, cuts: [cut, cut + 9], fast: false)
            #expect(fast == general, "cut \(cut)")
            #expect(fast.nearMissCount == 1, "cut \(cut)")
            // Kept: everything read after the near miss, the strict terminator included.
            #expect(fast.afterNearMiss == Array("MAIL FROM:<x@example.net>\r\nmore text here\r\n.\r\n".utf8), "cut \(cut)")
        }
    }

    // MARK: - Scanner started again

    /// The scanner is started at MAIL for a DATA line ended by CRLF, then at the 354 for the
    /// bare `\n` that ended this DATA line: a scanner still fresh is started again when the
    /// start differs. After a bare `\n`, `.\r\n` is a near miss (`lf.crlf`), no terminator: the
    /// dot is content and the message ends at the next `\r\n.\r\n`.
    @Test func scannerStartedAgainForABareLFDataLine() {
        var session = SMTPSession()
        var events: [SMTPEvent] = []
        var offsets: [SMTPSide: UInt64] = [.client: 0, .server: 0]
        func feed(_ side: SMTPSide, _ text: String) {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBytes { raw in session.feed(side, raw, at: offsets[side] ?? 0) { events.append($0) } }
            offsets[side, default: 0] += UInt64(bytes.count)
        }
        feed(.server, "220 mx.example.net ESMTP\r\n")
        feed(.client, "MAIL FROM:<a@b>\r\n")  // 0…16
        feed(.server, "250 ok\r\n")
        feed(.client, "RCPT TO:<c@d>\r\n")  // 17…31
        feed(.server, "250 ok\r\n")
        feed(.client, "DATA\n")  // 32…36
        feed(.server, "354 go\r\n")
        feed(.client, ".\r\nx\r\n.\r\n")  // 37…45
        feed(.server, "250 queued\r\n")
        let nearMisses = events.compactMap { e -> TerminatorInfo? in
            if case .nearMissTerminator(0, let info) = e { return info }
            return nil
        }
        #expect(nearMisses == [TerminatorInfo(style: .lfCrlf, offset: 36, length: 4)])
        let ends = events.compactMap { e -> (MessageSummary, TerminatorInfo?)? in
            if case .endOfData(let summary, let terminator) = e { return (summary, terminator) }
            return nil
        }
        #expect(ends.count == 1)
        #expect(ends.first?.0.size == 6)  // `.`, `\r\n`, `x`, `\r\n`
        #expect(ends.first?.1 == TerminatorInfo(style: .crlf, offset: 41, length: 5))
    }

    // MARK: - addRun against add

    /// `addRun` and `add` over the same chunks: the same block and the same end. After a chunk
    /// that ended a line, the next run's first `\r\n` may end the block: `addRun` must see it.
    @Test(arguments: [
        ["Subject: a\r\n", "\r\nbody"],
        ["Subject: a\r", "\n\r\nbody"],
        ["Subject: a\r\nMessage-ID: <b@c>\r\n", "\r\n", "x"],
        ["Subject: a\n", "\nbody"],
    ])
    func runAfterALineEndFindsTheBlockEnd(chunks: [String]) {
        var general = HeaderCollector()
        var fast = HeaderCollector()
        for chunk in chunks {
            let bytes = Array(chunk.utf8)
            bytes.withUnsafeBytes { raw in
                if general.collecting { general.add(raw, 0..<raw.count, cap: 4096) }
                if fast.collecting { fast.addRun(raw, 0..<raw.count, cap: 4096) }
            }
        }
        #expect(!general.collecting, "the block ended: \(chunks)")
        #expect(fast.collecting == general.collecting, "\(chunks)")
        var arenaA = TextArena(initialCapacity: 64)
        var arenaB = TextArena(initialCapacity: 64)
        let a = general.parse(maxValueLength: 998, arena: &arenaA)
        let b = fast.parse(maxValueLength: 998, arena: &arenaB)
        #expect(a.subject?.string == "a")
        #expect(b.subject?.string == a.subject?.string)
        #expect(b.messageID?.string == a.messageID?.string)
        #expect(b.to?.string == a.to?.string)
    }

    // MARK: - Parse stops early

    static func parse(_ block: String, addressFields: Bool) -> HeaderFields {
        var collector = HeaderCollector()
        Array(block.utf8).withUnsafeBytes { collector.add($0, 0..<$0.count, cap: 4096) }
        var arena = TextArena(initialCapacity: 64)
        return collector.parse(maxValueLength: 998, addressFields: addressFields, arena: &arena)
    }

    /// The last wanted field folded over more lines: its continuations are still joined after
    /// every wanted field is set; a later field of a wanted name changes nothing.
    @Test func lastWantedFieldKeepsItsContinuations() {
        let block = "Subject: s\r\nMessage-ID: <one\r\n @example.org>\r\n\t(x)\r\nSubject: later\r\nMessage-ID: <two@x>\r\n\r\n"
        let quiet = Self.parse(block, addressFields: false)
        #expect(quiet.messageID?.string == "<one @example.org>\t(x)")
        #expect(quiet.subject?.string == "s")
        // One wanted field set, an unwanted line, then the other: read on until both are set.
        let apart = Self.parse("Subject: s\r\nX-Other: y\r\nReceived: z\r\nMessage-ID: <m@x>\r\n\r\n", addressFields: false)
        #expect(apart.subject?.string == "s")
        #expect(apart.messageID?.string == "<m@x>")
        let full = Self.parse(
            "Date: d\r\nFrom: <f@x>\r\nTo: <t@x>\r\nSubject: s\r\nMessage-ID: <m@x>\r\n more\r\nTo: <u@x>\r\nDate: e\r\n\r\n",
            addressFields: true)
        #expect(full.messageID?.string == "<m@x> more")
        #expect(full.to?.string == "<t@x>")
        #expect(full.date?.string == "d")
        #expect(full.from?.string == "<f@x>")
    }
}
