import Wire

/// Keeps every frame of a live capture in pcap files: one file, or a new one each
/// time the current one reaches a size limit (named as tcpdump `-C` names them:
/// `out.pcap`, `out.pcap1`, `out.pcap2`, …).
public final class LiveRecorder {
    /// The first file's path.
    public let path: String
    /// Start a new file once the current one holds this many bytes (nil: never).
    public let rotateBytes: Int?
    /// Paths written so far, in order.
    public private(set) var files: [String]

    private let linkType: LinkType
    private let snapshotLength: Int
    private let nanoseconds: Bool
    private var writer: PcapWriter
    private var bytesInFile: Int

    /// pcap file header and per-record header sizes (bytes).
    private static let fileHeader = 24
    private static let recordHeader = 16

    /// Creates (or truncates) `path`.
    /// - Throws: ``CaptureError/writeFailed(path:reason:)``.
    public init(path: String, linkType: LinkType, snapshotLength: Int, nanosecondTimestamps: Bool, rotateBytes: Int? = nil) throws(CaptureError) {
        self.path = path
        self.rotateBytes = rotateBytes.map { max($0, 1) }
        self.linkType = linkType
        self.snapshotLength = snapshotLength
        self.nanoseconds = nanosecondTimestamps
        writer = try PcapWriter(path: path, linkType: linkType, snapshotLength: snapshotLength, nanosecondTimestamps: nanosecondTimestamps)
        files = [path]
        bytesInFile = Self.fileHeader
    }

    /// Appends one frame, first moving to a new file when the current one is full.
    public func write(_ info: CaptureInfo, _ bytes: UnsafeRawBufferPointer) throws(CaptureError) {
        let size = Self.recordHeader + bytes.count
        if let limit = rotateBytes, bytesInFile > Self.fileHeader, bytesInFile + size > limit {
            try writer.close()
            let next = path + String(files.count)
            writer = try PcapWriter(path: next, linkType: linkType, snapshotLength: snapshotLength, nanosecondTimestamps: nanoseconds)
            files.append(next)
            bytesInFile = Self.fileHeader
        }
        writer.write(info, bytes)
        bytesInFile += size
    }

    /// Pushes buffered records to disk, so the evidence survives a crash.
    public func flush() throws(CaptureError) { try writer.flush() }

    /// Flushes and closes the current file.
    public func close() throws(CaptureError) { try writer.close() }
}
