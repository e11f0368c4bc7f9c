/// The decoded headers of one TCP segment; scalars only, so it can be kept
/// after the frame's bytes are gone. The payload itself is handed out
/// separately, borrowed, by ``PacketDecoder``.
public struct TCPSegment: Sendable {
    /// Sender (IP source address and TCP source port).
    public var source: Endpoint
    /// Receiver (IP destination address and TCP destination port).
    public var destination: Endpoint
    public var sequenceNumber: UInt32
    public var acknowledgmentNumber: UInt32
    public var flags: TCPFlags
    public var window: UInt16
    public var options: TCPOptions
    /// Payload bytes present in the capture (what the borrowed payload buffer holds).
    public var payloadLength: Int
    /// Payload bytes the segment carried on the wire, from the IP length
    /// fields. Larger than ``payloadLength`` when the snapshot length cut the frame.
    public var wirePayloadLength: Int

    public init(
        source: Endpoint, destination: Endpoint, sequenceNumber: UInt32, acknowledgmentNumber: UInt32,
        flags: TCPFlags, window: UInt16, options: TCPOptions = TCPOptions(), payloadLength: Int,
        wirePayloadLength: Int? = nil
    ) {
        self.source = source
        self.destination = destination
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.window = window
        self.options = options
        self.payloadLength = payloadLength
        self.wirePayloadLength = wirePayloadLength ?? payloadLength
    }

    /// True when the snapshot length cut off part of the payload.
    public var isPayloadTruncated: Bool { wirePayloadLength > payloadLength }
}

/// The TCP options smtpscope reads (RFC 9293, RFC 7323, RFC 2018), kept in
/// fixed storage: no allocation per segment.
public struct TCPOptions: Hashable, Sendable {
    public var maximumSegmentSize: UInt16?
    public var windowScale: UInt8?
    public var sackPermitted: Bool
    /// Number of SACK blocks in the segment (their edges are not kept).
    public var sackBlockCount: UInt8
    public var timestampValue: UInt32?
    public var timestampEcho: UInt32?

    public init(
        maximumSegmentSize: UInt16? = nil, windowScale: UInt8? = nil, sackPermitted: Bool = false,
        sackBlockCount: UInt8 = 0, timestampValue: UInt32? = nil, timestampEcho: UInt32? = nil
    ) {
        self.maximumSegmentSize = maximumSegmentSize
        self.windowScale = windowScale
        self.sackPermitted = sackPermitted
        self.sackBlockCount = sackBlockCount
        self.timestampValue = timestampValue
        self.timestampEcho = timestampEcho
    }
}
