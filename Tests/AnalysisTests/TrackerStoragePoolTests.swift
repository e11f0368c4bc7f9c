@testable import Analysis
import Foundation
import Reassembly
import SMTP
import Testing
import Wire

/// A tracker hands its dialog, segment ring, transaction states and rare state back to the
/// stage's shared pools as its flow closes, and any tracker of the stage (a reused one or a
/// new one) starts its next flow from them; finding messages are written into the record's
/// recycled text store. Nothing of one flow may show in another flow's record.
@Suite struct TrackerStoragePoolTests {
    typealias Run = TrackerReuseTests

    /// Flow 1 left dirty: a message cut off in the middle of its body (the dialog is in
    /// message mode), client chunks in the ring at the offsets flow 2 will use, an open
    /// transaction, and a server RST (rare state). Closed without the client's end.
    static func runDirtyFlow(_ tracker: inout FlowTracker<SMTPSession>) -> FlowRecord {
        let id = FlowID(1)
        let server = ["220 mx.example.net\r\n", "250 ok\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n"]
        let client = ["EHLO dirty.example.org\r\n", "MAIL FROM:<dirty@example.org>\r\n", "RCPT TO:<x@example.net>\r\n",
                      "DATA\r\n", "Subject: cut off\r\n\r\nthe first half of a body that never ends"]
        var frame: UInt64 = 100
        var offsets = (client: UInt64(0), server: UInt64(0))
        for (reply, line) in zip(server, client) {
            for (direction, text) in [(FlowDirection.serverToClient, reply), (.clientToServer, line)] {
                let bytes = Array(text.utf8)
                let offset = direction == .clientToServer ? offsets.client : offsets.server
                frame += 1
                let segment = SegmentInfo(frame: frame, sequenceNumber: UInt32(truncatingIfNeeded: offset &+ 1), timestampNanoseconds: at(Int64(frame)),
                                          flags: [.ack, .psh], streamOffset: offset, length: bytes.count)
                bytes.withUnsafeBytes { tracker.handle(.data(id, direction, offset: offset, bytes: $0, segment: segment)) }
                if direction == .clientToServer { offsets.client += UInt64(bytes.count) } else { offsets.server += UInt64(bytes.count) }
            }
        }
        tracker.handle(.end(id, .serverToClient, reason: .rst, frame: frame + 1, timestampNanoseconds: at(Int64(frame + 1))))
        return tracker.close(summary: nil, now: at(Int64(frame + 2)))
    }

    @Test func aNewTrackerStartsCleanFromTheStorageAClosedFlowLeftInThePools() {
        let shared = FlowTrackerShared<SMTPSession>(options: AnalysisOptions())
        var dirty = FlowTracker(info: Run.info(1, port: 40001), capture: 0, shared: shared)
        let dirtyRecord = Self.runDirtyFlow(&dirty)
        #expect(dirtyRecord.findings.contains { $0.code == .reset })

        // Another tracker of the same stage (as one made for a burst of opens): it takes
        // the dirty flow's dialog, ring, state storage and rare state from the pools.
        // Run.second, its QUIT answered 421 (rare state: this flow takes the pooled one).
        let server = Run.second.server.replacingOccurrences(of: "221 bye", with: "421 4.3.2 closing")
        var next = FlowTracker(info: Run.info(2, port: 40002), capture: 0, shared: shared)
        let got = Run.run(&next, flow: 2, client: Run.second.client, server: server)
        var alone = FlowTracker(info: Run.info(2, port: 40002), capture: 0, shared: FlowTrackerShared(options: AnalysisOptions()))
        let expected = Run.run(&alone, flow: 2, client: Run.second.client, server: server)

        #expect(got == expected)
        // What the second flow's text says, whatever the first left behind: no reset, its
        // two DATA commands are its client steps 3 and 7, in frames 3 + 2·3 and 3 + 2·7.
        #expect(got.findings.isEmpty)
        #expect(got.transactions.map(\.messageID) == ["<two@example.org>", nil])
        #expect(got.transactions.map(\.mailFrom) == ["b@example.org", ""])
        #expect(got.transactions.map(\.dataFrame) == [9, 17])
        #expect(got.transactions.map(\.outcome) == [.accepted, .accepted])
        #expect(got.endReason == .quit)
    }

    /// The flow `TrackerReuseTests.run` makes of `k` NOOPs, then one message with no reply
    /// (frame by frame: the reply to step `i` in frame 2 + 2i, the client's step in 3 + 2i,
    /// then the client's FIN, 10 ms after the terminator).
    static func unanswered(_ n: Int, noops k: Int) -> (client: String, server: String) {
        (client: String(repeating: "NOOP\r\n|", count: k)
            + "MAIL FROM:<s\(n)@example.org>\r\n|RCPT TO:<r\(n)@example.net>\r\n|DATA\r\n|Subject: n\(n)\r\n\r\nbody\r\n.\r\n",
         server: "220 mx.example.net ESMTP\r\n|" + String(repeating: "250 ok\r\n|", count: k) + "250 ok\r\n|250 ok\r\n|354 go\r\n")
    }

    /// The two findings of ``unanswered(_:noops:)`` with `k` NOOPs, as written by hand: the
    /// terminator in frame 2k + 9, the FIN in frame 2k + 10.
    static func unansweredMessages(noops k: Int) -> [String] {
        ["the client gave up (FIN, frame \(2 * k + 10)) 10.0 ms after the end of data while the reply was still pending",
         "transaction 0: end of data in frame \(2 * k + 9), no reply in time; the client gave up after 10.0 ms (FIN)"]
    }

    @Test func findingMessagesOfAKeptRecordStayItsOwnAcrossLaterFlows() {
        let shared = FlowTrackerShared<SMTPSession>(options: AnalysisOptions())
        var tracker = FlowTracker(info: Run.info(1, port: 40001), capture: 0, shared: shared)
        let first = Self.unanswered(1, noops: 4)
        let kept = Run.run(&tracker, flow: 1, client: first.client, server: first.server)
        #expect(kept.findings.map(\.message) == Self.unansweredMessages(noops: 4))
        #expect(kept.findings.map(\.frames) == [[17, 18], [17, 18]])
        var writer = JSONByteWriter()
        writer.flow(kept)
        let lineBefore = writer.bytes

        // Later flows through the same tracker (and the pools), with other frame numbers in
        // their messages, while `kept` still refers to the store its messages are in.
        for n in 2...120 {
            let k = n % 3
            tracker.reuse(info: Run.info(n, port: UInt16(40000 + n)), capture: 0)
            let text = Self.unanswered(n, noops: k)
            let record = Run.run(&tracker, flow: n, client: text.client, server: text.server)
            #expect(record.findings.map(\.message) == Self.unansweredMessages(noops: k))
            #expect(record.transactions.first?.mailFrom == "s\(n)@example.org")
        }

        #expect(kept.findings.map(\.message) == Self.unansweredMessages(noops: 4))
        writer.reset()
        writer.flow(kept)
        #expect(writer.bytes == lineBefore)
    }
}
