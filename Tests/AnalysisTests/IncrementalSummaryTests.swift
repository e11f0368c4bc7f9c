@testable import Analysis
import Testing
import Wire

/// The summary and message records kept up as flows close (no flow record retained) equal
/// those worked out from all flow records at the end, and both match the traffic's known truth.
@Suite struct IncrementalSummaryTests {
    /// 200 messages, one every 2 s, seen outside a firewall (capture 0) and partly inside (capture 1):
    /// - m % 4 == 0 (50): a split terminator that stalls (masked banner outside, never arrives
    ///   inside), the client gives up after 15 s, and retries unsplit 45 s later, accepted;
    ///   both attempts also seen inside.
    /// - m % 10 == 5 (20): no Message-ID, sent twice 30 s apart, both accepted (fingerprint identity).
    /// - the other 130: sent once, accepted.
    /// Stalled flows close 15 s after they start, after the flows started in between: flows close
    /// out of flow-index order.
    static func captures() -> [[MailConversation]] {
        var outside: [MailConversation] = []
        var inside: [MailConversation] = []
        for m in 0..<200 {
            let start = Int64(m) * 2_000
            let id = "<m\(m)@example.org>"
            let body = "Message number \(m)."
            func add(_ list: inout [MailConversation], _ conversation: MailConversation) {
                var conversation = conversation
                conversation.client = syntheticClient(list.count)
                list.append(conversation)
            }
            let client = syntheticClient(0)
            if m % 4 == 0 {
                add(&outside, MailConversation(client: client, startMs: start, banner: "*****0****2****0***", messageID: id, body: body,
                                               split: true, reply: false))
                add(&inside, MailConversation(client: client, startMs: start + 1, messageID: id, body: body, split: true, reply: false,
                                              terminatorArrives: false))
                add(&outside, MailConversation(client: client, startMs: start + 45_000, messageID: id, body: body))
                add(&inside, MailConversation(client: client, startMs: start + 45_001, messageID: id, body: body))
            } else if m % 10 == 5 {
                add(&outside, MailConversation(client: client, startMs: start, messageID: nil, body: body))
                add(&outside, MailConversation(client: client, startMs: start + 30_000, messageID: nil, body: body))
            } else {
                add(&outside, MailConversation(client: client, startMs: start, messageID: id, body: body))
            }
        }
        return [outside, inside]
    }

    /// Runs both captures through one analyzer; also returns the flow indices in the order flows closed.
    static func run(retaining: Bool) -> (result: AnalysisResult, closeOrder: [Int], held: Int) {
        var options = AnalysisOptions()
        options.retainFlowRecords = retaining
        var closeOrder: [Int] = []
        let analyzer = Analyzer(options: options) { record in
            if case .flow(let flow) = record, flow.capture == 0 { closeOrder.append(flow.flow) }
        }
        var frameNumber: UInt64 = 0
        for (index, conversations) in captures().enumerated() {
            analyzer.beginCapture(name: index == 0 ? "outside" : "inside")
            frameNumber = 0
            // Capture order: all frames by time (stable, so one flow's frames keep their order).
            let frames = conversations.flatMap { $0.frames() }.enumerated()
                .sorted { ($0.element.nanoseconds, $0.offset) < ($1.element.nanoseconds, $1.offset) }.map(\.element)
            feed(frames, to: analyzer, frameNumber: &frameNumber)
            analyzer.endCapture()
        }
        let held = analyzer.retainedFlowRecords
        return (analyzer.finish(), closeOrder, held)
    }

    @Test func incrementalEqualsAllAtOnceAndTheTruth() throws {
        let kept = Self.run(retaining: true)
        let streamed = Self.run(retaining: false)
        let reference = AnalysisResult(flows: kept.result.flows, captures: kept.result.summary.captures,
                                       windowNanoseconds: AnalysisOptions().crossCaptureWindowNanoseconds)

        // Flows really closed out of index order, and the streaming run kept none.
        #expect(streamed.closeOrder != streamed.closeOrder.sorted())
        #expect(Set(streamed.closeOrder) == Set(0..<270))
        #expect(kept.held == 370)
        #expect(streamed.held == 0)
        #expect(streamed.result.flows.isEmpty)

        // Same counts and messages, whichever way they were worked out.
        #expect(kept.result.summary == reference.summary)
        #expect(kept.result.messages == reference.messages)
        #expect(streamed.result.summary == reference.summary)
        #expect(streamed.result.messages == reference.messages)
        #expect(JSONLinesEncoder.encode(streamed.result.summary) == JSONLinesEncoder.encode(reference.summary))
        #expect(streamed.result.messages.map(JSONLinesEncoder.encode) == reference.messages.map(JSONLinesEncoder.encode))
        #expect(streamed.result.hasProblems == reference.hasProblems)

        // The truth of the traffic, counted by hand from the plan above.
        let summary = streamed.result.summary
        #expect(summary.flows == 370)
        #expect(summary.transactions == 370)
        #expect(summary.outcomes == [.accepted: 270, .noReply: 50, .noTerminator: 50])
        #expect(summary.diagnoses[.splitTerminatorStall] == 50)
        #expect(summary.diagnoses[.terminatorNotReceived] == 50)
        #expect(summary.association == Association(splitUnanswered: 50, splitAnswered: 0, unsplitUnanswered: 0, unsplitAnswered: 270))
        #expect(summary.messages == 70)
        #expect(summary.retriedMessages == 70)
        #expect(summary.problemFlows == 100)
        #expect(!summary.correlationLimited)
        #expect(summary.middlebox.detected)
        // Outside flow 0 is the first stalled one, with the masked banner; 50 flows show it.
        #expect(summary.middlebox.evidence.first?.hasPrefix("masked SMTP banner in 50 flows (first: capture 0 flow 0, frame ") == true)
        #expect(summary.middlebox.evidence.contains { $0.hasPrefix("in 50 attempts the terminator") })

        let stalled = try #require(streamed.result.messages.first { $0.messageID == "<m4@example.org>" })
        #expect(stalled.attempts.map { $0.views.map(\.capture) } == [[0, 1], [0, 1]])
        #expect(stalled.attempts.map(\.primary.outcome) == [.noReply, .accepted])
        #expect(stalled.interval?.medianNanoseconds == 45_000_000_000)
        let noID = streamed.result.messages.filter { $0.messageID == nil }
        #expect(noID.count == 20)
        #expect(noID.allSatisfy { $0.attempts.count == 2 && $0.accepted == 2 && $0.fingerprint != nil })
    }

