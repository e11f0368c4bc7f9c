import Reassembly
import SMTP

/// What a ``FlowTracker`` knows about one transaction while the flow runs.
struct TransactionState {
    var index: Int
    var startNanoseconds: Int64
    /// In the tracker's text store (see ``FlowTracker``).
    var mailFrom: SMTPText?
    var rcptTo = ReplyLines([])
    /// What the records keep of the message (not the whole ``MessageSummary``, whose header
    /// text lives in the session's reusable store until it is made into strings here).
    var message: MessageFacts?
    /// DATA or BDAT was sent: the transaction is reported.
    var dataCommandSeen = false
    var dataFrame: UInt64?
    var messageOffset: UInt64?
    var terminator = TerminatorRecord.unseen
    /// The terminator (or BDAT LAST) was seen; the reply to end-of-data is awaited.
    var endOfDataSeen = false
    var reply: ReplyRecord?
    /// The reply came only after the client had given up.
    var replyAfterGiveUp = false
    var gaveUp: GiveUpRecord?
    /// Bytes were lost while the transaction was open.
    var gapped = false
    var messageIncomplete: IncompleteReason?
    var liveReported = false

    // No initializer of its own: `TransactionState(index:startNanoseconds:)` is the memberwise
    // one, which builds the state in place (an initializer assigning the properties one by
    // one built it in a temporary and copied it out).

    var awaitingEndOfDataReply: Bool { endOfDataSeen && reply.isNone }
    var stallDiagnosis: Diagnosis { terminator.isSplit ? .splitTerminatorStall : .unanswered }
}

/// The parts of a ``MessageSummary`` that go into a ``TransactionRecord``, their text copied
/// out of the session's store (reused for the next message) into the tracker's.
struct MessageFacts {
    var messageID: SMTPText?
    var subject: SMTPText?
    var size: UInt64
    var fingerprint: SMTPText
}

// In an extension, handing everything to the memberwise initializer (see ``TransactionState``).
extension MessageFacts {
    init(_ summary: borrowing MessageSummary, texts: inout TextArena) {
        let messageID = summary.messageIDText.map { texts.copy($0) }
        let subject = summary.subjectText.map { texts.copy($0) }
        let fingerprint = texts.copy(summary.fingerprintText)
        self.init(messageID: messageID, subject: subject, size: summary.size, fingerprint: fingerprint)
    }
}

/// How the flow stands when a transaction is judged.
struct FlowMoment {
    var now: Int64
    /// The flow is being closed: anything undecided is decided now.
    var closing: Bool
    /// How the client stream ended, if it has.
    var clientEnd: StreamEndReason?
    /// How the server stream ended, if it has, and when.
    var serverEnd: StreamEndReason?
    var serverEndFrame: UInt64?
    var serverEndNanoseconds: Int64?
    var replyTimeoutNanoseconds: Int64
}

/// The verdict on one transaction.
struct Resolution: Equatable {
    var outcome: Outcome
    var diagnosis: Diagnosis
    /// Set when the verdict rests on the client having waited past the reply timeout.
    var timedOut: GiveUpRecord?
}

extension TransactionState {
    /// The DESIGN.md rules; nil while the outcome is not yet known (live mode).
    func resolve(_ moment: FlowMoment) -> Resolution? {
        if let code = reply?.code {
            let accepted = (200..<300).contains(code)
            if replyAfterGiveUp {
                return Resolution(outcome: accepted ? .acceptedLate : .rejected, diagnosis: stallDiagnosis)
            }
            return accepted ? Resolution(outcome: .accepted, diagnosis: .ok) : Resolution(outcome: .rejected, diagnosis: .rejected)
        }
        if endOfDataSeen { return resolveUnanswered(moment) }
        if messageOffset != nil || messageIncomplete != nil { return resolveWithoutTerminator(moment) }
        guard dataCommandSeen else { return nil }
        // DATA/BDAT sent, neither 354 nor a refusal came back.
        guard moment.closing else { return nil }
        if gapped || !endedForReal(moment) { return Resolution(outcome: .incomplete, diagnosis: .incompleteCapture) }
        return Resolution(outcome: .noReply, diagnosis: .unanswered)
    }

    private func resolveUnanswered(_ moment: FlowMoment) -> Resolution? {
        let noReply = Resolution(outcome: .noReply, diagnosis: stallDiagnosis)
        if gapped {
            // The reply may have been among the lost bytes.
            return moment.closing ? Resolution(outcome: .incomplete, diagnosis: .incompleteCapture) : nil
        }
        if !gaveUp.isNone { return noReply }
        if let serverEnd = moment.serverEnd, serverEnd == .fin || serverEnd == .rst { return noReply }
        if let done = terminator.timeNanoseconds, moment.now &- done > moment.replyTimeoutNanoseconds {
            var result = noReply
            result.timedOut = GiveUpRecord(kind: .timeout, frame: nil, timeNanoseconds: moment.now, waitedNanoseconds: moment.now &- done)
            return result
        }
        return moment.closing ? Resolution(outcome: .incomplete, diagnosis: .incompleteCapture) : nil
    }

    private func resolveWithoutTerminator(_ moment: FlowMoment) -> Resolution? {
        if messageIncomplete == .gap || gapped {
            return moment.closing || messageIncomplete != nil ? Resolution(outcome: .incomplete, diagnosis: .incompleteCapture) : nil
        }
        guard moment.closing || messageIncomplete == .end else { return nil }
        guard endedForReal(moment) else { return Resolution(outcome: .incomplete, diagnosis: .incompleteCapture) }
        return Resolution(outcome: .noTerminator, diagnosis: .terminatorNotReceived)
    }

    /// The connection itself ended (FIN or RST on either side), not just the capture.
    private func endedForReal(_ moment: FlowMoment) -> Bool {
        [moment.clientEnd, moment.serverEnd].contains { $0 == .fin || $0 == .rst }
    }
}

extension TerminatorRecord {
    /// `TerminatorRecord()`, made field by field: the public initialiser builds the frame and
    /// split lists from (empty) arrays, which cost a few hundred instructions per transaction.
    static let unseen = TerminatorRecord(
        seen: false, style: nil, frameList: FrameList(), splitPositions: SplitPositions(),
        timeNanoseconds: nil, spreadNanoseconds: nil, offset: nil)

    /// A seen terminator with its lists given as kept (no arrays), no retransmissions yet.
    init(seen: Bool, style: String?, frameList: FrameList, splitPositions: SplitPositions,
         timeNanoseconds: Int64?, spreadNanoseconds: Int64?, offset: UInt64?) {
        self.seen = seen
        self.style = style
        self.frameList = frameList
        self.splitPositions = splitPositions
        self.timeNanoseconds = timeNanoseconds
        self.spreadNanoseconds = spreadNanoseconds
        self.retransmissionFrames = []
        self.offset = offset
    }
}

extension Optional {
    /// No value, told by the case alone. `x == nil` on an optional of an `Equatable` type
    /// holding references compiled to the `Equatable` comparison: a copy of the value (retains
    /// and releases) for every check.
    @inline(__always)
    var isNone: Bool {
        if case .none = self { return true }
        return false
    }
}
