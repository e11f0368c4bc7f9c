import Capture
import Wire

/// Writes frames to the pcap file through Capture's libpcap writer and keeps
/// the counts the truth file and the traffic mix need.
final class FrameSink {
    private let writer: PcapWriter
    /// Frames written so far; also the number of the last one (1-based, as Wireshark).
    private(set) var frames: UInt64 = 0
    /// Bytes of the file so far: 24-byte file header, 16 per record header, the frames.
    private(set) var fileBytes = 24
    /// Frame bytes of SMTP connections, and of everything else.
    private(set) var smtpBytes = 0
    private(set) var otherBytes = 0
    private(set) var lastTime: Int64 = .min

    init(path: String) throws(CaptureError) {
        writer = try PcapWriter(path: path, linkType: .ethernet, snapshotLength: 262_144, nanosecondTimestamps: true)
    }

    /// Appends one frame at `time` and returns its frame number.
    @discardableResult
    func write(_ frame: [UInt8], at time: Int64, smtp: Bool) -> UInt64 {
        precondition(time >= lastTime, "generator bug: frame at \(time) after \(lastTime)")
        lastTime = time
        frames += 1
        fileBytes += 16 + frame.count
        if smtp { smtpBytes += frame.count } else { otherBytes += frame.count }
        let info = CaptureInfo(
            frameNumber: frames, timestampNanoseconds: time, capturedLength: frame.count, wireLength: frame.count,
            linkType: .ethernet)
        writer.write(info, bytes: frame)
        return frames
    }

    func close() throws(CaptureError) { try writer.close() }
}
