import Wire

/// Index of a TCP connection on an SMTP port, in order of its first frame (0-based).
public struct FlowID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var index: Int
    public init(_ index: Int) { self.index = index }
    public static func < (a: FlowID, b: FlowID) -> Bool { a.index < b.index }
    public var description: String { String(index) }
}

/// The two byte streams of a connection.
public enum FlowDirection: Sendable, Hashable {
    /// From the side that sent the SYN (or, mid-stream, the side not on an SMTP port).
    case clientToServer
    case serverToClient
}

/// Where a run of stream bytes came from: one TCP segment as captured.
public struct SegmentInfo: Sendable, Hashable {
    /// 1-based frame number of the frame that carried the segment.
    public var frame: UInt64
    /// The segment's TCP sequence number.
    public var sequenceNumber: UInt32
    /// Capture time of the frame, nanoseconds since the Unix epoch.
    public var timestampNanoseconds: Int64
    public var flags: TCPFlags
    /// Stream offset of the segment's first payload byte (0 = first byte after the SYN).
    public var streamOffset: UInt64
    /// Payload bytes of the segment (as captured).
    public var length: Int

    public init(frame: UInt64, sequenceNumber: UInt32, timestampNanoseconds: Int64, flags: TCPFlags, streamOffset: UInt64, length: Int) {
        self.frame = frame
        self.sequenceNumber = sequenceNumber
        self.timestampNanoseconds = timestampNanoseconds
        self.flags = flags
        self.streamOffset = streamOffset
        self.length = length
    }
}

/// Facts known when a flow is first seen.
public struct FlowInfo: Sendable, Hashable {
    public var id: FlowID
    public var client: Endpoint
    public var server: Endpoint
    public var firstFrame: UInt64
    public var firstTimestampNanoseconds: Int64
    /// The handshake was not captured; roles come from the SMTP port.
    public var midstream: Bool

    public init(id: FlowID, client: Endpoint, server: Endpoint, firstFrame: UInt64, firstTimestampNanoseconds: Int64, midstream: Bool) {
        self.id = id
        self.client = client
        self.server = server
        self.firstFrame = firstFrame
        self.firstTimestampNanoseconds = firstTimestampNanoseconds
        self.midstream = midstream
    }
}

/// Why a direction's stream ended.
public enum StreamEndReason: String, Sendable, Hashable {
    case fin, rst, idle
    /// The input ended with the direction still open.
    case captureEnd = "capture_end"
    /// A limit evicted the flow.
    case evicted
    /// A new connection (a SYN with a different ISN) reused the tuple before this direction ended.
    case portReuse = "port_reuse"
}

/// Why bytes are missing from a stream.
public enum GapReason: String, Sendable, Hashable {
    /// The peer acknowledged bytes the capture never saw.
    case captureLoss = "capture_loss"
    /// An out-of-order hole that a buffer limit forced out.
    case limit
    /// A hole still open when the stream ended.
    case holeAtEnd = "hole_at_end"
    /// The snapshot length cut the segment's payload.
    case snaplen
}

/// The limits of the reassembler that can be hit.
public enum ReassemblyLimit: String, Sendable, Hashable {
    case maxFlows = "max_flows"
    case outOfOrderBytesPerFlow = "out_of_order_bytes_per_flow"
    case outOfOrderBytesTotal = "out_of_order_bytes_total"
    /// Too many out-of-order pieces in one direction (``ReassemblyOptions/maxOutOfOrderSegmentsPerDirection``).
    case outOfOrderSegmentsPerDirection = "out_of_order_segments_per_direction"
    /// A hole stayed open too long (``ReassemblyOptions/outOfOrderTimeoutNanoseconds``).
    case outOfOrderTimeout = "out_of_order_timeout"
}

/// One thing the reassembler has to say. Events are handed to a callback
/// synchronously; `bytes` in ``data`` is borrowed and valid only during that call.
public enum StreamEvent {
    /// A new flow on an SMTP port.
    case opened(FlowInfo)
    /// New in-order bytes at stream `offset`, all carried by `segment`
    /// (a segment that overlapped bytes already delivered contributes only its new part).
    case data(FlowID, FlowDirection, offset: UInt64, bytes: UnsafeRawBufferPointer, segment: SegmentInfo)
    /// A segment repeated stream bytes `[offset, offset+length)` already seen;
    /// `conflicting` when its bytes differ from the first-seen ones (kept).
    case retransmission(FlowID, FlowDirection, offset: UInt64, length: Int, segment: SegmentInfo, conflicting: Bool)
    /// `length` stream bytes at `offset` will never be delivered.
    case gap(FlowID, FlowDirection, offset: UInt64, length: UInt64, reason: GapReason)
    /// The direction ended; `frame`/`timestamp` of the FIN or RST, or of the last packet for idle/capture end.
    case end(FlowID, FlowDirection, reason: StreamEndReason, frame: UInt64, timestampNanoseconds: Int64)
    /// Both directions ended; the flow is forgotten after this event.
    case closed(FlowID, FlowSummary)
    /// A limit was reached; `flow` is the one evicted or flushed, if any.
    case limitReached(ReassemblyLimit, flow: FlowID?, frame: UInt64)
}

/// What the reassembler knows about a flow when it is forgotten.
public struct FlowSummary: Sendable, Hashable {
    public var lastFrame: UInt64
    public var lastTimestampNanoseconds: Int64
    public var packets: UInt64
    /// Which side sent the first FIN or RST, if any.
    public var closedBy: FlowDirection?
    /// The first RST seen, if any.
    public var resetBy: FlowDirection?

    public init(lastFrame: UInt64, lastTimestampNanoseconds: Int64, packets: UInt64, closedBy: FlowDirection?, resetBy: FlowDirection?) {
        self.lastFrame = lastFrame
        self.lastTimestampNanoseconds = lastTimestampNanoseconds
        self.packets = packets
        self.closedBy = closedBy
        self.resetBy = resetBy
    }
}
