@testable import Analysis
import Testing

/// The message table's tighter coding (session 7): digit runs and `@…` suffixes of envelope
/// text (``DigitRuns``, ``SuffixTable``), views against the table's epoch, and recency kept
/// as the arena's record order, each against independent answers: the bytes that went in,
/// hand-computed codings, and the plain model of the limits in ``MessageTableTests``.
@Suite struct S7CloseTableCodingTests {
    static func coded(_ text: [UInt8], _ suffixes: inout SuffixTable) -> [UInt8] {
        var bytes: [UInt8] = []
        text.withUnsafeBufferPointer { DigitRuns.appendText($0, suffixes: &suffixes, to: &bytes) }
        return bytes
    }

    /// Length prefix checked against the bytes that follow it, then the text decoded.
    static func decoded(_ coded: [UInt8], _ suffixes: SuffixTable) -> [UInt8]? {
        coded.withUnsafeBufferPointer { buffer -> [UInt8]? in
            var reader = ByteReader(buffer, at: 0)
            let length = reader.varint()
            guard UInt64(buffer.count - reader.at) == length else { return nil }
            var text: [UInt8] = []
            DigitRuns.decode(UnsafeBufferPointer(rebasing: buffer[reader.at...]), suffixes: suffixes, into: &text)
            return text
        }
    }

    static let adversarial: [[UInt8]] = {
        var texts: [[UInt8]] = [
            [], Array("0".utf8), Array("007".utf8), Array("0000".utf8), Array("1234".utf8), Array("9999999999999".utf8),
            Array("12345678901234".utf8), Array("00000000000000000000".utf8), Array("18446744073709551615".utf8),
            Array("99999999999999999999999".utf8), Array("a1b22c333d4444e55555".utf8), Array("@".utf8), Array("@@@@".utf8),
            Array("x@exa".utf8), Array("<1.200.418290383@relay165.example.net>".utf8), Array("judy1222@example.com".utf8),
            [0xC0], [0xC1, 0xC0, 0xF5], [0xF5, 0xF6, 0xFF, 0x00], Array(0...255), Array("caf\u{E9}@例え.jp".utf8),
            [UInt8](repeating: 0x37, count: 1000), [UInt8](repeating: 0, count: 1000),
            Array(("a@" + String(repeating: "d", count: 62)).utf8), Array(("a@" + String(repeating: "d", count: 64)).utf8),
        ]
        var random = MessageTableTests.SplitMix(state: 77)
        for n in 0..<300 {
            let alphabet: [UInt8] = n % 3 == 0 ? Array("0123456789".utf8) : n % 3 == 1 ? Array("09@.a>\u{7F}".utf8) + [0xC0, 0xF5, 0xFF] : []
            let count = Int(random.next() % 1000)
            texts.append((0..<count).map { _ in
                alphabet.isEmpty ? UInt8(truncatingIfNeeded: random.next()) : alphabet[Int(random.next() % UInt64(alphabet.count))]
            })
        }
        return texts
    }()

