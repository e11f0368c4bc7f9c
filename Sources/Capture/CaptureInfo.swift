import Wire

/// Facts about one captured frame, as libpcap reports them.
public struct CaptureInfo: Sendable, Hashable {
    /// 1-based number of the record in the input, counting every record, exactly as Wireshark numbers frames.
    public var frameNumber: UInt64
    /// Capture time in nanoseconds since the Unix epoch.
    public var timestampNanoseconds: Int64
    /// Bytes present in the capture.
    public var capturedLength: Int
    /// Bytes the frame had on the wire.
    public var wireLength: Int
    /// Link-layer type of this frame (pcapng files may mix several).
    public var linkType: LinkType

    public init(frameNumber: UInt64, timestampNanoseconds: Int64, capturedLength: Int, wireLength: Int, linkType: LinkType) {
        self.frameNumber = frameNumber
        self.timestampNanoseconds = timestampNanoseconds
        self.capturedLength = capturedLength
        self.wireLength = wireLength
        self.linkType = linkType
    }
}

/// What a packet callback tells the source to do next.
public enum PacketLoopControl: Sendable {
    case next
    case stop
}
