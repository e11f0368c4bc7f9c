@testable import Analysis
import SMTP
import Testing
import Wire

/// The shortcuts of the flow-close path against their general paths: times written by one
/// writer in a row (whole seconds reused) against ``TimeText``, Community IDs against values
/// Python's hashlib and base64 gave, records noted in place against ``MessageTable/note(_:)``,
/// and the arena's recently unpacked pages against reads that unpack every time.
@Suite struct ClosePathTests {
    /// Times in the same second, the next, durations between them, negatives and extremes,
    /// all written by one writer into one record, as a flow line writes them.
    @Test func secondsInARowMatchTimeText() {
        var random = MessageTableTests.SplitMix(state: 41)
        var values: [Int64] = []
        let base: Int64 = 1_700_000_000_000_000_000
        for _ in 0..<400 {
            switch Int.random(in: 0..<6, using: &random) {
            case 0: values.append(base + Int64.random(in: 0..<3_000_000_000, using: &random))
            case 1: values.append(Int64.random(in: 0..<2_000_000, using: &random))
            case 2: values.append(-base - Int64.random(in: 0..<2_000_000_000, using: &random))
            case 3: values.append(Int64.random(in: 9_000_000_000...11_000_000_000, using: &random))
            case 4: values.append([Int64.min, .max, 0, -1, 999_999_500, 9_999_999_499, 9_999_999_500][Int.random(in: 0..<7, using: &random)])
            default: values.append(Int64.random(in: .min ... .max, using: &random))
            }
        }
        var json = JSONByteWriter()
        json.beginArray()
        for value in values { json.seconds(value) }
        json.endArray()
        let expected = "[" + values.map(TimeText.seconds).joined(separator: ",") + "]"
        #expect(String(decoding: json.bytes, as: UTF8.self) == expected)
    }