    /// Every text comes back byte for byte, with and without suffix numbers, and two texts
    /// have the same coding only when they are the same text.
    @Test func textRoundTrips() {
        var table = SuffixTable()
        var none = SuffixTable(adding: false)
        var codings: [[UInt8]: [UInt8]] = [:]
        for text in Self.adversarial {
            for useTable in [false, true] {
                let coding = useTable ? Self.coded(text, &table) : Self.coded(text, &none)
                #expect(Self.decoded(coding, useTable ? table : none) == text)
                if useTable {
                    if let other = codings[coding] { #expect(other == text) }
                    codings[coding] = text
                    // Coded again: the same bytes (a suffix keeps its number).
                    #expect(Self.coded(text, &table) == coding)
                }
            }
        }
    }

    /// Codings worked out by hand from the format's description.
    @Test func handComputedCodings() {
        var none = SuffixTable(adding: false)
        // "418290383" is 0x18EE9ACF: code 0xF6 + 9 - 4, four bytes lowest first. "200" stays text.
        let id = Array("<1.200.418290383@relay165.example.net>".utf8)
        let tail = Array("@relay165.example.net>".utf8)
        #expect(Self.coded(id, &none) == [UInt8(7 + 5 + tail.count)] + Array("<1.200.".utf8) + [0xFB, 0xCF, 0x9A, 0xEE, 0x18] + tail)
        // With a table: the suffix from the last "@" is number 0, then "@example.com" number 1.
        var table = SuffixTable()
        #expect(Self.coded(id, &table) == [UInt8(7 + 5 + 2)] + Array("<1.200.".utf8) + [0xFB, 0xCF, 0x9A, 0xEE, 0x18, 0xC0, 0x00])
        // 1222 = 0x04C6 in 2 bytes after code 0xF6.
        #expect(Self.coded(Array("judy1222@example.com".utf8), &table) == [9] + Array("judy".utf8) + [0xF6, 0xC6, 0x04, 0xC0, 0x01])
        // Leading zeros kept by the length: "0042" is code 0xF6 and 42.
        #expect(Self.coded(Array("0042".utf8), &none) == [3, 0xF6, 42, 0])
        // Bytes that are codes are escaped.
        #expect(Self.coded([0xC0, 0x41, 0xFF], &none) == [5, 0xF5, 0xC0, 0x41, 0xF5, 0xFF])
        // Too short ("@ab") or too long a suffix stays inline.
        #expect(Self.coded(Array("x@ab".utf8), &table) == [4] + Array("x@ab".utf8))
        #expect(table.count == 2)
    }

    /// Past ``SuffixTable/maxSuffixes`` texts keep their suffixes inline, and those already
    /// numbered keep their numbers: codings never change.
    @Test func fullSuffixTableKeepsCodingsStable() {
        var table = SuffixTable()
        var first: [[UInt8]] = []
        for n in 0..<(SuffixTable.maxSuffixes + 50) {
            let text = Array("m@host\(n).example".utf8)
            let coding = Self.coded(text, &table)
            if n < 10 { first.append(coding) }
            #expect(Self.decoded(coding, table) == text)
            if n >= SuffixTable.maxSuffixes { #expect(!coding.contains(DigitRuns.suffixCode)) }
        }
        #expect(table.count == SuffixTable.maxSuffixes)
        for n in 0..<10 { #expect(Self.coded(Array("m@host\(n).example".utf8), &table) == first[n]) }
    }

    /// Malformed codings (cut short, unknown suffix numbers, any bytes) decode without trapping.
    @Test func malformedTextNeverTraps() {
        var random = MessageTableTests.SplitMix(state: 5)
        var table = SuffixTable()
        _ = Self.coded(Array("a@example.org".utf8), &table)
        for _ in 0..<2_000 {
            let count = Int(random.next() % 40)
            let bytes = (0..<count).map { _ in [0xC0, 0xF5, 0xF6, 0xFF, 0xFB, 0x80, 0x31][Int(random.next() % 7)] as UInt8 }
            var text: [UInt8] = []
            bytes.withUnsafeBufferPointer { DigitRuns.decode($0, suffixes: table, into: &text) }
            #expect(text.count <= 13 * bytes.count + 16)
        }
    }

    /// Views of any numbers come back, whatever the epoch (distances wrap).
    @Test func viewsRoundTripAgainstAnyEpoch() {
        let numbers = [Int.min, -1, 0, 1, 63, 64, 1 << 31, Int.max]
        let starts: [Int64] = [.min, .min + 999, -1_000, -1, 0, 1, 1_000, 1_704_067_200_088_527_000, .max - 1, .max]
        var views: [AttemptView] = []
        for (n, start) in starts.enumerated() {
            for (m, number) in numbers.enumerated() {
                views.append(AttemptView(capture: m % 3 == 0 ? 0 : number, flow: numbers[(n + m) % numbers.count],
                                         transaction: m % 2 == 0 ? 0 : numbers[(m + 3) % numbers.count], startNanoseconds: start,
                                         outcome: Outcome.allCases[(n + m) % Outcome.allCases.count],
                                         diagnosis: Diagnosis.allCases[(2 * n + m) % Diagnosis.allCases.count]))
            }
        }
        #expect(Outcome.allCases.count <= 8 && Diagnosis.allCases.count <= 8)
        for epoch in starts {
            var bytes: [UInt8] = []
            for view in views { EntryCoding.appendView(view, epoch: epoch, to: &bytes) }
            let back = bytes.withUnsafeBufferPointer { buffer -> [AttemptView] in
                var reader = ByteReader(buffer, at: 0)
                let read = views.map { _ in EntryCoding.readView(&reader, epoch: epoch) }
                #expect(!reader.failed && reader.at == buffer.count)
                return read
            }
            #expect(back == views)
        }
        // The usual view: code byte, flow 2 bytes, 33 ms after the epoch in whole microseconds (3 bytes).
        var usual: [UInt8] = []
        let view = AttemptView(capture: 0, flow: 1_000, transaction: 0, startNanoseconds: 1_704_067_200_033_000_000, outcome: .accepted,
                               diagnosis: .ok)
        EntryCoding.appendView(view, epoch: 1_704_067_200_000_000_000, to: &usual)
        #expect(usual == [0xC0, 0xD0, 0x0F, 0xD0, 0x83, 0x04])
    }

    /// Recency as the arena's order, with every identity's hash forced equal (each lookup
    /// compares envelopes) and with real hashes over many pages: the same answers, counts
    /// and evictions as the plain model, at every step.
    @Test(arguments: [(UInt64(11), 3, 2), (12, 17, 64)])
    func collidingHashesMatchTheModel(_ seed: UInt64, _ maxMessages: Int, _ maxViews: Int) {
        MessageTableTests.checkAgainstModel(seed: seed, maxMessages: maxMessages, maxViews: maxViews, hashing: { _ in 0x5EED })
    }

    @Test func evictionScansAcrossPackedPages() {
        var random = MessageTableTests.SplitMix(state: 99)
        var table = MessageTable(windowNanoseconds: MessageTableTests.window, maxMessages: 700, maxTransactionsPerMessage: 4)
        var model = MessageTableTests.LimitModel(maxMessages: 700, maxViews: 4)
        var disagreements = 0
        var noted: [TransactionRecord] = []
        for step in 0..<12_000 {
            let record: TransactionRecord
            if !noted.isEmpty && random.next() % 6 == 0 {
                record = noted[noted.count - 1 - Int(random.next() % UInt64(min(noted.count, 900)))]  // again, unchanged
            } else {
                let n = Int(random.next() % 2_500)
                record = MessageTableTests.record(flow: step, start: MessageTableTests.t0 + Int64(step) * 7_000_123,
                                                  id: "<\(n).\(400_000_000 + n)@relay\(n % 300).example.net>",
                                                  fingerprint: String(UInt64(n) &* 0x9E37_79B9_7F4A_7C15 | 1 << 63, radix: 16),
                                                  from: "news\(n % 50)@relay\(n % 300).example.net", to: ["u\(n)@example.com"],
                                                  outcome: step % 3 == 0 ? .noReply : .accepted)
                noted.append(record)
            }
            if table.note(record) != model.note(record) { disagreements += 1 }
        }
        #expect(disagreements == 0)
        #expect(table.count == model.order.count && table.evictedMessages == model.evicted && table.evictedMessages > 1_000)
        #expect(table.droppedTransactions == model.dropped && table.forgotten == model.forgotten)
        #expect(table.messages() == Correlator.messages(from: model.order.flatMap { model.groups[$0] ?? [] },
                                                         windowNanoseconds: MessageTableTests.window))
    }
    /// The index with 2-byte buckets, then 4-byte ones once slot numbers pass 65,534:
    /// every slot is found under its hash (many sharing hashes), and removals (shifting
    /// runs back) lose none of the others, before and after widening.
    @Test func indexWidensAndFindsEverySlot() {
        var slots = SlotPages()
        var index = SlotIndex()
        func hash(_ n: Int) -> UInt32 { UInt32(truncatingIfNeeded: (n % 5_000) &* 2_654_435_761) }
        func found(_ n: Int) -> Bool { index.first(hash: hash(n), slots: slots) { $0 == n } == n }
        let total = 70_000
        for n in 0..<total {
            slots.append(MessageTable.Slot(hash: hash(n), offset: UInt32(n)))
            index.insert(n, hash: hash(n), slots: slots)
            if n == 65_533 { #expect(!index.isWide) }
            if n == 20_000 {
                for m in stride(from: 0, to: 20_000, by: 7) { index.remove(m, hash: hash(m), slots: slots) }
                #expect((0..<20_000).allSatisfy { found($0) == ($0 % 7 != 0) })
            }
        }
        #expect(index.isWide)
        #expect(index.count == total - (0..<20_000).filter { $0 % 7 == 0 }.count)
        for m in stride(from: 1, to: total, by: 3) where m % 7 != 0 || m > 20_000 { index.remove(m, hash: hash(m), slots: slots) }
        #expect((0..<total).allSatisfy { found($0) == ($0 % 3 != 1 && ($0 % 7 != 0 || $0 > 20_000)) })
        #expect(index.capacityBytes >= index.count * 4)
    }
    /// The usual envelope, byte by byte as the format describes it: flags 0x7F (all fields,
    /// packed fingerprint, MAIL FROM sharing the Message-ID's whole `@…` part, one RCPT TO),
    /// then the texts with their digit runs coded, and no counts for the shared part or the
    /// recipients. And it reads back to the record's fields.
    @Test func usualEnvelopeHandComputed() throws {
        let record = MessageTableTests.record(flow: 9, start: MessageTableTests.t0, id: "<1.200.418290383@relay165.example.net>",
                                              fingerprint: "ddcb87236df58871", from: "newsletter317@relay165.example.net",
                                              to: ["judy1222@example.com"])
        var bytes: [UInt8] = []
        EntryCoding.appendEnvelope(of: record, to: &bytes)
        let expected: [UInt8] = [0x7F, 34] + Array("<1.200.".utf8) + [0xFB, 0xCF, 0x9A, 0xEE, 0x18] + Array("@relay165.example.net>".utf8)
            + [0xDD, 0xCB, 0x87, 0x23, 0x6D, 0xF5, 0x88, 0x71] + [13] + Array("newsletter317".utf8)
            + [19] + Array("judy".utf8) + [0xF6, 0xC6, 0x04] + Array("@example.com".utf8)
        #expect(bytes == expected)
        let envelope = try #require(bytes.withUnsafeBufferPointer { buffer -> EntryCoding.Envelope? in
            var reader = ByteReader(buffer, at: 0)
            return EntryCoding.readEnvelope(&reader, decode: true)
        })
        #expect(envelope.messageID == record.messageID && envelope.fingerprint == record.fingerprint)
        #expect(envelope.mailFrom == record.mailFrom && envelope.rcptTo == record.rcptTo)
    }

