import Reassembly
import SMTP

/// Everything that tunes an analysis run; nothing global.
public struct AnalysisOptions: Sendable {
    /// TCP ports whose connections are followed (default 25, 587, 2525).
    public var ports: Set<UInt16> {
        get { reassembly.ports }
        set { reassembly.ports = newValue }
    }
    /// How long a client is assumed to wait for the reply to end-of-data. When the
    /// capture ends (or, live, the clock passes) this long after the terminator with no
    /// reply, the transaction counts as unanswered rather than as cut off by the capture.
    public var replyTimeoutNanoseconds: Int64 = 30 * 1_000_000_000
    /// A QUIT or RSET sent this soon after the terminator is taken as pipelined (RFC 2920),
    /// not as the client giving up.
    public var pipelinedCommandGraceNanoseconds: Int64 = 1_000_000_000
    /// Attempts of the same message seen in different captures whose starts lie this
    /// close are one attempt seen from two vantage points (e.g. both sides of a firewall).
    public var crossCaptureWindowNanoseconds: Int64 = 5 * 1_000_000_000
    /// Client segments remembered per flow to work out terminator geometry (a terminator
    /// spans at most 5; the rest covers a DATA line that shares a segment with it).
    public var segmentRingCapacity: Int = 16
    /// Evidence frames kept per finding.
    public var maxEvidenceFrames: Int = 32
    /// Keep every closed flow's record until ``Analyzer/finish()`` hands them back (`analyze`
    /// prints them at the end). Off, the run keeps only counters and the message table, so
    /// its memory does not grow with the number of flows (`live` prints each flow as it closes).
    public var retainFlowRecords = true
    /// Transactions (MAIL … end of data) followed per connection. A connection that starts
    /// more is followed no further: a `capture.limit_reached` finding says where, and its
    /// unfinished transactions are incomplete. Bounds a tracker on a connection that never ends.
    public var maxTransactionsPerFlow: Int = 10_000
    /// Message identities (Message-ID, or fingerprint plus envelope) correlation follows at
    /// most, about 63 bytes each for one seen once (`MessageTableMemoryBenchmark`);
    /// beyond it the least recently seen is forgotten and counted (summary `correlation_evicted`;
    /// a forgotten message seen twice or more still counts in the summary, but prints no record
    /// at the end). A retry later than this many other messages goes unnoticed.
    public var maxCorrelatedMessages: Int = 50_000
    /// Transactions correlation keeps per message; beyond it the earliest is forgotten and counted.
    public var maxTransactionsPerMessage: Int = 64
    /// Limits of the TCP reassembler.
    public var reassembly = ReassemblyOptions()
    /// Limits of the SMTP dialog machine.
    public var smtp = SMTPOptions()

    public init() {}
}

extension AnalysisOptions {
    /// The ports smtpscope follows unless told otherwise: SMTP (25), submission (587) and the common alternative 2525.
    public static let defaultPorts: [UInt16] = [25, 587, 2525]
}
