/// What happened to one transaction, as seen on the wire (DESIGN.md "Output contract").
public enum Outcome: String, Sendable, Hashable, CaseIterable {
    /// A 2xx answered end-of-data (or BDAT LAST) while the client was still waiting.
    case accepted
    /// A 2xx arrived only after the client had given up: the server has the message,
    /// the sender counts the attempt as failed and will send it again.
    case acceptedLate = "accepted_late"
    /// A 4xx/5xx answered end-of-data, DATA or BDAT.
    case rejected
    /// End-of-data was sent and no reply came back.
    case noReply = "no_reply"
    /// Message data arrived but its terminator never did, and the connection ended.
    case noTerminator = "no_terminator"
    /// The transaction ran inside TLS.
    case encrypted
    /// The capture does not show enough to tell.
    case incomplete
}

/// Why a transaction ended the way it did (DESIGN.md "diagnosis").
public enum Diagnosis: String, Sendable, Hashable, CaseIterable {
    case ok
    case rejected
    /// Terminator split across TCP segments, and no reply before the client gave up
    /// (also when the reply came only after that).
    case splitTerminatorStall = "split_terminator_stall"
    /// Receiver side: DATA began, no terminator arrived, the connection ended.
    case terminatorNotReceived = "terminator_not_received"
    /// Terminator in one segment, no reply before the client gave up.
    case unanswered
    case encrypted
    /// Capture began mid-flow, lost bytes inside the transaction, cut payload by
    /// snaplen, or ended before the outcome was decided.
    case incompleteCapture = "incomplete_capture"

    /// The end-of-data went unanswered (with or without a split terminator).
    public var isUnanswered: Bool { self == .splitTerminatorStall || self == .unanswered }
}

/// Finding severity.
public enum Severity: String, Sendable, Hashable, CaseIterable, Comparable {
    case info, warning, error

    private var rank: Int {
        switch self {
        case .info: return 0
        case .warning: return 1
        case .error: return 2
        }
    }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}
