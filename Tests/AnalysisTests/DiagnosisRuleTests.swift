@testable import Analysis
import Reassembly
import SMTP
import Testing

/// The DESIGN.md diagnosis rules, one scenario each, driven through the tracker's seam.
@Suite struct DiagnosisRuleTests {
    @Test func splitTerminatorAnswered250IsOkWithOnlyInformationalSplit() {
        var h = TrackerHarness()
        let last = h.sendMessage(splitAfter: [2])  // frames 10 ("…hello\r\n") and 11 (".\r\n"), at 1000/1001 ms
        h.reply(250, "2.0.0 Ok: queued as ABC", answering: .endOfData(transaction: 0), frame: 12, ms: last.ms + 300)
        h.smtp(.command(TrackerHarness.command("QUIT")), .client, frame: 13, ms: 1400)
        h.end(.clientToServer, .fin, frame: 15, ms: 1500)
        h.end(.serverToClient, .fin, frame: 16, ms: 1501)
        let flow = h.close(now: 1501)
        let t = flow.transactions[0]
        #expect(t.outcome == .accepted)
        #expect(t.diagnosis == .ok)
        #expect(t.terminator.frames == [10, 11])
        #expect(t.terminator.splitAfter == [2])
        #expect(t.reply?.code == 250)
        #expect(t.reply?.frame == 12)
        #expect(t.reply?.latencyNanoseconds == 300_000_000)
        #expect(flow.codes == [.eodSplit])
        #expect(flow.finding(.eodSplit)?.severity == .info)
        #expect(flow.finding(.eodSplit)?.frames == [10, 11])
        #expect(flow.endReason == .quit)
        #expect(!flow.hasProblems)
    }

    @Test func splitTerminatorUnansweredThenClientFinIsStall() {
        var h = TrackerHarness()
        h.sendMessage(splitAfter: [2])  // completes at 1001 ms
        h.end(.clientToServer, .fin, frame: 30, ms: 16_001)
        h.end(.serverToClient, .fin, frame: 31, ms: 16_002)
        let flow = h.close(now: 16_002)
        let t = flow.transactions[0]
        #expect(t.outcome == .noReply)
        #expect(t.diagnosis == .splitTerminatorStall)
        #expect(t.reply == nil)
        #expect(t.gaveUp?.kind == .fin)
        #expect(t.gaveUp?.frame == 30)
        #expect(t.gaveUp?.waitedNanoseconds == 15_000_000_000)
        #expect(flow.codes.isSuperset(of: [.eodSplit, .eodUnanswered, .clientTimeout]))
        #expect(flow.finding(.eodUnanswered)?.frames == [10, 11, 30])
        #expect(flow.finding(.clientTimeout)?.message.contains("15.0 s") == true)
        #expect(flow.endReason == .fin)
        #expect(flow.hasProblems)
    }

    @Test func stallWithoutSplitIsUnansweredNeverBlamedOnASplit() {
        var h = TrackerHarness()
        h.sendMessage(splitAfter: [])
        h.end(.clientToServer, .rst, frame: 30, ms: 31_000)
        let flow = h.close(now: 31_000)
        let t = flow.transactions[0]
        #expect(t.terminator.splitAfter == [])
        #expect(t.terminator.frames == [10])
        #expect(t.outcome == .noReply)
        #expect(t.diagnosis == .unanswered)
        #expect(!flow.codes.contains(.eodSplit))
        #expect(flow.codes.isSuperset(of: [.eodUnanswered, .reset, .clientTimeout]))
        #expect(flow.endReason == .rst)
    }

    @Test func replyAfterTheClientGaveUpIsAcceptedLate() {
        var h = TrackerHarness()
        h.sendMessage(splitAfter: [2])
        h.smtp(.command(TrackerHarness.command("QUIT")), .client, frame: 30, ms: 16_001)  // waited 15 s
        h.reply(250, "2.0.0 Ok: queued", answering: .endOfData(transaction: 0), frame: 31, ms: 16_500)
        h.end(.clientToServer, .fin, frame: 33, ms: 16_600)
        let flow = h.close(now: 16_600)
        let t = flow.transactions[0]
        #expect(t.outcome == .acceptedLate)
        #expect(t.diagnosis == .splitTerminatorStall)
        #expect(t.gaveUp?.kind == .quit)
        #expect(t.reply?.code == 250)
        #expect(t.reply?.latencyNanoseconds == 15_499_000_000)
        #expect(flow.finding(.replyAfterClose)?.frames == [30, 31])
        #expect(flow.finding(.replyAfterClose)?.severity == .error)
    }

