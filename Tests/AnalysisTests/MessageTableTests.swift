@testable import Analysis
import Testing

/// The packed table against independent answers: ``Correlator`` over the same records, and
/// a plain model of the limits (a recency list of record arrays).
@Suite struct MessageTableTests {
    static let window: Int64 = 5_000_000_000
    static let t0: Int64 = 1_700_000_000_000_000_000

    /// Reproducible shuffles.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func record(capture: Int = 0, flow: Int, index: Int = 0, start: Int64, id: String?, fingerprint: String? = nil,
                       from: String? = "sender@example.org", to: [String] = ["rcpt@example.net"], outcome: Outcome = .accepted,
                       diagnosis: Diagnosis = .ok) -> TransactionRecord {
        TransactionRecord(capture: capture, flow: flow, client: EndpointRecord(ip: "192.0.2.10", port: 40000),
                          server: EndpointRecord(ip: "198.51.100.25", port: 25), index: index, mailFrom: from, rcptTo: to,
                          messageID: id, fingerprint: fingerprint, startNanoseconds: start, outcome: outcome, diagnosis: diagnosis)
    }

    /// 3,000 messages seen once and 40 seen 2 to 6 times (some from two captures within the
    /// window), half by Message-ID and half by fingerprint and envelope, noted in scrambled order.
    static func traffic(seed: UInt64) -> (records: [TransactionRecord], identities: Int, shuffled: [TransactionRecord]) {
        var random = SplitMix(state: seed)
        var records: [TransactionRecord] = []
        var flow = 0
        func add(_ n: Int, times: Int) {
            let byID = n % 2 == 0
            let fingerprint = String(UInt64(n) &* 0x1000_0000_0001 | 1 << 60, radix: 16)
            for attempt in 0..<times {
                let start = t0 + Int64(n) * 1_000_000_000 + Int64(attempt) * 97_000_000_000 + Int64(flow)
                let outcome: Outcome = attempt == times - 1 ? .accepted : .noReply
                let diagnosis: Diagnosis = outcome == .accepted ? .ok : .splitTerminatorStall
                // Recipients listed in another order on retries: the identity sorts them.
                let to = attempt % 2 == 0 ? ["a\(n)@example.net", "b@example.net"] : ["b@example.net", "a\(n)@example.net"]
                records.append(record(flow: flow, start: start, id: byID ? "<m\(n)@example.org>" : nil, fingerprint: fingerprint,
                                      to: to, outcome: outcome, diagnosis: diagnosis))
                flow += 1
                if attempt % 3 == 1 {
                    // The same attempt seen inside the firewall 2 ms later.
                    records.append(record(capture: 1, flow: flow, start: start + 2_000_000, id: byID ? "<m\(n)@example.org>" : nil,
                                          fingerprint: fingerprint, to: to, outcome: .noReply, diagnosis: .terminatorNotReceived))
                    flow += 1
                }
            }
        }
        for n in 0..<3_000 { add(n, times: 1) }
        for n in 3_000..<3_040 { add(n, times: 2 + n % 5) }
        return (records, 3_040, records.shuffled(using: &random))
    }

    @Test func scrambledSingletonsAndRetriesGiveCorrelatorsMessages() {
        let (records, identities, shuffled) = Self.traffic(seed: 1)
        var table = MessageTable(windowNanoseconds: Self.window, maxMessages: 10_000, maxTransactionsPerMessage: 64)
        for record in shuffled { table.note(record) }
        let expected = Correlator.messages(from: records, windowNanoseconds: Self.window)
        #expect(expected.count == 40)
        #expect(table.messages() == expected)
        #expect(table.count == identities)
        #expect(table.evictedMessages == 0 && table.droppedTransactions == 0)
        // The lead envelope comes back as it was: recipients in the first attempt's order.
        #expect(table.messages().allSatisfy { $0.rcptTo.first?.hasPrefix("a") == true })
        #expect(table.message(identity: "id:<m3000@example.org>") == expected.first { $0.messageID == "<m3000@example.org>" })
        #expect(table.message(identity: "id:<m0@example.org>") == nil)
        #expect(table.message(identity: "id:<nowhere@example.org>") == nil)
    }

    /// Every identity hashing alike (or into two groups): slower, never wrong.
    @Test(arguments: [0, 1])
    func collidingHashesStayApart(_ weak: Int) {
        let (records, identities, shuffled) = Self.traffic(seed: 2)
        let hashing: @Sendable (String) -> UInt64 = { identity in weak == 0 ? 7 : UInt64(identity.utf8.count % 2) }
        var table = MessageTable(windowNanoseconds: Self.window, maxMessages: 10_000, maxTransactionsPerMessage: 64, hashing: hashing)
        let kept = shuffled.filter { $0.flow < 400 || $0.flow >= 3_000 }
        for record in kept { table.note(record) }
        let distinct = Set(kept.compactMap { Correlator.identity(of: $0) }).count
        #expect(table.count == distinct)
        #expect(table.messages() == Correlator.messages(from: records.filter { $0.flow < 400 || $0.flow >= 3_000 },
                                                        windowNanoseconds: Self.window))
        #expect(identities > distinct)
        // And the limits: the reference model below with colliding hashes.
        Self.checkAgainstModel(seed: 5, maxMessages: 5, maxViews: 3, hashing: hashing)
    }

    @Test(arguments: [(UInt64(3), 1, 2), (4, 7, 3), (5, 40, 64)])
    func limitsMatchAPlainModel(_ seed: UInt64, _ maxMessages: Int, _ maxViews: Int) {
        Self.checkAgainstModel(seed: seed, maxMessages: maxMessages, maxViews: maxViews, hashing: { MessageTable.hash($0) })
    }

    /// 3,000 random records over 60 identities (ids and fingerprints; verdicts replaced now and
    /// then), noted into the table and into the model; both must agree at every step.
    static func checkAgainstModel(seed: UInt64, maxMessages: Int, maxViews: Int, hashing: @escaping @Sendable (String) -> UInt64) {
        var random = SplitMix(state: seed)
        var table = MessageTable(windowNanoseconds: window, maxMessages: maxMessages, maxTransactionsPerMessage: maxViews,
                                 hashing: hashing)
        var model = LimitModel(maxMessages: maxMessages, maxViews: maxViews)
        var noted: [TransactionRecord] = []
        var disagreements = 0
        for step in 0..<3_000 {
            let record: TransactionRecord
            if !noted.isEmpty && random.next() % 5 == 0 {
                // A new verdict for a transaction noted before (sometimes the same one again).
                var again = noted[Int(random.next() % UInt64(noted.count))]
                if random.next() % 2 == 0 { again.outcome = .acceptedLate; again.diagnosis = .splitTerminatorStall }
                record = again
            } else {
                let n = Int(random.next() % 60)
                let capture = Int(random.next() % 2)
                let start = t0 + Int64(step) * 3_000_000_000 + Int64(random.next() % 1_000_000)
                record = Self.record(capture: capture, flow: step, start: start, id: n < 30 ? "<x\(n)@example.org>" : nil,
                                     fingerprint: "f\(n)", to: ["r\(n % 7)@example.net"],
                                     outcome: capture == 0 ? .noReply : .accepted,
                                     diagnosis: capture == 0 ? .splitTerminatorStall : .ok)
                noted.append(record)
            }
            if table.note(record) != model.note(record) { disagreements += 1 }
        }
        #expect(disagreements == 0)
        #expect(table.count == model.order.count)
        #expect(table.evictedMessages == model.evicted)
        #expect(table.droppedTransactions == model.dropped)
        #expect(table.forgotten == model.forgotten)
        #expect(table.messages() == Correlator.messages(from: model.order.flatMap { model.groups[$0] ?? [] }, windowNanoseconds: window))
        if maxMessages < 60 {
            #expect(table.evictedMessages > 100)
            #expect(table.compactions > 0)
        }
        if maxViews < 64 && maxMessages >= 7 { #expect(table.droppedTransactions > 0) }
    }

    /// The limits as the table's documentation states them, on whole records.
    struct LimitModel {
        let maxMessages: Int
        let maxViews: Int
        /// Identities, least recently noted first.
        var order: [String] = []
        var groups: [String: [TransactionRecord]] = [:]
        var evicted = 0
        var dropped = 0
        var forgotten = MessageTally()

        static func identity(_ r: TransactionRecord) -> String? {
            if let id = r.messageID, !id.isEmpty { return "id:" + id }
            guard let f = r.fingerprint, !f.isEmpty else { return nil }
            return "fp:\(f)|\(r.mailFrom ?? "")|\(r.rcptTo.sorted().joined(separator: ","))"
        }

        static func same(_ a: TransactionRecord, _ b: TransactionRecord) -> Bool {
            (a.capture, a.flow, a.index) == (b.capture, b.flow, b.index)
        }

        mutating func note(_ record: TransactionRecord) -> String? {
            guard let key = Self.identity(record) else { return nil }
            if let at = order.firstIndex(of: key) {
                order.remove(at: at)
            } else {
                if order.count >= maxMessages {
                    let old = order.removeFirst()
                    if let group = groups.removeValue(forKey: old), group.count >= 2 {
                        let message = Correlator.message(from: group, windowNanoseconds: MessageTableTests.window)
                        forgotten.messages += 1
                        if message.attempts.count >= 2 { forgotten.retried += 1 }
                        forgotten.acceptedLate += message.acceptedLate
                        forgotten.lostTerminators += message.attempts.filter(\.terminatorLost).count
                    }
                    evicted += 1
                }
            }
            order.append(key)
            var group = groups[key] ?? []
            if let at = group.firstIndex(where: { Self.same($0, record) }) {
                let held = group[at]
                if held.outcome == record.outcome && held.diagnosis == record.diagnosis && held.startNanoseconds == record.startNanoseconds
                    && held.messageID == record.messageID && held.fingerprint == record.fingerprint && held.mailFrom == record.mailFrom
                    && held.rcptTo == record.rcptTo { return nil }
                group.remove(at: at)
            }
            group.append(record)
            group.sort { ($0.startNanoseconds, $0.capture, $0.flow, $0.index) < ($1.startNanoseconds, $1.capture, $1.flow, $1.index) }
            while group.count > maxViews {
                group.removeFirst()
                dropped += 1
            }
            groups[key] = group
            return key
        }
    }

    static let hostile: [String] = [
        "", "\u{0}", "a\u{0}b\u{0}", "<caf\u{E9}@例え.jp>", "🙂‍↔️ \u{1F600}", "e\u{301}\u{302}\u{303}", "\r\n.\r\n", "|,|,",
        String(repeating: "x", count: 70_000), String(repeating: "é\u{0}", count: 5_000), "0123456789abcdef", "0123456789ABCDEF",
        "0123456789abcde", "0123456789abcdeg", "ffffffffffffffff", "0000000000000000",
    ]

    /// Every field comes back with the bytes it went in with, whatever they are.
    @Test func hostileTextComesBackByteForByte() throws {
        var records: [TransactionRecord] = []
        var flow = 0
        for (n, text) in Self.hostile.enumerated() {
            let other = Self.hostile[(n + 5) % Self.hostile.count]
            // Each string as Message-ID (when not empty), as fingerprint, as MAIL FROM and RCPT TO.
            let shapes: [(id: String?, fingerprint: String?, from: String?, to: [String])] = [
                (text.isEmpty ? "<empty\(n)>" : text, other, other, [text, other]),
                ("", text + "\(n)", nil, []),
                (nil, "fp\(n)", text, [text, "", text]),
                // MAIL FROM ending as the Message-ID does (before its ">"), in part or whole.
                ("<id\(n)@\(text)>", nil, "from@\(text)", [text]),
                ("<\(text)\(n)>", nil, "\(text)\(n)", []),
                ("\(n)\(text)", nil, "é\(n)\(text)", []),
                ("<\(n)\(text)>>", nil, "\(n)\(text)>", []),
            ]
            for shape in shapes {
                for attempt in 0..<2 {
                    records.append(Self.record(flow: flow, start: Self.t0 + Int64(flow) * 1_000_000_000, id: shape.id,
                                               fingerprint: shape.fingerprint, from: shape.from, to: shape.to,
                                               outcome: attempt == 0 ? .noReply : .accepted))
                    flow += 1
                }
            }
        }
        var table = MessageTable(windowNanoseconds: Self.window, maxMessages: 1_000, maxTransactionsPerMessage: 64)
        for record in records.reversed() { table.note(record) }
        let messages = table.messages()
        #expect(messages.count == Self.hostile.count * 7)
        #expect(messages == Correlator.messages(from: records, windowNanoseconds: Self.window))
        for message in messages {
            // Bytes, not canonical equivalence: the first attempt's record, exactly.
            let lead = try #require(records.first { $0.flow == message.attempts[0].primary.flow })
            #expect(message.messageID.map { Array($0.utf8) } == lead.messageID.map { Array($0.utf8) })
            #expect(message.fingerprint.map { Array($0.utf8) } == lead.fingerprint.map { Array($0.utf8) })
            #expect(message.mailFrom.map { Array($0.utf8) } == lead.mailFrom.map { Array($0.utf8) })
            #expect(message.rcptTo.map { Array($0.utf8) } == lead.rcptTo.map { Array($0.utf8) })
        }
    }

    /// Ties in the message order go to the message first seen in flow order, even once that
    /// first transaction is forgotten past `maxTransactionsPerMessage`.
    @Test func tiesKeepTheFirstTransactionEverSeen() {
        let t = Self.t0
        func noted(_ flow: Int, _ seconds: Int64, _ to: String) -> TransactionRecord {
            Self.record(flow: flow, start: t + seconds * 1_000_000_000, id: nil, fingerprint: "same", to: [to], outcome: .noReply)
        }
        // A: flows 0, 5, 6 (flow 0, the earliest, dropped at 2 views); B: flows 3, 4. Both first attempts start at t.
        let records = [noted(0, -100, "a@example.net"), noted(3, 0, "b@example.net"), noted(4, 60, "b@example.net"),
                       noted(5, 0, "a@example.net"), noted(6, 50, "a@example.net")]
        var table = MessageTable(windowNanoseconds: Self.window, maxMessages: 10, maxTransactionsPerMessage: 2)
        for record in records.reversed() { table.note(record) }
        #expect(table.droppedTransactions == 1)
        #expect(table.messages().map(\.rcptTo) == [["a@example.net"], ["b@example.net"]])
        #expect(table.messages().map { $0.attempts.map(\.primary.flow) } == [[5, 6], [3, 4]])
    }

    /// Canonically equivalent Message-IDs are one key to ``Correlator``'s dictionary: one message here too.
    @Test func canonicallyEquivalentIdentitiesAreOne() throws {
        let composed = "<caf\u{E9}@example.org>", decomposed = "<cafe\u{301}@example.org>"
        #expect(Array(composed.utf8) != Array(decomposed.utf8))
        let records = [Self.record(flow: 0, start: Self.t0, id: decomposed, outcome: .noReply),
                       Self.record(flow: 1, start: Self.t0 + 60_000_000_000, id: composed)]
        var table = MessageTable(windowNanoseconds: Self.window, maxMessages: 10, maxTransactionsPerMessage: 64)
        for record in records.reversed() { table.note(record) }
        #expect(table.count == 1)
        let message = try #require(table.messages().first)
        #expect(message == Correlator.messages(from: records, windowNanoseconds: Self.window).first)
        #expect(message.messageID.map { Array($0.utf8) } == Array(decomposed.utf8))
    }

    /// Indices and times of any value, negative or extreme, come back as they went in.
    @Test func extremeNumbersComeBack() throws {
        let values = [Int.min, -1, 0, 63, 64, Int(Int32.max) + 1, Int.max]
        let starts: [Int64] = [.min, -1, 0, 1, .max]
        var records: [TransactionRecord] = []
        for (n, value) in values.enumerated() {
            for (m, start) in starts.enumerated() {
                records.append(Self.record(capture: value, flow: values[(n + m) % values.count], index: values[(n + 2 * m) % values.count],
                                           start: start, id: "<v\(n)@example.org>", outcome: Outcome.allCases[m % 7],
                                           diagnosis: Diagnosis.allCases[(n + m) % 7]))
            }
        }
        var table = MessageTable(windowNanoseconds: Self.window, maxMessages: 100, maxTransactionsPerMessage: 64)
        for record in records.reversed() { table.note(record) }
        let messages = table.messages()
        #expect(messages == Correlator.messages(from: records, windowNanoseconds: Self.window))
        let views = Set(messages.flatMap { $0.attempts.flatMap(\.views) })
        #expect(views == Set(records.map(AttemptView.init)))
    }
}
