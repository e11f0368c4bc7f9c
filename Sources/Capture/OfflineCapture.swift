import CLibpcap
import Wire

/// A capture file (classic pcap in either byte order, µs or ns, or pcapng)
/// read through libpcap, timestamps in nanoseconds. `-` reads standard input.
public final class OfflineCapture: PacketSource {
    /// The path as given (`-` for standard input).
    public let name: String
    /// The link type of the file's frames (libpcap reads one per file).
    public let linkType: LinkType
    /// The snapshot length in the file header (pcapng: of the first interface).
    public let snapshotLength: Int
    /// The file's container format.
    public let format: Format
    /// The file was written on a machine of the other byte order.
    public let isByteSwapped: Bool
    /// Records whose captured length exceeded the file's snapshot length; libpcap
    /// kept only the first ``snapshotLength`` bytes of each. Nil while none was seen.
    public private(set) var recordsOverSnapshot: RecordsOverSnapshot?

    public enum Format: String, Sendable {
        case pcap, pcapng
    }

    private let handle: PcapHandle
    private var filter: BPFProgram?
    private var framesRead: UInt64 = 0
    /// Where the next classic-pcap record should start, to notice records libpcap
    /// shortened to the snapshot length; nil when the input cannot report positions.
    private var expectedOffset: Int?

    /// Opens `path` (`-` = standard input).
    /// - Throws: ``CaptureError`` when the path is missing, a directory, unreadable or not a capture.
    public init(path: String) throws(CaptureError) {
        if path != "-" {
            switch pathKind(path) {
            case .missing: throw .noSuchFile(path: path)
            case .directory: throw .isDirectory(path: path)
            case .other, .file: break
            }
        }
        switch PcapHandle.openOffline(path: path) {
        case .success(let opened): handle = opened
        case .failure(.missing): throw .noSuchFile(path: path)
        case .failure(.system(let reason)): throw .cannotOpen(path: path, reason: reason)
        case .failure(.libpcap(let reason)):
            // A directory given as standard input shows up here as errno text.
            if reason.contains("Is a directory") { throw .isDirectory(path: path) }
            if reason.contains("file header bytes, only got 0") { throw .notACapture(path: path, reason: "empty file") }
            throw .notACapture(path: path, reason: reason)
        }
        name = path
        linkType = LinkType(rawValue: handle.dataLink)
        snapshotLength = handle.snapshotLength
        format = handle.majorVersion == 2 ? .pcap : .pcapng
        isByteSwapped = handle.isSwapped
        if format == .pcap { expectedOffset = handle.readPosition }
    }

    /// Passes only frames matching the BPF `expression` to ``readPackets(_:)``;
    /// the others are still counted, so frame numbers stay those of the file.
    public func setFilter(_ expression: String) throws(CaptureError) {
        switch handle.compile(expression) {
        case .success(let program): filter = program
        case .failure(let message): throw .invalidFilter(expression: expression, reason: message.text)
        }
    }

    public func readPackets(_ body: (CaptureInfo, UnsafeRawBufferPointer) -> PacketLoopControl) -> ReadOutcome {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        while true {
            let status = handle.nextRecord(header: &header, data: &data)
            guard status == 1, let record = header, let bytes = data else {
                switch handle.outcome(ofStatus: status) {
                case .packet, .timeout:
                    continue  // neither is produced by savefiles
                case .end:
                    return .endOfInput(framesRead: framesRead)
                case .error(let message):
                    return .failed(framesRead: framesRead, reason: ReadFailure(libpcapMessage: message))
                }
            }
            framesRead &+= 1
            let capturedLength = Int(record.pointee.caplen)
            let frame = UnsafeRawBufferPointer(start: bytes, count: capturedLength)
            checkRecordLength(capturedLength)
            if let filter, !filter.matches(UnsafePointer(record), frame) { continue }
            let time = record.pointee.ts
            let info = CaptureInfo(
                frameNumber: framesRead,
                timestampNanoseconds: Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_usec),
                capturedLength: capturedLength,
                wireLength: Int(record.pointee.len),
                linkType: linkType)
            if body(info, frame) == .stop { return .stopped(framesRead: framesRead) }
        }
    }

    /// libpcap silently shortens a record longer than the file's snapshot length
    /// to that length. Such a record comes back exactly `snapshotLength` long, so
    /// only then is the file position (one `lseek`) compared with the expected one.
    private func checkRecordLength(_ capturedLength: Int) {
        guard let expected = expectedOffset else { return }
        let recordHeaderLength = 16
        let next = expected &+ recordHeaderLength &+ capturedLength
        guard capturedLength == snapshotLength else {
            expectedOffset = next
            return
        }
        guard let position = handle.readPosition else {
            expectedOffset = nil
            return
        }
        if position > next {
            let original = position &- expected &- recordHeaderLength
            if recordsOverSnapshot == nil {
                recordsOverSnapshot = RecordsOverSnapshot(firstFrame: framesRead, firstCapturedLength: original, count: 0)
            }
            recordsOverSnapshot?.count += 1
        }
        expectedOffset = position
    }
}

/// Records of a classic pcap file longer than its header's snapshot length (a
/// damaged header); libpcap keeps the first snapshot-length bytes of each.
public struct RecordsOverSnapshot: Sendable, Equatable {
    /// Frame number of the first such record.
    public var firstFrame: UInt64
    /// The captured length that record declared.
    public var firstCapturedLength: Int
    /// How many records were like this.
    public var count: Int

    public init(firstFrame: UInt64, firstCapturedLength: Int, count: Int) {
        self.firstFrame = firstFrame
        self.firstCapturedLength = firstCapturedLength
        self.count = count
    }
}