    @Test func quitPipelinedRightAfterTheTerminatorIsNotGivingUp() {
        var h = TrackerHarness()
        let last = h.sendMessage(splitAfter: [])
        h.smtp(.command(TrackerHarness.command("QUIT")), .client, frame: last.frame, ms: last.ms)
        h.reply(250, "ok", answering: .endOfData(transaction: 0), frame: 12, ms: last.ms + 200)
        h.end(.clientToServer, .fin, frame: 14, ms: last.ms + 300)
        let flow = h.close(now: last.ms + 300)
        #expect(flow.transactions[0].outcome == .accepted)
        #expect(flow.transactions[0].diagnosis == .ok)
        #expect(flow.transactions[0].gaveUp == nil)
        #expect(!flow.codes.contains(.replyAfterClose))
    }

    @Test func rejectionAfterEndOfDataIsRejected() {
        var h = TrackerHarness()
        let last = h.sendMessage(splitAfter: [3])
        h.reply(554, "5.7.1 rejected", answering: .endOfData(transaction: 0), frame: 12, ms: last.ms + 50)
        let flow = h.close(now: last.ms + 100)
        #expect(flow.transactions[0].outcome == .rejected)
        #expect(flow.transactions[0].diagnosis == .rejected)
    }

    @Test func refusedDataIsRejected() {
        var h = TrackerHarness()
        h.smtp(.transactionStarted(transaction: 0, offset: 20), .client, frame: 4, ms: 10)
        h.smtp(.command(TrackerHarness.command("MAIL", "FROM:<>", offset: 20)), .client, frame: 4, ms: 10)
        h.smtp(.command(TrackerHarness.command("DATA", offset: 40)), .client, frame: 6, ms: 20)
        h.reply(554, "5.5.1 no valid recipients", answering: .command(TrackerHarness.command("DATA", offset: 40)), frame: 7, ms: 30)
        let flow = h.close(now: 40)
        #expect(flow.transactions.count == 1)
        #expect(flow.transactions[0].mailFrom == "")
        #expect(flow.transactions[0].outcome == .rejected)
        #expect(flow.transactions[0].reply?.code == 554)
        #expect(flow.transactions[0].dataFrame == 6)
    }

    @Test func receiverSeesNoTerminatorBeforeTheEnd() {
        var h = TrackerHarness()
        h.smtp(.transactionStarted(transaction: 0, offset: 20), .client, frame: 4, ms: 10)
        h.smtp(.command(TrackerHarness.command("DATA", offset: 94)), .client, frame: 8, ms: 20)
        h.reply(354, "go ahead", answering: .command(TrackerHarness.command("DATA", offset: 94)), frame: 9, ms: 30)
        h.smtp(.messageStarted(transaction: 0, offset: 100), .server, frame: 9, ms: 30)
        h.clientData(TrackerHarness.body + "\r\n", offset: 100, frame: 10, ms: 40)  // the ".\r\n" never comes
        h.reply(421, "4.4.2 timeout", answering: .unsolicited, frame: 20, ms: 600_040)
        h.end(.serverToClient, .fin, frame: 21, ms: 600_041)
        let summary = MessageSummary(transaction: 0, mailFrom: nil, rcptTo: [], dataOffset: 100, size: 52, messageID: "<m1@example.org>",
                                     subject: nil, date: nil, from: nil, to: nil, fingerprint: "ab", headersTruncated: false)
        h.end(.clientToServer, .fin, frame: 22, ms: 600_050)
        h.smtp(.messageIncomplete(summary, reason: .end), .client, frame: 22, ms: 600_050, end: .fin)
        let flow = h.close(closedBy: .serverToClient, now: 600_050)
        let t = flow.transactions[0]
        #expect(t.outcome == .noTerminator)
        #expect(t.diagnosis == .terminatorNotReceived)
        #expect(t.messageID == "<m1@example.org>")
        #expect(flow.finding(.eodMissing)?.frames == [8, 10])
        #expect(flow.finding(.serverTimeout)?.frames == [20, 21])
        #expect(flow.closedBy == .server)
    }

