@testable import Analysis
import Reassembly
@testable import SMTP
import Testing
import Wire

/// What a flow's close writes (its Community ID, the findings decided then) goes to one
/// store the stage's trackers share (``FlowTrackerShared/closingTexts``), not to the flow's
/// own: these tests pin that records keep their close-time text whole whether or not they
/// are kept, and that a closing does not grow the store its tracker hands on.
@Suite struct S9FlatClosingTextsTests {
    static let server = Endpoint(address: .v4(0xC633_6419), port: 25)  // 198.51.100.25
    static func client(_ n: Int) -> Endpoint { Endpoint(address: .v4(0xC000_0200 | UInt32(n & 0xFF)), port: UInt16(20_000 + n)) }

    /// Feeds one side's bytes as one segment.
    static func feed(
        _ tracker: inout FlowTracker<SMTPSession>, _ id: FlowID, _ direction: FlowDirection, _ text: String,
        offset: inout UInt64, frame: UInt64, ms: Int64
    ) {
        let bytes = Array(text.utf8)
        let segment = SegmentInfo(frame: frame, sequenceNumber: UInt32(truncatingIfNeeded: offset &+ 1000),
                                  timestampNanoseconds: ms * 1_000_000, flags: [.ack, .psh], streamOffset: offset, length: bytes.count)
        bytes.withUnsafeBytes { tracker.handle(.data(id, direction, offset: offset, bytes: $0, segment: segment)) }
        offset &+= UInt64(bytes.count)
    }

    /// Flow `n`: greeting, EHLO, MAIL, RCPT, DATA, a message with a long Subject (in-flow
    /// text of a few hundred bytes), its end of data never answered; the client resets the
    /// connection 30 s later (frame 100 + n). Its close adds the unanswered end of data and the
    /// reset as findings, and its Community ID.
    static func stalledFlow(_ n: Int, shared: FlowTrackerShared<SMTPSession>, subject: String) -> FlowRecord {
        let id = FlowID(n)
        let info = FlowInfo(id: id, client: client(n), server: server, firstFrame: 1, firstTimestampNanoseconds: 0, midstream: false)
        var tracker = FlowTracker(info: info, capture: 0, shared: shared)
        var c: UInt64 = 0, s: UInt64 = 0
        feed(&tracker, id, .serverToClient, "220 mx.example.net ESMTP\r\n", offset: &s, frame: 2, ms: 1)
        feed(&tracker, id, .clientToServer, "EHLO c\(n).example.org\r\n", offset: &c, frame: 3, ms: 2)
        feed(&tracker, id, .serverToClient, "250 mx.example.net\r\n", offset: &s, frame: 4, ms: 3)
        feed(&tracker, id, .clientToServer, "MAIL FROM:<sender\(n)@example.org>\r\n", offset: &c, frame: 5, ms: 4)
        feed(&tracker, id, .serverToClient, "250 2.1.0 ok\r\n", offset: &s, frame: 6, ms: 5)
        feed(&tracker, id, .clientToServer, "RCPT TO:<rcpt\(n)@example.net>\r\n", offset: &c, frame: 7, ms: 6)
        feed(&tracker, id, .serverToClient, "250 2.1.5 ok\r\n", offset: &s, frame: 8, ms: 7)
        feed(&tracker, id, .clientToServer, "DATA\r\n", offset: &c, frame: 9, ms: 8)
        feed(&tracker, id, .serverToClient, "354 go ahead\r\n", offset: &s, frame: 10, ms: 9)
        feed(&tracker, id, .clientToServer, "Message-ID: <m\(n)@example.org>\r\nSubject: \(subject)\r\n\r\nbody\r\n.\r\n",
             offset: &c, frame: 11, ms: 10)
        tracker.handle(.end(id, .clientToServer, reason: .rst, frame: UInt64(100 + n), timestampNanoseconds: 30_010_000_000))
        return tracker.close(summary: nil, now: 30_010_000_000)
    }

    static func message(_ record: FlowRecord, _ code: FindingCode) -> String? {
        record.findings.first { $0.code == code }?.message
    }

    /// 300 stalled flows, every record kept until all have closed: the store the closings
    /// share is appended to (and replaced when full), never written over, so each record
    /// still reads its own Community ID, reset frame and transaction.
    @Test func keptRecordsKeepTheirCloseTimeText() throws {
        let shared = FlowTrackerShared<SMTPSession>(options: AnalysisOptions())
        var records: [FlowRecord] = []
        for n in 0..<300 { records.append(Self.stalledFlow(n, shared: shared, subject: "report \(n)")) }
        for (n, record) in records.enumerated() {
            #expect(record.communityID == CommunityID.v1(Self.client(n), Self.server))
            #expect(Self.message(record, .reset) == "the client reset the connection (frame \(100 + n))")
            let unanswered = try #require(Self.message(record, .eodUnanswered))
            #expect(unanswered.hasPrefix("transaction 0: end of data in frame 11, no reply in time;"))
            #expect(record.transactions.first?.subject == "report \(n)")
            #expect(record.transactions.first?.messageID == "<m\(n)@example.org>")
        }
    }

    /// The same flows, each record dropped once read: the shared store is reused from its
    /// front, and each flow's own store, filled close to its size while the flow was open,
    /// goes back to the pool at the size it started with (written into it, the close-time
    /// text grew it, and a grown store stays grown for every later flow that takes it).
    @Test func closingLeavesTheFlowStoreAtItsFirstSize() throws {
        let shared = FlowTrackerShared<SMTPSession>(options: AnalysisOptions())
        // In-flow text: banner, sender, recipient, Message-ID, a 480-byte Subject, fingerprint,
        // the client's give-up finding: about 680 of the store's 768 bytes (the close's
        // findings, about 160 more, would not fit).
        let long = String(repeating: "s", count: 480)
        for n in 0..<50 {
            let record = Self.stalledFlow(n, shared: shared, subject: long)
            #expect(record.communityID == CommunityID.v1(Self.client(n), Self.server))
            #expect(Self.message(record, .reset) == "the client reset the connection (frame \(100 + n))")
            #expect(record.transactions.first?.subject == long)
        }
        var sizes: [Int] = []
        while let arena = shared.spareTexts() { sizes.append(arena.storeSize) }
        #expect(!sizes.isEmpty)
        #expect(sizes.allSatisfy { $0 == 768 }, "\(sizes)")
        #expect(shared.closingTexts.storeSize == 2048)
    }
}
