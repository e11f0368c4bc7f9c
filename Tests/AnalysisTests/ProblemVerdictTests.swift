@testable import Analysis
import Testing

/// What makes `analyze` exit 1: a flow that only went into TLS is not a problem found.
@Suite struct ProblemVerdictTests {
    @Test func cleanStartTLSFlowIsNoProblem() {
        var h = TrackerHarness()
        h.reply(220, "mx.example.net ESMTP", answering: .greeting, frame: 3, ms: 5)
        h.smtp(.tlsStarted(clientOffset: 30, serverOffset: 200), .server, frame: 9, ms: 30)
        let flow = h.close(now: 100)
        #expect(flow.transactions.map(\.diagnosis) == [.encrypted])
        #expect(!flow.hasProblems)
    }

    @Test func encryptedFlowWithAWarningIsStillAProblem() {
        var h = TrackerHarness()
        h.reply(220, "****************************", answering: .greeting, frame: 3, ms: 5)  // masked banner: warning
        h.smtp(.tlsStarted(clientOffset: 30, serverOffset: 200), .server, frame: 9, ms: 30)
        let flow = h.close(now: 100)
        #expect(flow.findings.contains { $0.severity >= .warning })
        #expect(flow.hasProblems)
    }
}