    @Test func captureEndingSoonAfterTheTerminatorIsIncomplete() {
        var h = TrackerHarness()
        let last = h.sendMessage(splitAfter: [2])
        let flow = h.close(closedBy: nil, now: last.ms + 5_000)  // waited 5 s < 30 s
        #expect(flow.transactions[0].outcome == .incomplete)
        #expect(flow.transactions[0].diagnosis == .incompleteCapture)
        #expect(flow.endReason == .open)
        #expect(flow.closedBy == nil)
    }

    @Test func captureEndingAfterTheReplyTimeoutIsUnanswered() {
        var h = TrackerHarness()
        let last = h.sendMessage(splitAfter: [2])
        let flow = h.close(closedBy: nil, now: last.ms + 45_000)
        let t = flow.transactions[0]
        #expect(t.outcome == .noReply)
        #expect(t.diagnosis == .splitTerminatorStall)
        #expect(t.gaveUp?.kind == .timeout)
        #expect(t.gaveUp?.waitedNanoseconds == 45_000_000_000)
    }

    @Test func gapAfterTheTerminatorMakesAMissingReplyIncomplete() {
        var h = TrackerHarness()
        h.sendMessage(splitAfter: [2])
        h.tracker.handle(.gap(h.id, .serverToClient, offset: 300, length: 40, reason: .captureLoss))
        h.end(.clientToServer, .fin, frame: 30, ms: 20_000)
        let flow = h.close(now: 20_000)
        #expect(flow.transactions[0].diagnosis == .incompleteCapture)
        #expect(flow.codes.contains(.gap))
    }

    @Test func snaplenGapIsTruncated() {
        var h = TrackerHarness()
        h.tracker.handle(.gap(h.id, .clientToServer, offset: 0, length: 10, reason: .snaplen))
        #expect(h.close(now: 10).codes == [.truncated])
    }

    @Test func tlsFlowHasAnEncryptedTransaction() {
        var h = TrackerHarness()
        h.reply(220, "mx.example.net ESMTP", answering: .greeting, frame: 3, ms: 5)
        h.smtp(.tlsStarted(clientOffset: 30, serverOffset: 200), .server, frame: 9, ms: 30)
        let flow = h.close(now: 100)
        #expect(flow.tls)
        #expect(flow.banner == "220 mx.example.net ESMTP")
        #expect(flow.transactions.map(\.outcome) == [.encrypted])
        #expect(flow.transactions.map(\.diagnosis) == [.encrypted])
        #expect(flow.finding(.tls)?.severity == .info)
    }

    @Test func midstreamFlowIsFlagged() {
        var h = TrackerHarness(midstream: true)
        #expect(h.close(now: 0).finding(.midstream)?.frames == [1])
    }

    @Test func fixupFingerprints() {
        var h = TrackerHarness()
        h.reply(220, "*****************0****2*******", answering: .greeting, frame: 3, ms: 5)
        h.reply(500, "Command unrecognized", answering: .command(TrackerHarness.command("EHLO", "client")), frame: 5, ms: 6)
        h.smtp(.command(TrackerHarness.command("XXXX", "")), .client, frame: 6, ms: 7)
        h.reply(250, "XXXXXXXA", answering: .command(TrackerHarness.command("EHLO", "client")), frame: 8, ms: 8)
        h.smtp(.anomaly(.bareLF, side: .client, offset: 77), .client, frame: 9, ms: 9)
        let flow = h.close(now: 10)
        #expect(flow.finding(.bannerMasked)?.frames == [3])
        #expect(flow.finding(.ehloRejected)?.frames == [5])
        #expect(flow.finding(.commandMasked)?.frames == [6])
        #expect(flow.finding(.starttlsMasked)?.frames == [8])
        #expect(flow.finding(.bareLF)?.frames == [9])
    }

    @Test func unmaskedBannerIsNotMasked() {
        #expect(!FlowTracker<SilentDialog>.isMaskedBanner("mx.example.net ESMTP Postfix"))
        #expect(FlowTracker<SilentDialog>.isMaskedBanner("****0*****2**  ***"))
    }

