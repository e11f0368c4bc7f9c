@testable import Analysis
import Reassembly
import SMTP
import Testing
import Wire

/// A closed flow hands its transaction-state list to the stage's pool only when it is of the
/// usual size: a list a flow with many transactions grew is let go, and the next flow starts
/// from the usual storage with nothing of the earlier flow in its record.
@Suite struct S7ConnStateListTrimTests {
    typealias Run = TrackerReuseTests

    /// `count` transactions, each answered, then QUIT.
    static func script(transactions count: Int) -> (client: String, server: String) {
        var client = ["EHLO many.example.org\r\n"]
        var server = ["220 mx.example.net ESMTP\r\n", "250 mx.example.net\r\n"]
        for k in 0..<count {
            client += ["MAIL FROM:<m\(k)@example.org>\r\n", "RCPT TO:<r\(k)@example.net>\r\n", "DATA\r\n",
                       "Message-ID: <m\(k)@example.org>\r\n\r\nbody \(k)\r\n.\r\n"]
            server += ["250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 queued as Q\(k)\r\n"]
        }
        client.append("QUIT\r\n")
        server.append("221 bye\r\n")
        return (client.joined(separator: "|"), server.joined(separator: "|"))
    }

    @Test func aListManyTransactionsGrewIsNotPooled() {
        let shared = FlowTrackerShared<SMTPSession>(options: AnalysisOptions())
        let many = Self.script(transactions: 40)
        var busy = FlowTracker(info: Run.info(1, port: 40001), capture: 0, shared: shared)
        let busyRecord = Run.run(&busy, flow: 1, client: many.client, server: many.server)
        #expect(busyRecord.transactions.count == 40)
        // The 40-state list went nowhere: the pool has none to give.
        #expect(shared.spareStates() == nil)

        // The next flow of the stage starts from new storage and reads only its own dialog.
        var next = FlowTracker(info: Run.info(2, port: 40002), capture: 0, shared: shared)
        let got = Run.run(&next, flow: 2, client: Run.second.client, server: Run.second.server)
        var alone = FlowTracker(info: Run.info(2, port: 40002), capture: 0, shared: FlowTrackerShared(options: AnalysisOptions()))
        #expect(got == Run.run(&alone, flow: 2, client: Run.second.client, server: Run.second.server))
        #expect(got.transactions.map(\.messageID) == ["<two@example.org>", nil])
    }

    @Test func aListOfTheUsualSizeIsPooledEmptied() {
        let shared = FlowTrackerShared<SMTPSession>(options: AnalysisOptions())
        let two = Self.script(transactions: 2)
        var tracker = FlowTracker(info: Run.info(1, port: 40001), capture: 0, shared: shared)
        let record = Run.run(&tracker, flow: 1, client: two.client, server: two.server)
        #expect(record.transactions.map(\.messageID) == ["<m0@example.org>", "<m1@example.org>"])
        let spare = shared.spareStates()
        #expect(spare?.isEmpty == true)
        #expect((spare?.capacity ?? 0) >= 2)
        #expect((spare?.capacity ?? .max) <= FlowTracker<SMTPSession>.keptTransactionStates)
    }
}
