/// Counters of what the reassembler saw and set aside; every packet or byte
/// that does not become an event is counted here, so nothing is dropped silently.
public struct ReassemblyStatistics: Sendable, Hashable {
    /// Segments handed to ``TCPReassembler/process(_:payload:frame:timestampNanoseconds:emit:)`` on a followed port.
    public var packets: UInt64 = 0
    /// Segments on no followed port.
    public var packetsIgnored: UInt64 = 0
    public var flowsOpened: UInt64 = 0
    public var flowsEvicted: UInt64 = 0
    /// Flows ended because a new SYN with a different ISN reused the tuple.
    public var flowsReused: UInt64 = 0
    /// Payload bytes delivered in order straight from the caller's buffer (no copy).
    public var bytesDeliveredInPlace: UInt64 = 0
    /// Payload bytes delivered from out-of-order storage.
    public var bytesDeliveredFromStorage: UInt64 = 0
    /// Segments that arrived ahead of a hole and were copied into storage.
    public var outOfOrderSegments: UInt64 = 0
    /// Segments that repeated bytes already seen (reported as events).
    public var retransmittedSegments: UInt64 = 0
    /// Repeated bytes whose first-seen copy was no longer kept, so they could not be compared.
    public var retransmittedBytesNotCompared: UInt64 = 0
    /// Repeated ranges whose bytes differed from the first-seen ones.
    public var conflictingRanges: UInt64 = 0
    public var keepAlives: UInt64 = 0
    public var zeroWindowProbes: UInt64 = 0
    /// SYNs repeating a known ISN.
    public var duplicateSyns: UInt64 = 0
    /// SYN+ACKs whose ISN disagrees with the one already known (ignored).
    public var unexpectedSyns: UInt64 = 0
    /// Payload bytes beyond a FIN (ignored).
    public var bytesAfterFin: UInt64 = 0
    /// Payload bytes before stream offset 0 (before the SYN or the first byte seen mid-stream).
    public var bytesBeforeStreamStart: UInt64 = 0
    /// Segments of a direction that had already ended (ignored).
    public var segmentsAfterEnd: UInt64 = 0
    /// Packets of a tuple whose flow was already closed (late ACKs, repeated FINs).
    public var packetsAfterClose: UInt64 = 0
    /// Closed tuples forgotten before their retention ended because ``ReassemblyOptions/maxClosedFlows`` was reached.
    public var closedFlowsDropped: UInt64 = 0
    /// RSTs whose sequence number was outside the receive window (ignored).
    public var outOfWindowResets: UInt64 = 0
    /// ACKs too far ahead to be plausible (ignored for capture-loss detection).
    public var implausibleAcks: UInt64 = 0
    /// Bytes reported as ``GapReason/captureLoss``.
    public var captureLossBytes: UInt64 = 0
    /// Bytes reported as ``GapReason/limit``.
    public var limitGapBytes: UInt64 = 0
    /// Bytes reported as ``GapReason/snaplen``.
    public var snaplenGapBytes: UInt64 = 0
    /// Bytes reported as ``GapReason/holeAtEnd``.
    public var holeAtEndBytes: UInt64 = 0
    /// Highest number of flows (including closed tuples kept to absorb late packets) held at once.
    public var peakFlows: Int = 0
    /// Highest number of out-of-order bytes held at once over all flows.
    public var peakOutOfOrderBytes: Int = 0

    public init() {}
}
