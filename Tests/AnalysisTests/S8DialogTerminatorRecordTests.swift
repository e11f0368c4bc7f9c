@testable import Analysis
import SMTP
import Testing

/// The end-of-data event writes the transaction's terminator record field by field, in place,
/// where a new record used to replace it whole: whatever the record held before (an earlier
/// end of data's frames, split positions, retransmissions) must be gone, as in a new record.
@Suite struct S8DialogTerminatorRecordTests {
    static func summary(transaction: Int = 0) -> MessageSummary {
        MessageSummary(
            transaction: transaction, mailFrom: "alice@example.org", rcptTo: ["bob@example.net"],
            dataOffset: TrackerHarness.messageOffset, size: 52, messageID: "<m1@example.org>", subject: "hi", date: nil,
            from: nil, to: nil, fingerprint: "f1f1", headersTruncated: false)
    }

    /// BDAT LAST after a DATA end whose terminator was split and resent: the record is the
    /// BDAT one alone (its chunk's frame and time, no spread, no offset, no retransmission).
    @Test func laterEndOfDataWithoutTerminatorReplacesEverything() {
        var h = TrackerHarness()
        h.sendMessage(splitAfter: [2])  // frames 10 and 11, split after byte 2
        h.retransmit(offset: 152, length: 3, frame: 25, ms: 3000)
        h.smtp(.endOfData(Self.summary(), terminator: nil), .client, frame: 40, ms: 4000)
        let t = h.close(now: 5000).transactions[0]
        #expect(t.terminator.seen)
        #expect(t.terminator.style == "bdat")
        #expect(t.terminator.frames == [40])
        #expect(t.terminator.splitAfter == [])
        #expect(t.terminator.timeNanoseconds == at(4000))
        #expect(t.terminator.spreadNanoseconds == 0)
        #expect(t.terminator.retransmissionFrames == [])
        #expect(t.terminator.offset == nil)
    }

    /// A terminator the segment ring does not hold: the record names the event's own frame and
    /// time, no split (the earlier end's split is gone), no spread, the terminator's offset.
    @Test func laterTerminatorOutsideTheRingReplacesEverything() {
        var h = TrackerHarness()
        h.sendMessage(splitAfter: [1, 3])  // frames 10, 11, 12
        h.retransmit(offset: 151, length: 2, frame: 26, ms: 3000)
        h.smtp(.endOfData(Self.summary(), terminator: TerminatorInfo(style: .lfLf, offset: 9000, length: 3)),
               .client, frame: 41, ms: 4100)
        let t = h.close(now: 5000).transactions[0]
        #expect(t.terminator.seen)
        #expect(t.terminator.style == "lf.lf")
        #expect(t.terminator.frames == [41])
        #expect(t.terminator.splitAfter == [])
        #expect(!t.terminator.isSplit)
        #expect(t.terminator.timeNanoseconds == at(4100))
        #expect(t.terminator.spreadNanoseconds == nil)
        #expect(t.terminator.retransmissionFrames == [])
        #expect(t.terminator.offset == 9000)
    }

    /// The usual case, for reference against the two above: frames, split and times from the
    /// ring (frames 10 and 11, 1 ms apart from 1000 ms; split after byte 3).
    @Test func terminatorFromTheRing() {
        var h = TrackerHarness()
        h.sendMessage(splitAfter: [3])
        let t = h.close(now: 5000).transactions[0]
        #expect(t.terminator.style == "crlf")
        #expect(t.terminator.frames == [10, 11])
        #expect(t.terminator.splitAfter == [3])
        #expect(t.terminator.timeNanoseconds == at(1001))
        #expect(t.terminator.spreadNanoseconds == 1_000_000)
        #expect(t.terminator.offset == TrackerHarness.terminatorOffset)
    }
}
