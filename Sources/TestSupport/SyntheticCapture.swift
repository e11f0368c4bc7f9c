import Capture
import Foundation
import Wire

/// Writes frames (e.g. from PacketBuilder) to a temporary pcap file through
/// Capture's libpcap writer, so tests can read synthetic traffic exactly like a recorded capture.
public enum SyntheticCapture {
    /// A new, not yet existing path in a fresh temporary folder.
    public static func temporaryPath(named name: String = "synthetic.pcap") throws -> URL {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("smtpscope-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder.appendingPathComponent(name)
    }

    /// Writes `frames` in order to a temporary pcap file of `linkType` and returns its location.
    /// Frame `i` gets timestamp `start + i * spacing` unless the frame carries its own.
    public static func write(
        _ frames: [InMemoryPacketSource.Frame], linkType: LinkType = .ethernet,
        nanosecondTimestamps: Bool = true, snapshotLength: Int = 262_144, named name: String = "synthetic.pcap"
    ) throws -> URL {
        let url = try temporaryPath(named: name)
        let writer = try PcapWriter(
            path: url.path, linkType: linkType, snapshotLength: snapshotLength, nanosecondTimestamps: nanosecondTimestamps)
        for (index, frame) in frames.enumerated() {
            let info = CaptureInfo(
                frameNumber: UInt64(index + 1), timestampNanoseconds: frame.timestampNanoseconds,
                capturedLength: frame.bytes.count, wireLength: frame.wireLength, linkType: linkType)
            writer.write(info, bytes: frame.bytes)
        }
        try writer.close()
        return url
    }

    /// Writes raw frames with timestamps one millisecond apart, starting at `startNanoseconds`.
    public static func write(
        frames: [[UInt8]], linkType: LinkType = .ethernet, startNanoseconds: Int64 = 1_700_000_000_000_000_000,
        named name: String = "synthetic.pcap"
    ) throws -> URL {
        let held = frames.enumerated().map { index, bytes in
            InMemoryPacketSource.Frame(
                bytes: bytes, timestampNanoseconds: startNanoseconds + Int64(index) * 1_000_000, linkType: linkType)
        }
        return try write(held, linkType: linkType, named: name)
    }
}
