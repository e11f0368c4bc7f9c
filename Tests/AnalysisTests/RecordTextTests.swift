@testable import Analysis
import Reassembly
@testable import SMTP
import Testing
import Wire

/// Records keep their text in the tracker's recycled text store (`FlowTracker.texts`): a
/// record must read the same for as long as it lives, whatever later flows the tracker
/// follows, and the store is reused from its front only once no record refers to it.
@Suite struct RecordTextTests {
    typealias Run = TrackerReuseTests

    /// The store a kept text lives in (nil for a `String` text).
    static func store(of text: SMTPText?) -> ObjectIdentifier? {
        guard let text, case .stored(let store, _, _) = text.storage else { return nil }
        return ObjectIdentifier(store)
    }

    /// A flow like `TrackerReuseTests.second` whose every text names `n`.
    static func later(_ n: Int) -> (client: String, server: String) {
        (client: "EHLO h\(n).example.org\r\n|MAIL FROM:<sender\(n)@example.org>\r\n|RCPT TO:<rcpt\(n)@example.net>\r\n|DATA\r\n|Message-ID: <msg\(n)@example.org>\r\nSubject: number \(n)\r\n\r\nbody \(n)\r\n.\r\n|QUIT\r\n",
         server: "220 mx\(n).example.net ESMTP ready\r\n|250-mx\(n)\r\n250 8BITMIME\r\n|250 ok\r\n|250 ok\r\n|354 go\r\n|250 2.0.0 queued as Q\(n)\r\n|221 bye\r\n")
    }

    @Test func aRecordReadsTheSameAfterManyLaterFlowsOfItsTracker() {
        let shared = FlowTrackerShared<SMTPSession>(options: AnalysisOptions())
        var tracker = FlowTracker(info: Run.info(1, port: 40001), capture: 0, shared: shared)
        let kept = Run.run(&tracker, flow: 1, client: Run.second.client, server: Run.second.server)
        var writer = JSONByteWriter()
        writer.flow(kept)
        let lineBefore = writer.bytes

        // 200 later flows through the same tracker, each with its own (longer) text, so the
        // store fills and is replaced several times while `kept` refers to its first one.
        for n in 2...201 {
            tracker.reuse(info: Run.info(n, port: UInt16(40000 + n)), capture: 0)
            let text = Self.later(n)
            let record = Run.run(&tracker, flow: n, client: text.client, server: text.server)
            #expect(record.transactions.first?.mailFrom == "sender\(n)@example.org")
            #expect(record.transactions.first?.reply?.text == "2.0.0 queued as Q\(n)")
        }

        // The literal text of TrackerReuseTests.second, and the very same JSON line.
        #expect(kept.banner == "220 mx.example.net ESMTP")
        #expect(kept.transactions.map(\.mailFrom) == ["b@example.org", ""])
        #expect(kept.transactions.map(\.rcptTo) == [["z@example.net"], ["w@example.net"]])
        #expect(kept.transactions.map(\.messageID) == ["<two@example.org>", nil])
        #expect(kept.transactions.map(\.subject) == [nil, "third"])
        #expect(kept.transactions.map { $0.reply?.text } == ["2.0.0 queued as A", "2.0.0 queued as B"])
        #expect(kept.communityID == CommunityID.v1(kept.client.endpoint, kept.server.endpoint))
        writer.reset()
        writer.flow(kept)
        #expect(writer.bytes == lineBefore)
    }

    /// Every store the texts `record`'s flow wrote while open live in (what its close wrote,
    /// the Community ID, is in the stage's closing store, shared by every record: appended
    /// to while a record refers to it, see ``FlowTrackerShared/closingTexts``).
    static func stores(of record: FlowRecord) -> Set<ObjectIdentifier> {
        var texts: [SMTPText?] = [record.bannerText]
        for transaction in record.transactions {
            texts += [transaction.mailFromText, transaction.messageIDText, transaction.subjectText, transaction.fingerprintText, transaction.reply?.textValue]
        }
        return Set(texts.compactMap { store(of: $0) })
    }

    @Test func theStoreIsReusedOnceNoRecordRefersToIt() throws {
        let shared = FlowTrackerShared<SMTPSession>(options: AnalysisOptions())
        var tracker = FlowTracker(info: Run.info(1, port: 40001), capture: 0, shared: shared)
        var first: FlowRecord? = Run.run(&tracker, flow: 1, client: Run.second.client, server: Run.second.server)
        let firstStores = try #require(first.map(Self.stores))
        // The banner (24 bytes) is the flow's first kept text, then the MAIL FROM address.
        let firstStart = first?.transactions.first?.mailFromText?.storage.start
        #expect(firstStart == 24)

        // Kept: the next flow writes into other stores, never over the first record's text.
        tracker.reuse(info: Run.info(2, port: 40002), capture: 0)
        let second = Run.run(&tracker, flow: 2, client: Self.later(2).client, server: Self.later(2).server)
        #expect(first?.transactions.first?.mailFrom == "b@example.org")
        #expect(second.transactions.first?.mailFrom == "sender2@example.org")
        if let firstRecord = first {
            #expect(firstRecord.communityID == CommunityID.v1(firstRecord.client.endpoint, firstRecord.server.endpoint))
            #expect(firstRecord.communityID != second.communityID)
        }
        #expect(second.communityID == CommunityID.v1(second.client.endpoint, second.server.endpoint))
        let secondStores = Self.stores(of: second)
        #expect(secondStores.isDisjoint(with: firstStores))

        // Dropped: the store the second flow wrote last goes back to the pool, and the next
        // flow writes it again from its front (no new store).
        first = nil
        _ = consume second
        tracker.reuse(info: Run.info(3, port: 40003), capture: 0)
        let third = Run.run(&tracker, flow: 3, client: Run.second.client, server: Run.second.server)
        #expect(third.transactions.first?.mailFrom == "b@example.org")
        let thirdStore = try #require(Self.store(of: third.transactions.first?.mailFromText))
        #expect(secondStores.contains(thirdStore))
        // The same text at the same place as the first flow's: written from the front again.
        #expect(third.transactions.first?.mailFromText?.storage.start == firstStart)
    }

    @Test func frameListsCompareAsTheirFrames() {
        var grown = FrameList()
        for frame: UInt64 in [5, 9, 12, 40] { grown.append(frame) }
        #expect(Array(grown) == [5, 9, 12, 40])
        #expect(grown == FrameList([5, 9, 12, 40]))
        #expect(FrameList([5, 9]) != FrameList([5, 9, 12]))
        #expect(FrameList(7) == FrameList([7]))
        #expect(Array(FrameList()) == [])
        var record = TerminatorRecord(seen: true, frames: [3, 4, 5])
        #expect(record.frames == [3, 4, 5])
        record.frames = [8]
        #expect(record.frameList == FrameList(8))
    }
}

extension SMTPText.Storage {
    /// Where a stored text starts in its store (nil for a `String` text).
    var start: Int32? {
        if case .stored(_, let start, _) = self { return start }
        return nil
    }
}

extension EndpointRecord {
    /// The endpoint this record prints (IPv4 text in these tests).
    var endpoint: Endpoint {
        let parts = ip.split(separator: ".").compactMap { UInt32($0) }
        let value = parts.reduce(UInt32(0)) { $0 << 8 | $1 }
        return Endpoint(address: .v4(value), port: port)
    }
}
