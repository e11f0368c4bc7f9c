import Capture
import Foundation
import Testing
import TestSupport
import Wire

/// Reads every frame of a capture: (info, bytes) pairs.
private func readAll(_ name: String, filter: String? = nil) throws -> (frames: [(CaptureInfo, [UInt8])], outcome: ReadOutcome) {
    let capture = try OfflineCapture(path: FoundationCaptures.url(name).path)
    if let filter { try capture.setFilter(filter) }
    var frames: [(CaptureInfo, [UInt8])] = []
    let outcome = capture.readPackets { info, bytes in
        frames.append((info, Array(bytes)))
        return .next
    }
    return (frames, outcome)
}

@Test func framesAreNumberedFromOneWithNanosecondTimes() throws {
    let (frames, outcome) = try readAll("smtp-v4-eth.pcap")
    #expect(outcome == .endOfInput(framesRead: 25))  // capinfos: 25 packets
    #expect(frames.map(\.0.frameNumber) == Array(1...25))
    // tshark -e frame.time_epoch: 1795970564.389404000 and .389423000, both 74 bytes.
    #expect(frames[0].0.timestampNanoseconds == 1_795_970_564_389_404_000)
    #expect(frames[1].0.timestampNanoseconds == 1_795_970_564_389_423_000)
    #expect(frames[0].0.capturedLength == 74 && frames[0].0.wireLength == 74 && frames[0].1.count == 74)
    #expect(frames.allSatisfy { $0.0.linkType == .ethernet })
}

@Test func nanosecondFileKeepsItsDigits() throws {
    let nano = try OfflineCapture(path: FoundationCaptures.url("smtp-v6-eth-nsec.pcap").path)
    var first: CaptureInfo?
    _ = nano.readPackets { info, _ in
        first = info
        return .stop
    }
    // tshark: frame 1 at 1795970566.475533000, 94 bytes.
    #expect(first?.timestampNanoseconds == 1_795_970_566_475_533_000)
    #expect(first?.capturedLength == 94)
}

@Test(arguments: [
    ("smtp-v4-eth-bigendian.pcap", "smtp-v4-eth.pcap"),
    ("smtp-v4-eth.pcapng", "smtp-v4-eth.pcap"),
    ("smtp-v6-eth-nsec.pcap", "smtp-v6-eth.pcap"),
])
func convertedFilesHoldTheSameFrames(converted: String, original: String) throws {
    let a = try readAll(converted).frames, b = try readAll(original).frames
    #expect(a.count == b.count && !a.isEmpty)
    #expect(a.map(\.0) == b.map(\.0))
    #expect(a.map(\.1) == b.map(\.1))
}

@Test func fileHeaderFactsAreReported() throws {
    let bigEndian = try OfflineCapture(path: FoundationCaptures.url("smtp-v4-eth-bigendian.pcap").path)
    #expect(bigEndian.isByteSwapped && bigEndian.format == .pcap)
    let pcapng = try OfflineCapture(path: FoundationCaptures.url("smtp-v4-eth.pcapng").path)
    #expect(pcapng.format == .pcapng)
    let snap = try OfflineCapture(path: FoundationCaptures.url("smtp-v4-snap80.pcap").path)
    #expect(snap.snapshotLength == 80)
}

@Test(arguments: [
    ("smtp-any-sll2.pcap", LinkType.linuxSLL2), ("smtp-any-sll.pcap", .linuxSLL), ("smtp-lo.pcap", .ethernet),
])
func linkTypeComesFromTheFile(name: String, linkType: LinkType) throws {
    let capture = try OfflineCapture(path: FoundationCaptures.url(name).path)
    #expect(capture.linkType == linkType)
    let (frames, _) = try readAll(name)
    #expect(!frames.isEmpty && frames.allSatisfy { $0.0.linkType == linkType })
}

@Test func snaplenCutFramesKeepTheirWireLength() throws {
    let (frames, _) = try readAll("smtp-v4-snap80.pcap")
    // tshark -e frame.cap_len -e frame.len: frame 4 is 80 of 99, frame 6 is 80 of 91.
    #expect(frames[3].0.capturedLength == 80 && frames[3].0.wireLength == 99 && frames[3].1.count == 80)
    #expect(frames[5].0.capturedLength == 80 && frames[5].0.wireLength == 91)
}

