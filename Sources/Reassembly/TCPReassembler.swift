import Wire

/// Reassembles TCP connections on SMTP ports into per-direction byte streams
/// that keep, for every byte, the segment that carried it.
public struct TCPReassembler {
    public var options: ReassemblyOptions

    public init(options: ReassemblyOptions = ReassemblyOptions()) {
        self.options = options
    }

    /// Feeds one decoded segment. Events are emitted synchronously through `emit`.
    public mutating func process(
        _ segment: TCPSegment, payload: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64,
        emit: (StreamEvent) -> Void
    ) {
        // Placeholder until reassembly lands; see ReassemblyTests.
    }

    /// Advances the capture clock (live mode's idle tick): expires idle flows.
    public mutating func advanceClock(to timestampNanoseconds: Int64, emit: (StreamEvent) -> Void) {}

    /// End of input: every open flow ends with `captureEnd` and is closed.
    public mutating func finish(emit: (StreamEvent) -> Void) {}
}
