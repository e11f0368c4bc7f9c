import Wire

/// Writes frames to a classic pcap file through libpcap (`pcap_dump_open`),
/// with nanosecond timestamps unless asked for microseconds.
public final class PcapWriter {
    /// The file path (`-` = standard output).
    public let path: String
    public let linkType: LinkType
    private let dumper: PcapDumper
    private let nanoseconds: Bool

    /// Creates (or truncates) `path`.
    /// - Throws: ``CaptureError/writeFailed(path:reason:)``.
    public init(path: String, linkType: LinkType, snapshotLength: Int = 262_144, nanosecondTimestamps: Bool = true) throws(CaptureError) {
        guard let dead = PcapHandle.openDead(
            linkType: linkType.rawValue, snapshotLength: Int32(clamping: snapshotLength), nanoseconds: nanosecondTimestamps)
        else { throw .writeFailed(path: path, reason: "libpcap cannot write link type \(linkType.rawValue)") }
        switch dead.openDumper(path: path) {
        case .success(let opened): dumper = opened
        case .failure(let message): throw .writeFailed(path: path, reason: message.text)
        }
        self.path = path
        self.linkType = linkType
        self.nanoseconds = nanosecondTimestamps
    }

    /// Appends one frame. `info.capturedLength` is ignored: the record holds `bytes`.
    /// The frame number and link type in `info` are not stored (pcap has no place for them).
    public func write(_ info: CaptureInfo, _ bytes: UnsafeRawBufferPointer) {
        let (seconds, nanos) = info.timestampNanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        let (wholeSeconds, fraction) = nanos < 0 ? (seconds - 1, nanos + 1_000_000_000) : (seconds, nanos)
        dumper.write(
            seconds: Int(wholeSeconds), fraction: Int(nanoseconds ? fraction : fraction / 1_000),
            capturedLength: UInt32(clamping: bytes.count), wireLength: UInt32(clamping: max(info.wireLength, bytes.count)),
            bytes: bytes)
    }

    /// Appends one frame held in an array.
    public func write(_ info: CaptureInfo, bytes: [UInt8]) {
        bytes.withUnsafeBytes { write(info, $0) }
    }

    /// Pushes buffered records to the file.
    public func flush() throws(CaptureError) {
        if !dumper.flush() { throw .writeFailed(path: path, reason: "flush failed") }
    }

    /// Flushes and closes the file; later writes are ignored. Also done on deinit.
    public func close() throws(CaptureError) {
        defer { dumper.close() }
        try flush()
    }
}