@Test func stoppingAndResumingKeepsFrameNumbers() throws {
    let capture = try OfflineCapture(path: FoundationCaptures.url("smtp-v4-eth.pcap").path)
    var seen: [UInt64] = []
    let first = capture.readPackets { info, _ in
        seen.append(info.frameNumber)
        return info.frameNumber == 3 ? .stop : .next
    }
    #expect(first == .stopped(framesRead: 3))
    let rest = capture.readPackets { info, _ in
        seen.append(info.frameNumber)
        return .next
    }
    #expect(rest == .endOfInput(framesRead: 25))
    #expect(seen == Array(1...25))
}

@Test func filterSkipsFramesButKeepsFileNumbering() throws {
    // tshark -Y 'tcp.flags.syn==1' on this file: frames 1 and 2.
    let (frames, outcome) = try readAll("smtp-v4-eth.pcap", filter: "tcp[tcpflags] & tcp-syn != 0")
    #expect(frames.map(\.0.frameNumber) == [1, 2])
    #expect(outcome == .endOfInput(framesRead: 25))
    let (none, all) = try readAll("smtp-v4-eth.pcap", filter: "ip6")
    #expect(none.isEmpty && all.framesRead == 25)
}

@Test func badFilterIsATypedErrorWithLibpcapText() throws {
    let capture = try OfflineCapture(path: FoundationCaptures.url("smtp-v4-eth.pcap").path)
    #expect {
        try capture.setFilter("tcp port 25 and")
    } throws: { error in
        guard case CaptureError.invalidFilter(let expression, let reason) = error else { return false }
        return expression == "tcp port 25 and" && reason.contains("syntax error")
    }
    #expect(throws: CaptureError.self) { try PacketFilter.validate("not a ( filter") }
    try PacketFilter.validate("tcp port 25")
}

@Test func recordLongerThanSnapshotLengthIsNoticed() throws {
    // Header snaplen set to 96; tshark -Y 'frame.len > 96': frames 4 (99), 12, 17, 18.
    let capture = try OfflineCapture(path: FoundationCaptures.url("caplen-over-snaplen.pcap").path)
    var lengths: [UInt64: Int] = [:]
    let outcome = capture.readPackets { info, bytes in
        lengths[info.frameNumber] = bytes.count
        return .next
    }
    #expect(outcome == .endOfInput(framesRead: 25))
    #expect(capture.recordsOverSnapshot == RecordsOverSnapshot(firstFrame: 4, firstCapturedLength: 99, count: 4))
    #expect(lengths[4] == 96 && lengths[18] == 96)
    // The genuinely cut capture (snaplen 80, records within it) reports nothing.
    let cut = try OfflineCapture(path: FoundationCaptures.url("smtp-v4-snap80.pcap").path)
    _ = cut.readPackets { _, _ in .next }
    #expect(cut.recordsOverSnapshot == nil)
}

@Test func openErrorsAreTyped() throws {
    let folder = FoundationCaptures.folder.path
    #expect(throws: CaptureError.noSuchFile(path: folder + "/missing.pcap")) {
        try OfflineCapture(path: folder + "/missing.pcap")
    }
    #expect(throws: CaptureError.isDirectory(path: folder)) { try OfflineCapture(path: folder) }
    #expect(throws: CaptureError.notACapture(path: folder + "/empty.pcap", reason: "empty file")) {
        try OfflineCapture(path: folder + "/empty.pcap")
    }
    #expect(throws: CaptureError.notACapture(path: folder + "/not-a-capture.pcap", reason: "unknown file format")) {
        try OfflineCapture(path: folder + "/not-a-capture.pcap")
    }
}

@Test func cutFileFailsAfterTheLastWholeRecord() throws {
    // tshark: "cut short in the middle of a packet" after 24 frames.
    let (frames, outcome) = try readAll("cut-mid-record.pcap")
    #expect(frames.count == 24)
    guard case .failed(24, let reason) = outcome else {
        Issue.record("expected failure after frame 24, got \(outcome)")
        return
    }
    #expect(reason.kind == .cutMidRecord)
}
