import Testing

@testable import SMTP

/// A reset session keeps its pending-command slots (eight, enough for a pipelined envelope)
/// but lets go of the slots a long unanswered pipeline grew; the next connection reads the
/// same as on a fresh session either way.
@Suite struct S7ConnPendingTrimTests {
    typealias Dialog = S7ConnTextStoreTrimTests

    /// Banner, EHLO answered, then `noops` pipelined NOOPs the server never answers.
    static func pipeline(_ session: inout SMTPSession, noops: Int) -> [SMTPEvent] {
        var events: [SMTPEvent] = []
        var offsets: [SMTPSide: UInt64] = [.client: 0, .server: 0]
        func feed(_ side: SMTPSide, _ text: String) {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBytes { raw in session.feed(side, raw, at: offsets[side] ?? 0) { events.append($0) } }
            offsets[side, default: 0] += UInt64(bytes.count)
        }
        feed(.server, "220 mx.example.net ESMTP\r\n")
        feed(.client, "EHLO client.example.org\r\n")
        feed(.server, "250 mx.example.net\r\n")
        feed(.client, String(repeating: "NOOP\r\n", count: noops))
        return events
    }

    @Test func slotsALongPipelineGrewAreLetGoAtTheReset() {
        var session = SMTPSession()
        _ = Self.pipeline(&session, noops: 100)
        #expect(session.pending.count == 100)
        #expect(session.pending.slotCount >= 100)

        session.reset()
        #expect(session.pending.isEmpty)
        #expect(session.pending.slotCount == 0)

        // Nothing of the unanswered pipeline answers the next connection's commands.
        var fresh = SMTPSession()
        let expected = Dialog.connection(&fresh, subject: "next", id: "two")
        let got = Dialog.connection(&session, subject: "next", id: "two")
        #expect(got.replies == expected.replies)
        #expect(got.summaries == expected.summaries)
        #expect(got.replies.first == "220 mx.example.net ESMTP")
        #expect(got.summaries.map(\.messageID) == ["<two@example.org>"])
    }

    @Test func theUsualSlotsAreKeptAtTheReset() {
        var session = SMTPSession()
        _ = Self.pipeline(&session, noops: 5)
        // Five pipelined commands (as MAIL, three RCPT and DATA) fit the first slots.
        #expect(session.pending.slotCount == 8)
        session.reset()
        #expect(session.pending.isEmpty)
        #expect(session.pending.slotCount == 8)
        var fresh = SMTPSession()
        #expect(Self.pipeline(&session, noops: 3).count == Self.pipeline(&fresh, noops: 3).count)
        #expect(session.pending.count == 3)
    }
}
