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
    /// Limits of the TCP reassembler.
    public var reassembly = ReassemblyOptions()
    /// Limits of the SMTP dialog machine.
    public var smtp = SMTPOptions()

    public init() {}
}