    /// MAIL FROM sharing part of the domain, all of it, all of it and more, or a Message-ID
    /// without `@`; none, one or two recipients: every shape comes back through the table.
    @Test func sharedEndsAndRecipientCountsRoundTrip() {
        let shapes: [(id: String, from: String, to: [String])] = [
            ("<a@relay.example.net>", "b@relay.example.net", []), ("<a@relay.example.net>", "b@xrelay.example.net", ["x@y.z"]),
            ("<a@relay.example.net>", "xa@relay.example.net", ["x@y.z", "w@y.z"]), ("<a@relay.example.net>", "example.net", ["q"]),
            ("<no-at-sign.example.net>", "b@no-at-sign.example.net", []), ("<a@b@c.net>", "@b@c.net", ["@c.net"]),
            ("<a@c.net>>", "z@c.net>", ["1@c.net"]), ("@", "@", ["@"]), ("a@bc", "a@bc", ["a@bc"]),
        ]
        var records: [TransactionRecord] = []
        for (n, shape) in shapes.enumerated() {
            for attempt in 0..<2 {
                records.append(MessageTableTests.record(flow: 2 * n + attempt, start: MessageTableTests.t0 + Int64(2 * n + attempt) * 1_000_000_000,
                                                        id: shape.id, fingerprint: "0123456789abcdef", from: shape.from, to: shape.to,
                                                        outcome: attempt == 0 ? .noReply : .accepted))
            }
        }
        var table = MessageTable(windowNanoseconds: MessageTableTests.window, maxMessages: 100, maxTransactionsPerMessage: 64)
        for record in records { table.note(record) }
        #expect(table.messages() == Correlator.messages(from: records, windowNanoseconds: MessageTableTests.window))
        #expect(table.messages().count == Set(shapes.map(\.id)).count)
    }
    /// Envelopes written through the stack room (ASCII records) equal those of the general
    /// path, long texts included (length prefixes of 2 and 3 bytes), and read back.
    @Test func longEnvelopesMatchTheGeneralPath() throws {
        for length in [0, 1, 126, 127, 128, 129, 1000, 20_000] {
            let text = String(repeating: "ab1234567x", count: length / 10 + 1).prefix(length)
            let record = MessageTableTests.record(flow: length, start: MessageTableTests.t0, id: "<\(text)@example.org>",
                                                  fingerprint: "0123456789abcdef", from: "\(text)@example.net",
                                                  to: ["\(text)@a.example", "b@\(text)", ""])
            var suffixes = SuffixTable(), other = SuffixTable()
            var fast: [UInt8] = [], general: [UInt8] = []
            withUnsafePointer(to: record) { EntryCoding.appendEnvelope(of: $0, suffixes: &suffixes, to: &fast) }
            EntryCoding.appendEnvelopeInGeneral(of: record, suffixes: &other, to: &general)
            #expect(fast == general)
            let envelope = try #require(fast.withUnsafeBufferPointer { buffer -> EntryCoding.Envelope? in
                var reader = ByteReader(buffer, at: 0)
                let read = EntryCoding.readEnvelope(&reader, decode: true, suffixes: suffixes)
                #expect(reader.at == buffer.count && !reader.failed)
                return read
            })
            #expect(envelope.messageID == record.messageID && envelope.mailFrom == record.mailFrom && envelope.rcptTo == record.rcptTo)
        }
    }
}
