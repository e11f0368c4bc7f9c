@testable import Analysis
import Testing

extension EndToEndTests {
    @Test func splitTerminatorStallSeenFromBothSides() throws {
        let result = Self.kbRun()
        let outside = result.flows.filter { $0.capture == 0 }
        let inside = result.flows.filter { $0.capture == 1 }
        #expect(outside.count == 5)
        #expect(inside.count == 4)
        // Outside flow k occupies frames 18k+1 … 18k+18; body in 18k+13, ".\r\n" in 18k+14.
        for (k, flow) in outside.prefix(4).enumerated() {
            let t = try #require(flow.transactions.first)
            #expect(t.diagnosis == .splitTerminatorStall)
            #expect(t.outcome == .noReply)
            #expect(t.terminator.splitAfter == [2])
            #expect(t.terminator.frames == [UInt64(18 * k + 13), UInt64(18 * k + 14)])
            #expect(t.messageID == "<kb295725@example.org>")
            #expect(t.mailFrom == "alice@example.org")
            #expect(t.rcptTo == ["bob@example.net"])
            #expect(t.gaveUp?.kind == .fin)
            #expect(flow.codes.isSuperset(of: [.eodSplit, .eodUnanswered, .clientTimeout, .bannerMasked]))
        }
        for flow in inside {
            #expect(flow.transactions.map(\.diagnosis) == [.terminatorNotReceived])
        }
        let answered = try #require(outside.last?.transactions.first)
        #expect(answered.diagnosis == .ok)
        #expect(answered.terminator.splitAfter == [])
        #expect(answered.reply?.code == 250)

        let message = try #require(result.messages.first { $0.messageID == "<kb295725@example.org>" })
        #expect(message.attempts.count == 5)  // 4 stalled (2 views each) + the one that went through
        #expect(message.attempts.prefix(4).allSatisfy { $0.views.map(\.capture) == [0, 1] })
        #expect(message.accepted == 1)

        #expect(result.summary.association == Association(splitUnanswered: 4, splitAnswered: 0, unsplitUnanswered: 0, unsplitAnswered: 1))
        #expect(result.summary.middlebox.detected)
        #expect(result.summary.middlebox.kind == "smtp_fixup")
        #expect(result.hasProblems)
    }

    @Test func textReportNamesStallRetriesAndMiddlebox() {
        let text = renderText(Self.kbRun())
        #expect(text.contains("terminator split after byte 2 across frames 13/14, no reply came back, the client gave up after 15.0 s (FIN, frame 16)"))
        #expect(text.contains("Message-ID <kb295725@example.org>: sent 5 times"))
        #expect(text.contains("outside.pcap flow 0 tx 0: no_reply/split_terminator_stall | inside.pcap flow 0 tx 0: no_terminator/terminator_not_received"))
        #expect(text.contains("4 of 4 split terminators went unanswered, 0 of 1 unsplit ones"))
        #expect(text.contains("Middlebox: smtp_fixup"))
        #expect(!text.contains("2 times in this flow"))
    }

    /// Live hook: each transaction as soon as its outcome is known, before its flow record.
    @Test func liveHookStreamsTransactionsThenFlows() {
        var outside = CaptureScript()
        outside.conversation(clientPort: 41000, startMs: 0, banner: "mx", split: true, reply: false)
        outside.conversation(clientPort: 42000, startMs: 60_000, banner: "mx", split: false, reply: true)
        var seen: [String] = []
        let analyzer = Analyzer(onRecord: { record in
            switch record {
            case .transaction(let t): seen.append("tx \(t.flow) \(t.outcome.rawValue) \(t.diagnosis.rawValue)")
            case .flow(let f): seen.append("flow \(f.flow)")
            }
        })
        outside.feed(analyzer, name: "live")
        #expect(seen == ["tx 0 no_reply split_terminator_stall", "flow 0", "tx 1 accepted ok", "flow 1"])
        let lines = seen.count
        _ = analyzer.finish()
        #expect(seen.count == lines)  // nothing twice
    }
}
