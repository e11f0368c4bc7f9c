import Wire

/// Frames held in memory, handed out like a capture file: for tests and for
/// feeding analysis without libpcap.
public final class InMemoryPacketSource: PacketSource {
    /// One frame to hand out.
    public struct Frame: Sendable {
        public var bytes: [UInt8]
        public var timestampNanoseconds: Int64
        /// Length on the wire; defaults to the byte count.
        public var wireLength: Int
        public var linkType: LinkType

        public init(bytes: [UInt8], timestampNanoseconds: Int64, wireLength: Int? = nil, linkType: LinkType = .ethernet) {
            self.bytes = bytes
            self.timestampNanoseconds = timestampNanoseconds
            self.wireLength = wireLength ?? bytes.count
            self.linkType = linkType
        }
    }

    public let name: String
    public let frames: [Frame]
    private var nextIndex = 0

    public init(name: String = "memory", frames: [Frame]) {
        self.name = name
        self.frames = frames
    }

    public func readPackets(_ body: (CaptureInfo, UnsafeRawBufferPointer) -> PacketLoopControl) -> ReadOutcome {
        while nextIndex < frames.count {
            let frame = frames[nextIndex]
            nextIndex += 1
            let info = CaptureInfo(
                frameNumber: UInt64(nextIndex), timestampNanoseconds: frame.timestampNanoseconds,
                capturedLength: frame.bytes.count, wireLength: frame.wireLength, linkType: frame.linkType)
            let control = frame.bytes.withUnsafeBytes { body(info, $0) }
            if control == .stop { return .stopped(framesRead: UInt64(nextIndex)) }
        }
        return .endOfInput(framesRead: UInt64(frames.count))
    }
}