    @Test func findingReportedOncePerFlowWithMergedEvidence() {
        var h = TrackerHarness()
        let first = h.sendMessage(splitAfter: [2])
        h.reply(250, "ok", answering: .endOfData(transaction: 0), frame: 12, ms: first.ms + 10)
        h.sendMessage(splitAfter: [4], transaction: 1, firstFrame: 20, startMs: 2000)  // frames 20, 21
        h.reply(250, "ok", answering: .endOfData(transaction: 1), frame: 22, ms: 2100)
        let flow = h.close(now: 3000)
        #expect(flow.findings.filter { $0.code == .eodSplit }.count == 1)
        #expect(flow.finding(.eodSplit)?.frames == [10, 11, 20, 21])
        #expect(flow.finding(.eodSplit)?.occurrences == 2)
        #expect(flow.transactions.map(\.diagnosis) == [.ok, .ok])
    }

    @Test func nearMissTerminatorsAreFindings() {
        var h = TrackerHarness()
        h.clientData("a\n.\nb", offset: 100, frame: 10, ms: 10)
        let near = TerminatorInfo(style: .lfLf, offset: 101, length: 3)
        h.smtp(.nearMissTerminator(transaction: 0, terminator: near), .client, frame: 10, ms: 10)
        h.smtp(.smugglingAccepted(transaction: 0, terminator: near, smuggled: SmuggledEnvelope(mailFrom: "ceo@example.org", rcptTo: [], messageID: nil)),
               .server, frame: 11, ms: 11)
        let flow = h.close(now: 20)
        #expect(flow.finding(.eodNonstandard)?.frames == [10])
        #expect(flow.finding(.eodNonstandardAccepted)?.frames == [10, 11])
        #expect(flow.finding(.eodNonstandardAccepted)?.message.contains("ceo@example.org") == true)
    }

    @Test func conflictingOverlapIsAFinding() {
        var h = TrackerHarness()
        h.clientData("EHLO x\r\n", offset: 0, frame: 4, ms: 1)
        h.retransmit(offset: 0, length: 8, frame: 5, ms: 2, conflicting: true)
        #expect(h.close(now: 3).finding(.overlapConflict)?.frames == [5])
    }

    @Test func liveRecordWhenTheReplyTimeoutPasses() {
        var h = TrackerHarness()
        let last = h.sendMessage(splitAfter: [1])
        h.tracker.advanceClock(to: at(last.ms + 29_000))
        #expect(h.tracker.drainLive().isEmpty)
        h.tracker.advanceClock(to: at(last.ms + 31_000))
        let live = h.tracker.drainLive()
        #expect(live.map(\.outcome) == [.noReply])
        #expect(live.map(\.diagnosis) == [.splitTerminatorStall])
        #expect(h.tracker.drainLive().isEmpty)  // once only
    }

    @Test func liveRecordAsSoonAsTheReplyArrives() {
        var h = TrackerHarness()
        let last = h.sendMessage(splitAfter: [])
        #expect(h.tracker.drainLive().isEmpty)
        h.reply(250, "ok", answering: .endOfData(transaction: 0), frame: 12, ms: last.ms + 20)
        let live = h.tracker.drainLive()
        #expect(live.count == 1)
        #expect(live.first?.reply?.frame == 12)
        #expect(live.first?.capture == 0 && live.first?.flow == 3)
    }

    @Test func envelopePaths() {
        #expect(FlowTracker<SilentDialog>.path(in: "FROM:<a@b.example> SIZE=12", after: "FROM:") == "a@b.example")
        #expect(FlowTracker<SilentDialog>.path(in: "from: <>", after: "FROM:") == "")
        #expect(FlowTracker<SilentDialog>.path(in: "TO:c@d.example", after: "TO:") == "c@d.example")
    }
}

@Suite struct ServerCloseTests {
    @Test func serverClosingAfterTheClientIsNotATimeout() {
        var h = TrackerHarness()
        h.end(.clientToServer, .fin, frame: 5, ms: 10)
        h.end(.serverToClient, .fin, frame: 6, ms: 11)
        #expect(!h.close(now: 11).codes.contains(.serverTimeout))
    }

    @Test func serverClosingAnIdleSessionIsATimeout() {
        var h = TrackerHarness()
        h.clientData("EHLO c\r\n", offset: 0, frame: 4, ms: 10)
        h.end(.serverToClient, .fin, frame: 9, ms: 300_010)
        let finding = h.close(now: 300_010).finding(.serverTimeout)
        #expect(finding?.frames == [9])
        #expect(finding?.message.contains("300.0 s after the client's last data") == true)
    }
}