    /// Noted in any order, the table gives the offline messages; past its limits it forgets and counts.
    @Test func messageTableOrderAndLimits() {
        var records: [TransactionRecord] = []
        for n in 0..<30 {
            let id = "<t\(n % 6)@example.org>"
            records.append(CorrelationTests.record(capture: n % 2, flow: n, seconds: Int64(n * 7), id: id))
        }
        var generator = SystemRandomNumberGenerator()
        var table = MessageTable(windowNanoseconds: 5_000_000_000, maxMessages: 100, maxTransactionsPerMessage: 64)
        for record in records.shuffled(using: &generator) { table.note(record) }
        #expect(table.messages() == Correlator.messages(from: records, windowNanoseconds: 5_000_000_000))
        #expect(table.messages().count == 6)

        // Noting the same record again changes nothing; a new verdict for it does.
        #expect(table.note(records[0]) == nil)
        var final = records[0]
        final.outcome = .accepted
        final.diagnosis = .ok
        #expect(table.note(final) == "id:<t0@example.org>")

        // 3 identities at most, 2 views each: t0…t5 noted in turn, each 5 times.
        var small = MessageTable(windowNanoseconds: 5_000_000_000, maxMessages: 3, maxTransactionsPerMessage: 2)
        for record in records { small.note(record) }
        // Each new identity past the third evicts the least recently noted one: t3 evicts t0, …,
        // and from n = 6 on every record's identity was evicted 3 records earlier: 30 - 3 evictions in all.
        #expect(small.count == 3)
        #expect(small.evictedMessages == 27)
        #expect(small.droppedTransactions == 0)
        var pinned = MessageTable(windowNanoseconds: 5_000_000_000, maxMessages: 3, maxTransactionsPerMessage: 2)
        for record in records where record.messageID == "<t1@example.org>" { pinned.note(record) }
        // Flows 1, 7, 13, 19, 25: the earliest three are forgotten, 19 and 25 remain.
        #expect(pinned.droppedTransactions == 3)
        #expect(pinned.messages().first?.attempts.map(\.primary.flow) == [19, 25])
    }

    /// 25 flows, every fifth one a retry of the message before it (messages 3, 8, 13, 18, 23):
    /// 20 identities through a table of 3.
    @Test func correlationLimitIsReportedOnlyWhenReached() {
        var options = AnalysisOptions()
        options.retainFlowRecords = false
        options.maxCorrelatedMessages = 3
        let analyzer = Analyzer(options: options)
        analyzer.beginCapture(name: "many")
        var frameNumber: UInt64 = 0
        for n in 0..<25 {
            let message = n % 5 == 4 ? n - 1 : n
            let conversation = MailConversation(client: syntheticClient(n), startMs: Int64(n) * 1_000,
                                                messageID: "<n\(message)@example.org>", body: "number \(message)")
            feed(conversation.frames(), to: analyzer, frameNumber: &frameNumber)
        }
        let result = analyzer.finish()
        #expect(result.summary.flows == 25)
        #expect(result.summary.correlationEvictedMessages == 17)
        #expect(analyzer.correlatedMessages == 3)
        // Retried messages evicted later still count; only the one still held prints a record.
        #expect(result.summary.messages == 5)
        #expect(result.summary.retriedMessages == 5)
        #expect(result.messages.map(\.messageID) == ["<n23@example.org>"])
        let line = JSONLinesEncoder.encode(result.summary)
        #expect(line.contains("\"correlation_evicted\":{\"messages\":17,\"transactions\":0}"))
        #expect(renderText(result).contains("correlation limit: 17 messages and 0 transactions forgotten"))
        #expect(!JSONLinesEncoder.encode(Self.run(retaining: false).result.summary).contains("correlation_evicted"))
    }
}
