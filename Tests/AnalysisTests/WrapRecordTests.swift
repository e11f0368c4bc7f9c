import Testing

@testable import Analysis

/// The field-by-field ways the tracker makes terminator records against the public
/// initialiser they stand for, and the case-only optional check against `== nil`.
@Suite struct WrapRecordTests {
    @Test func unseenRecordIsTheDefaultRecord() {
        #expect(TerminatorRecord.unseen == TerminatorRecord())
        #expect(!TerminatorRecord.unseen.seen)
        #expect(TerminatorRecord.unseen.frames.isEmpty && TerminatorRecord.unseen.splitAfter.isEmpty)
        #expect(TransactionState(index: 0, startNanoseconds: 0).terminator == TerminatorRecord())
    }

    @Test(arguments: [[UInt64](), [7], [7, 8], [1, 2, 3, 4, 5, 6, 7, 8]])
    func recordFromKeptListsMatchesThePublicInitialiser(frames: [UInt64]) {
        let splits = frames.count > 1 ? Array(1..<min(frames.count, 5)) : []
        let made = TerminatorRecord(
            seen: true, style: "crlf", frameList: FrameList(frames), splitPositions: SplitPositions(splits),
            timeNanoseconds: 42, spreadNanoseconds: 3, offset: 99)
        let general = TerminatorRecord(
            seen: true, style: "crlf", frames: frames, splitAfter: splits, timeNanoseconds: 42, spreadNanoseconds: 3,
            retransmissionFrames: [], offset: 99)
        #expect(made == general)
        #expect(made.frames == frames)
        #expect(made.splitAfter == splits)
    }

    @Test func isNoneTellsTheCase() {
        let none: ReplyRecord? = nil
        let some: ReplyRecord? = ReplyRecord(code: 250, text: "ok", frame: 1, timeNanoseconds: 2, latencyNanoseconds: nil)
        #expect(none.isNone)
        #expect(!some.isNone)
        #expect(none.isNone == (none == nil) && some.isNone == (some == nil))
    }
}
