/// Every limit of the reassembler in one place; reaching one is reported as
/// a ``StreamEvent/limitReached(_:flow:frame:)`` event, never silently.
public struct ReassemblyOptions: Sendable, Hashable {
    /// TCP ports whose connections are followed (either side).
    public var ports: Set<UInt16> = [25, 587, 2525]
    /// Flows tracked at once; the least recently active one is evicted past this.
    public var maxFlows: Int = 100_000
    /// Out-of-order payload bytes buffered per flow (both directions).
    public var maxOutOfOrderBytesPerFlow: Int = 1 << 20
    /// Out-of-order payload bytes buffered over all flows.
    public var maxOutOfOrderBytesTotal: Int = 64 << 20
    /// A flow with no packet for this long (capture time) is ended as `idle`.
    public var idleTimeoutNanoseconds: Int64 = 300 * 1_000_000_000

    public init() {}
}
