@testable import Analysis
import Testing

@Suite struct CorrelationTests {
    static func record(capture: Int = 0, flow: Int, seconds: Int64, id: String? = "<m1@example.org>", fingerprint: String? = "f1",
                       from: String? = "alice@example.org", outcome: Outcome = .noReply,
                       diagnosis: Diagnosis = .splitTerminatorStall) -> TransactionRecord {
        TransactionRecord(capture: capture, flow: flow, client: EndpointRecord(ip: "192.0.2.10", port: 40000),
                          server: EndpointRecord(ip: "198.51.100.25", port: 25), index: 0, mailFrom: from,
                          rcptTo: ["bob@example.net"], messageID: id, fingerprint: fingerprint,
                          startNanoseconds: t0 + seconds * 1_000_000_000, outcome: outcome, diagnosis: diagnosis)
    }

    @Test func fourAttemptsAt45SecondsAreRegular() throws {
        let records = [0, 45, 90, 135].enumerated().map { Self.record(flow: $0.offset, seconds: $0.element) }
        let messages = Correlator.messages(from: records.reversed(), windowNanoseconds: 5_000_000_000)
        let message = try #require(messages.first)
        #expect(messages.count == 1)
        #expect(message.attempts.count == 4)
        #expect(message.attempts.map(\.primary.flow) == [0, 1, 2, 3])
        #expect(message.interval == IntervalStats(medianNanoseconds: 45_000_000_000, minNanoseconds: 45_000_000_000, maxNanoseconds: 45_000_000_000))
        #expect(message.regular)
        #expect(message.pattern == .steady)
        #expect(message.accepted == 0)
    }

    @Test func irregularIntervals() throws {
        // Intervals 10, 90, 5 s: median 10.
        let records = [0, 10, 100, 105].enumerated().map { Self.record(flow: $0.offset, seconds: $0.element) }
        let message = try #require(Correlator.messages(from: records, windowNanoseconds: 5_000_000_000).first)
        #expect(message.interval?.medianNanoseconds == 10_000_000_000)
        #expect(message.interval?.minNanoseconds == 5_000_000_000)
        #expect(message.interval?.maxNanoseconds == 90_000_000_000)
        #expect(!message.regular)
        #expect(message.pattern == .irregular)
    }

    @Test func doublingBackoffIsRegular() throws {
        // Intervals 60, 120, 240 s.
        let records = [0, 60, 180, 420].enumerated().map { Self.record(flow: $0.offset, seconds: $0.element) }
        let message = try #require(Correlator.messages(from: records, windowNanoseconds: 5_000_000_000).first)
        #expect(message.pattern == .backoff)
        #expect(message.regular)
        #expect(message.interval?.medianNanoseconds == 120_000_000_000)
    }

    @Test func withoutMessageIDFingerprintAndEnvelopeDecide() {
        let records = [
            Self.record(flow: 0, seconds: 0, id: nil, fingerprint: "aa"),
            Self.record(flow: 1, seconds: 60, id: nil, fingerprint: "aa"),
            Self.record(flow: 2, seconds: 120, id: nil, fingerprint: "aa", from: "mallory@example.com"),  // other envelope
            Self.record(flow: 3, seconds: 130, id: nil, fingerprint: "bb"),
            Self.record(flow: 4, seconds: 140, id: nil, fingerprint: nil),  // no identity at all
        ]
        let messages = Correlator.messages(from: records, windowNanoseconds: 5_000_000_000)
        #expect(messages.count == 1)
        #expect(messages.first?.messageID == nil)
        #expect(messages.first?.fingerprint == "aa")
        #expect(messages.first?.attempts.map(\.primary.flow) == [0, 1])
        #expect(messages.first?.interval?.medianNanoseconds == 60_000_000_000)
        #expect(messages.first?.pattern == nil)
        #expect(messages.first?.regular == false)
    }

    /// Outside capture (0) sees each attempt 0.4 s before the inside one (1): 3 attempts, 2 views each.
    @Test func twoCapturesOfTheSameAttemptsPairUp() throws {
        var records: [TransactionRecord] = []
        for (n, s) in [0, 45, 90].enumerated() {
            records.append(Self.record(capture: 0, flow: n, seconds: Int64(s)))
            var inside = Self.record(capture: 1, flow: n, seconds: Int64(s), outcome: .noTerminator, diagnosis: .terminatorNotReceived)
            inside.startNanoseconds += 400_000_000
            records.append(inside)
        }
        let message = try #require(Correlator.messages(from: records, windowNanoseconds: 5_000_000_000).first)
        #expect(message.attempts.count == 3)
        #expect(message.transactions == 6)
        #expect(message.attempts.map { $0.views.map(\.capture) } == [[0, 1], [0, 1], [0, 1]])
        #expect(message.attempts.allSatisfy { $0.primary.capture == 0 })
        #expect(message.interval?.medianNanoseconds == 45_000_000_000)
        #expect(message.pattern == .steady)  // two intervals, both 45 s
        let verdict = MiddleboxVerdict(flows: [], association: Association(), messages: [message])
        #expect(verdict.detected)
        #expect(verdict.kind == "smtp_fixup")
        #expect(verdict.evidence.contains { $0.contains("3 attempts") })
    }

    @Test func sameCaptureNeverPairsEvenWhenClose() throws {
        let records = [Self.record(flow: 0, seconds: 0), Self.record(flow: 1, seconds: 2)]
        let message = try #require(Correlator.messages(from: records, windowNanoseconds: 5_000_000_000).first)
        #expect(message.attempts.count == 2)
    }

    @Test func lateAcceptanceCountsAsDuplicate() throws {
        let records = [
            Self.record(flow: 0, seconds: 0, outcome: .acceptedLate),
            Self.record(flow: 1, seconds: 45, outcome: .accepted, diagnosis: .ok),
        ]
        let message = try #require(Correlator.messages(from: records, windowNanoseconds: 5_000_000_000).first)
        #expect(message.accepted == 2)
        #expect(message.acceptedLate == 1)
    }
}
