/// Every limit of the reassembler in one place; reaching one is reported as
/// a ``StreamEvent/limitReached(_:flow:frame:)`` event, never silently.
public struct ReassemblyOptions: Sendable, Hashable {
    /// TCP ports whose connections are followed (either side).
    public var ports: Set<UInt16> = [25, 587, 2525]
    /// Flows tracked at once; the least recently active one is evicted past this.
    public var maxFlows: Int = 100_000
    /// Out-of-order payload bytes buffered per flow (both directions).
    public var maxOutOfOrderBytesPerFlow: Int = 1 << 20
    /// Out-of-order payload bytes buffered over all flows. Within one
    /// `process` call the total may exceed this by at most one segment's
    /// payload before the oldest flows are flushed.
    public var maxOutOfOrderBytesTotal: Int = 64 << 20
    /// A flow with no packet for this long (capture time) is ended as `idle`.
    public var idleTimeoutNanoseconds: Int64 = 300 * 1_000_000_000
    /// A closed flow's tuple is kept this long (capture time) after its last packet, so that
    /// late ACKs, repeated FINs and retransmissions do not open a new flow; a packet then
    /// restarts the wait. Only the tuple and a time are kept (not the flow's state), so
    /// memory depends on connections per retention period, not on capture length.
    public var closedFlowRetentionNanoseconds: Int64 = 60 * 1_000_000_000
    /// Closed tuples kept at once; past this the oldest is forgotten first
    /// (counted in ``ReassemblyStatistics/closedFlowsDropped``).
    public var maxClosedFlows: Int = 100_000
    /// Out-of-order pieces buffered per direction (bounds the cost of many tiny segments).
    public var maxOutOfOrderSegmentsPerDirection: Int = 4096
    /// A hole with data buffered behind it is forced out as a gap once it has
    /// been open this long (capture time), checked when the flow sees a packet.
    public var outOfOrderTimeoutNanoseconds: Int64 = 120 * 1_000_000_000
    /// Delivered bytes kept per direction to compare retransmissions of
    /// already-delivered data (0...64); older repeats are counted as not compared.
    public var comparedTailBytes: Int = 64

    public init() {}
}