    /// A view's outcome and diagnosis are packed by ``Outcome/countSlot`` and read back
    /// through `allCases`: the two orders must agree.
    @Test func countSlotsAreCasePositions() {
        for (index, outcome) in Outcome.allCases.enumerated() { #expect(outcome.countSlot == index) }
        for (index, diagnosis) in Diagnosis.allCases.enumerated() { #expect(diagnosis.countSlot == index) }
    }

    /// corelight/community-id-spec's TCP example, and tuples of documentation addresses
    /// both ways round (hashlib.sha1 + base64.b64encode over the spec's input layout).
    @Test(arguments: [
        ("128.232.110.120", 34855, "66.35.250.204", 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
        ("192.0.2.10", 25, "198.51.100.7", 49152, "1:JlUkhaZkZU8q+bKVgA2mMJ7Ddf8="),
        ("198.51.100.7", 49152, "192.0.2.10", 25, "1:JlUkhaZkZU8q+bKVgA2mMJ7Ddf8="),
        ("2001:db8::1", 25, "2001:db8::2", 40000, "1:0ViwYC7lRNJHG8I0d0MxQipsgIk="),
        ("2001:db8:ffff::9", 587, "2001:db8::1", 25, "1:uFfNxfUcXgwhK+XAYK/HvcEokNg="),
        ("203.0.113.5", 1, "203.0.113.5", 2, "1:xNwFKf0BiMqvl9Cl7Bclh0r9IHQ="),
    ])
    func communityID(client: String, clientPort: Int, server: String, serverPort: Int, expected: String) throws {
        let a = Endpoint(address: try #require(Self.address(client)), port: UInt16(clientPort))
        let b = Endpoint(address: try #require(Self.address(server)), port: UInt16(serverPort))
        #expect(CommunityID.v1(a, b) == expected)
        var arena = TextArena(initialCapacity: 64, maxCapacity: 1024)
        #expect(CommunityID.v1(a, b, into: &arena).string == expected)
    }

    /// Dotted quads and full or `::`-shortened IPv6 text (enough for the cases above).
    static func address(_ text: String) -> IPAddress? {
        if !text.contains(":") {
            let parts = text.split(separator: ".").compactMap { UInt32($0) }
            guard parts.count == 4 else { return nil }
            return .v4(parts.reduce(0) { $0 << 8 | $1 })
        }
        let halves = text.components(separatedBy: "::")
        let head = halves[0].split(separator: ":").compactMap { UInt16($0, radix: 16) }
        let tail = halves.count > 1 ? halves[1].split(separator: ":").compactMap { UInt16($0, radix: 16) } : []
        let groups = head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        guard groups.count == 8 else { return nil }
        let high = groups[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let low = groups[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return .v6(high: high, low: low)
    }

    /// Records noted in place, many times over (retries, some replaced by later verdicts,
    /// some without Message-ID), leave the table as noting each copy does.
    @Test func addingInPlaceMatchesNoting() {
        var random = MessageTableTests.SplitMix(state: 43)
        var records: [TransactionRecord] = []
        for n in 0..<3_000 {
            let message = Int.random(in: 0..<900, using: &random)
            let outcome: Outcome = Bool.random(using: &random) ? .accepted : .noReply
            records.append(TransactionRecord(
                capture: 0, flow: n / 3, client: EndpointRecord(ip: "192.0.2.1", port: 40000), server: EndpointRecord(ip: "198.51.100.1", port: 25),
                index: n % 3, mailFrom: "<s\(message % 50)@relay.example.net>", rcptTo: ["<r\(message % 7)@example.com>"],
                messageID: message % 10 == 0 ? nil : "<\(message).x@relay.example.net>", size: 100,
                fingerprint: Self.hex16(UInt64(message) &* 0x9E37_79B9_7F4A_7C15),
                startNanoseconds: Int64(n) * 1_000_000_000, outcome: outcome, diagnosis: outcome == .accepted ? .ok : .unanswered))
        }
        var inPlace = MessageTable(windowNanoseconds: 3_600_000_000_000, maxMessages: 100_000, maxTransactionsPerMessage: 8)
        var noted = inPlace
        for start in stride(from: 0, to: records.count, by: 3) { inPlace.add(contentsOf: Array(records[start..<min(start + 3, records.count)])) }
        for record in records { noted.note(record) }
        #expect(inPlace.count == noted.count)
        #expect(inPlace.messages() == noted.messages())
        #expect(inPlace.messages().count > 100)
    }

    static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Reads hopping among recent and old pages give each record back, and a page read
    /// again soon is not unpacked again.
    @Test func recentPagesStayUnpacked() {
        var arena = RecordArena()
        var random = MessageTableTests.SplitMix(state: 47)
        var written: [(offset: UInt32, body: [UInt8])] = []
        for n in 0..<2_000 {
            var body: [UInt8] = []
            let length = Int.random(in: 20...120, using: &random)
            while body.count < length { body += Array("<\(n % 37)@relay.example.net>".utf8) }
            written.append((arena.append(body).offset, body))
        }
        #expect(arena.sealedPages > 10)
        func read(_ i: Int) -> [UInt8] {
            arena.read(at: written[i].offset) { reader in Array(reader.take(reader.varint())) }
        }
        // Four records on four different sealed pages, read round and round: four unpackings.
        let pages = Set(written.indices.map { Int(written[$0].offset) >> RecordArena.positionBits })
        let picks = pages.sorted().prefix(4).compactMap { page in written.indices.first { Int(written[$0].offset) >> RecordArena.positionBits == page } }
        let before = arena.pagesUnpacked
        for _ in 0..<5 { for i in picks { #expect(read(i) == written[i].body) } }
        #expect(arena.pagesUnpacked - before == 4)
        // Any order: every record as written.
        for _ in 0..<3_000 {
            let i = Int.random(in: 0..<written.count, using: &random)
            #expect(read(i) == written[i].body)
        }
    }
}
