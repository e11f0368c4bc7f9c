import Capture
import Foundation
import Testing
import TestSupport
import Wire

/// How reading each shipped capture must end. libpcap (not tshark) decides what
/// is readable, so damaged files list what libpcap must report; everything it
/// does read must match tshark frame for frame.
private let expectedEndings: [String: Ending] = [
    "smtp-v4-eth.pcap": .complete, "smtp-v4-eth.pcapng": .complete, "smtp-v4-eth-bigendian.pcap": .complete,
    "smtp-v4-snap80.pcap": .complete, "smtp-v6-eth.pcap": .complete, "smtp-v6-eth-nsec.pcap": .complete,
    "smtp-lo.pcap": .complete, "smtp-any-sll.pcap": .complete, "smtp-any-sll2.pcap": .complete,
    "caplen-over-snaplen.pcap": .complete,
    "cut-mid-record.pcap": .failedAfter(24, .cutMidRecord),
    // libpcap 1.10 refuses a second interface of another link type before the first packet.
    "smtp-mixed-links.pcapng": .failedAfter(0, .mixedLinkTypes),
    "empty.pcap": .notOpened, "not-a-capture.pcap": .notOpened,
]

private enum Ending: Equatable {
    case complete
    case failedAfter(UInt64, ReadFailure.Kind)
    case notOpened
}

@Test func everyShippedCaptureHasAnExpectation() throws {
    let names = Set(try FoundationCaptures.all().map(\.lastPathComponent))
    #expect(names == Set(expectedEndings.keys))
}

/// Frame numbers and per-frame TCP payload lengths (from the IP lengths, as tshark's
/// `tcp.len`) equal tshark's on every shipped capture.
@Test(arguments: expectedEndings.keys.sorted())
func framesAndTCPLengthsMatchTshark(name: String) throws {
    let url = FoundationCaptures.url(name)
    let tshark = try TsharkView(nextTo: url)
    let ending = try #require(expectedEndings[name])
    guard ending != .notOpened else {
        #expect(throws: CaptureError.self) { try OfflineCapture(path: url.path) }
        #expect(tshark.frameCount == 0)
        return
    }
    let capture = try OfflineCapture(path: url.path)
    var decoder = PacketDecoder()
    var rows: [TsharkView.Row] = []
    let outcome = capture.readPackets { info, bytes in
        var length: Int?
        _ = decoder.decode(
            frame: bytes, wireLength: info.wireLength, linkType: info.linkType, timestampNanoseconds: info.timestampNanoseconds
        ) { segment, _ in length = segment.wirePayloadLength }
        rows.append(TsharkView.Row(frame: info.frameNumber, tcpLength: length))
        return .next
    }
    switch ending {
    case .complete:
        #expect(outcome == .endOfInput(framesRead: UInt64(tshark.frameCount)))
        #expect(rows == tshark.rows)
    case .failedAfter(let frames, let kind):
        guard case .failed(let read, let reason) = outcome else {
            Issue.record("expected a read failure, got \(outcome)")
            return
        }
        #expect(read == frames)
        #expect(reason.kind == kind)
        #expect(rows == Array(tshark.rows.prefix(Int(frames))))
    case .notOpened:
        break
    }
}
