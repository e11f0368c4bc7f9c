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

    @inlinable
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
/// fixed storage: no allocation per segment. Sixteen bytes: which optional values are present
/// is one bit each, so a decoder writes the common NOP, NOP, Timestamps options in two stores
/// (as separate optionals they took about 30 instructions per segment to build and copy).
/// Absent values are stored as 0, so equal options have equal storage (`Hashable`).
public struct TCPOptions: Hashable, Sendable {
    @usableFromInline var present: UInt8 = 0
    public var sackPermitted: Bool
    /// Number of SACK blocks in the segment (their edges are not kept).
    public var sackBlockCount: UInt8
    @usableFromInline var windowScaleStorage: UInt8 = 0
    @usableFromInline var maximumSegmentSizeStorage: UInt16 = 0
    @usableFromInline var timestampValueStorage: UInt32 = 0
    @usableFromInline var timestampEchoStorage: UInt32 = 0

    private static let hasMaximumSegmentSize: UInt8 = 1
    private static let hasWindowScale: UInt8 = 2
    private static let hasTimestampValue: UInt8 = 4
    private static let hasTimestampEcho: UInt8 = 8

    public init(
        maximumSegmentSize: UInt16? = nil, windowScale: UInt8? = nil, sackPermitted: Bool = false,
        sackBlockCount: UInt8 = 0, timestampValue: UInt32? = nil, timestampEcho: UInt32? = nil
    ) {
        self.sackPermitted = sackPermitted
        self.sackBlockCount = sackBlockCount
        self.maximumSegmentSize = maximumSegmentSize
        self.windowScale = windowScale
        self.timestampValue = timestampValue
        self.timestampEcho = timestampEcho
    }

    /// Only Timestamps (the decoder's fast path; inlinable with it). The bits are
    /// ``hasTimestampValue`` | ``hasTimestampEcho``, literals here (no addressor call).
    @inlinable @inline(__always)
    init(timestamps value: UInt32, echo: UInt32) {
        sackPermitted = false
        sackBlockCount = 0
        present = 4 | 8
        timestampValueStorage = value
        timestampEchoStorage = echo
    }

    public var maximumSegmentSize: UInt16? {
        get { present & Self.hasMaximumSegmentSize != 0 ? maximumSegmentSizeStorage : nil }
        set { maximumSegmentSizeStorage = Self.store(newValue, flag: Self.hasMaximumSegmentSize, present: &present) }
    }

    public var windowScale: UInt8? {
        get { present & Self.hasWindowScale != 0 ? windowScaleStorage : nil }
        set { windowScaleStorage = Self.store(newValue, flag: Self.hasWindowScale, present: &present) }
    }

    public var timestampValue: UInt32? {
        get { present & Self.hasTimestampValue != 0 ? timestampValueStorage : nil }
        set { timestampValueStorage = Self.store(newValue, flag: Self.hasTimestampValue, present: &present) }
    }

    public var timestampEcho: UInt32? {
        get { present & Self.hasTimestampEcho != 0 ? timestampEchoStorage : nil }
        set { timestampEchoStorage = Self.store(newValue, flag: Self.hasTimestampEcho, present: &present) }
    }

    /// The stored form of `value` (0 when absent), with its bit in `present` set or cleared.
    @inline(__always)
    private static func store<Value: FixedWidthInteger>(_ value: Value?, flag: UInt8, present: inout UInt8) -> Value {
        guard let value else {
            present &= ~flag
            return 0
        }
        present |= flag
        return value
    }
}
