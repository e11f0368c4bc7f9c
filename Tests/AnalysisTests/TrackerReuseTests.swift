@testable import Analysis
import Reassembly
import SMTP
import Testing
import Wire

/// `FlowStage` hands the tracker of a closed flow to the next flow that opens
/// (`FlowTracker.reuse`): the record of that next flow must be the one a new tracker makes.
@Suite struct TrackerReuseTests {
    /// Feeds one whole SMTP conversation of flow `index` as stream events, then closes it.
    static func run(_ tracker: inout FlowTracker<SMTPSession>, flow index: Int, client: String, server: String) -> FlowRecord {
        let id = FlowID(index)
        var frame: UInt64 = 1
        var clientOffset: UInt64 = 0
        var serverOffset: UInt64 = 0
        func send(_ direction: FlowDirection, _ text: String) {
            let bytes = Array(text.utf8)
            let offset = direction == .clientToServer ? clientOffset : serverOffset
            frame += 1
            let segment = SegmentInfo(frame: frame, sequenceNumber: UInt32(truncatingIfNeeded: offset &+ 1), timestampNanoseconds: at(Int64(frame) * 10),
                                      flags: [.ack, .psh], streamOffset: offset, length: bytes.count)
            bytes.withUnsafeBytes { tracker.handle(.data(id, direction, offset: offset, bytes: $0, segment: segment)) }
            if direction == .clientToServer { clientOffset += UInt64(bytes.count) } else { serverOffset += UInt64(bytes.count) }
        }
        let lines = client.split(separator: "|").map(String.init)
        let replies = server.split(separator: "|").map(String.init)
        for i in 0..<max(lines.count, replies.count) {
            if i < replies.count { send(.serverToClient, replies[i]) }
            if i < lines.count { send(.clientToServer, lines[i]) }
        }
        frame += 1
        tracker.handle(.end(id, .clientToServer, reason: .fin, frame: frame, timestampNanoseconds: at(Int64(frame) * 10)))
        tracker.handle(.end(id, .serverToClient, reason: .fin, frame: frame + 1, timestampNanoseconds: at(Int64(frame + 1) * 10)))
        return tracker.close(summary: nil, now: at(Int64(frame + 2) * 10))
    }

    static func info(_ index: Int, port: UInt16) -> FlowInfo {
        FlowInfo(id: FlowID(index), client: Endpoint(address: .v4(0xC000_020A), port: port), server: serverEndpoint,
                 firstFrame: 1, firstTimestampNanoseconds: t0, midstream: false)
    }

    /// First flow: a message left without its reply, a masked banner, a refused recipient.
    static let first = (
        client: "EHLO a.example.org\r\n|MAIL FROM:<a@example.org>\r\n|RCPT TO:<x@example.net>\r\n|RCPT TO:<y@example.net>\r\n|DATA\r\n|Message-ID: <one@example.org>\r\nSubject: first\r\n\r\nbody\r\n.\r\n",
        server: "220 ****************\r\n|250-mx\r\n250 PIPELINING\r\n|250 ok\r\n|550 no such user\r\n|250 ok\r\n|354 go\r\n")
    /// Second flow: two messages, both accepted.
    static let second = (
        client: "EHLO b.example.org\r\n|MAIL FROM:<b@example.org>\r\n|RCPT TO:<z@example.net>\r\n|DATA\r\n|Message-ID: <two@example.org>\r\n\r\nx\r\n.\r\n|MAIL FROM:<>\r\n|RCPT TO:<w@example.net>\r\n|DATA\r\n|Subject: third\r\n\r\ny\r\n.\r\n|QUIT\r\n",
        server: "220 mx.example.net ESMTP\r\n|250-mx.example.net\r\n250 8BITMIME\r\n|250 ok\r\n|250 ok\r\n|354 go\r\n|250 2.0.0 queued as A\r\n|250 ok\r\n|250 ok\r\n|354 go\r\n|250 2.0.0 queued as B\r\n|221 bye\r\n")

    @Test func aReusedTrackerMakesTheRecordANewOneMakes() {
        let shared = FlowTrackerShared<SMTPSession>(options: AnalysisOptions())
        var fresh = FlowTracker(info: Self.info(2, port: 40002), capture: 0, shared: shared)
        let expected = Self.run(&fresh, flow: 2, client: Self.second.client, server: Self.second.server)

        var reused = FlowTracker(info: Self.info(1, port: 40001), capture: 0, shared: shared)
        let firstRecord = Self.run(&reused, flow: 1, client: Self.first.client, server: Self.first.server)
        reused.reuse(info: Self.info(2, port: 40002), capture: 0)
        let got = Self.run(&reused, flow: 2, client: Self.second.client, server: Self.second.server)

        #expect(got == expected)
        // The second flow's record is what its text says, independently of the first flow.
        #expect(got.banner == "220 mx.example.net ESMTP")
        #expect(got.transactions.map(\.messageID) == ["<two@example.org>", nil])
        #expect(got.transactions.map(\.subject) == [nil, "third"])
        #expect(got.transactions.map(\.mailFrom) == ["b@example.org", ""])
        #expect(got.transactions.map(\.rcptTo) == [["z@example.net"], ["w@example.net"]])
        #expect(got.transactions.map { $0.reply?.text } == ["2.0.0 queued as A", "2.0.0 queued as B"])
        #expect(!got.findings.contains { $0.code == .bannerMasked })
        // ... and the first flow's record what its own text says.
        #expect(firstRecord.banner == "220 ****************")
        #expect(firstRecord.findings.contains { $0.code == .bannerMasked })
        #expect(firstRecord.transactions.map(\.rcptTo) == [["y@example.net"]])
        #expect(firstRecord.transactions.map(\.messageID) == ["<one@example.org>"])
    }
}
