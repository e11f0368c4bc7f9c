import Capture
import Foundation
import Testing
import TestSupport
import Wire

private let frames: [InMemoryPacketSource.Frame] = [
    .init(bytes: [0x01, 0x02, 0x03], timestampNanoseconds: 1_700_000_000_123_456_789, wireLength: 60),
    .init(bytes: Array(0..<200).map { UInt8($0) }, timestampNanoseconds: 1_700_000_001_000_000_001),
    .init(bytes: [], timestampNanoseconds: 1_700_000_002_999_999_999),
]

@Test func writtenFramesReadBackExactly() throws {
    let url = try SyntheticCapture.write(frames, linkType: .linuxSLL2)
    let capture = try OfflineCapture(path: url.path)
    #expect(capture.linkType == .linuxSLL2)
    var read: [(CaptureInfo, [UInt8])] = []
    let outcome = capture.readPackets { info, bytes in
        read.append((info, Array(bytes)))
        return .next
    }
    #expect(outcome == .endOfInput(framesRead: 3))
    #expect(read.map(\.1) == frames.map(\.bytes))
    #expect(read.map(\.0.timestampNanoseconds) == frames.map(\.timestampNanoseconds))
    #expect(read.map(\.0.wireLength) == [60, 200, 0])
    #expect(read.map(\.0.frameNumber) == [1, 2, 3])
}

@Test func fileHeaderFollowsThePcapFormat() throws {
    let nano = try SyntheticCapture.write(frames, linkType: .ethernet)
    let micro = try SyntheticCapture.write(Array(frames.prefix(1)), linkType: .raw, nanosecondTimestamps: false)
    let nanoBytes = [UInt8](try Data(contentsOf: nano)), microBytes = [UInt8](try Data(contentsOf: micro))
    // Little-endian magic: A1B23C4D for nanoseconds, A1B2C3D4 for microseconds; link type at offset 20.
    #expect(Array(nanoBytes.prefix(4)) == [0x4D, 0x3C, 0xB2, 0xA1])
    #expect(Array(microBytes.prefix(4)) == [0xD4, 0xC3, 0xB2, 0xA1])
    #expect(Array(microBytes[20..<24]) == [101, 0, 0, 0])
    // 24-byte file header, 16-byte record header, 3 bytes; sub-second µs = 123456 (0x0001E240).
    #expect(microBytes.count == 24 + 16 + 3)
    #expect(Array(microBytes[28..<32]) == [0x40, 0xE2, 0x01, 0x00])
    let capture = try OfflineCapture(path: micro.path)
    #expect(capture.linkType == .raw)
    var stamp: Int64?
    _ = capture.readPackets { info, _ in
        stamp = info.timestampNanoseconds
        return .next
    }
    #expect(stamp == 1_700_000_000_123_456_000)
}

@Test func writerReportsAnUnwritablePath() {
    #expect(throws: CaptureError.self) {
        try PcapWriter(path: "/nonexistent-dir/x.pcap", linkType: .ethernet)
    }
}

@Test func inMemorySourceNumbersAndStops() {
    let source = InMemoryPacketSource(frames: frames)
    var numbers: [UInt64] = []
    #expect(source.readPackets { info, _ in numbers.append(info.frameNumber); return info.frameNumber == 2 ? .stop : .next }
        == .stopped(framesRead: 2))
    #expect(source.readPackets { info, _ in numbers.append(info.frameNumber); return .next } == .endOfInput(framesRead: 3))
    #expect(numbers == [1, 2, 3])
}
