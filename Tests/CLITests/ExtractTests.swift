import Capture
import Foundation
import Testing
import TestSupport

/// One frame as a capture file holds it.
private struct StoredFrame: Equatable {
    var time: Int64
    var wireLength: Int
    var bytes: [UInt8]
}

/// Every frame of a capture file, read with the Capture reader.
private func frames(of path: String) throws -> [StoredFrame] {
    let capture = try OfflineCapture(path: path)
    var frames: [StoredFrame] = []
    let outcome = capture.readPackets { info, bytes in
        frames.append(StoredFrame(time: info.timestampNanoseconds, wireLength: info.wireLength, bytes: Array(bytes)))
        return .next
    }
    #expect(outcome == .endOfInput(framesRead: UInt64(frames.count)))
    return frames
}

private func shipped(_ name: String) -> String { PackagePaths.root.appendingPathComponent("captures/foundation/\(name)").path }

/// Two shipped exchanges one after the other in one file: smtp-v4-eth.pcap (25 frames for tshark, port 25)
/// then smtp-v6-eth.pcap (24 frames, port 587), both Ethernet, the second recorded 2 s after the first.
/// 123 ns are added to every timestamp, so that a copy that kept only microseconds would differ.
private func twoFlowCapture() throws -> (path: String, first: [StoredFrame], second: [StoredFrame]) {
    func shifted(_ frames: [StoredFrame]) -> [StoredFrame] { frames.map { StoredFrame(time: $0.time + 123, wireLength: $0.wireLength, bytes: $0.bytes) } }
    let first = shifted(try frames(of: shipped("smtp-v4-eth.pcap"))), second = shifted(try frames(of: shipped("smtp-v6-eth.pcap")))
    #expect(first.count == 25 && second.count == 24)
    #expect((first.last?.time ?? .max) < (second.first?.time ?? .min))
    let path = try SyntheticCapture.temporaryPath(named: "two-flows.pcap").path
    let writer = try PcapWriter(path: path, linkType: .ethernet)
    for (n, frame) in (first + second).enumerated() {
        writer.write(CaptureInfo(frameNumber: UInt64(n + 1), timestampNanoseconds: frame.time, capturedLength: frame.bytes.count,
                                 wireLength: frame.wireLength, linkType: .ethernet), bytes: frame.bytes)
    }
    try writer.close()
    return (path, first, second)
}

@Test func extractCopiesExactlyTheChosenFlow() throws {
    let capture = try twoFlowCapture()
    let out = try SyntheticCapture.temporaryPath(named: "flow1.pcap").path
    let second = try CLIRunner.run(["extract", capture.path, "--flow", "1", "-w", out])
    #expect(second.status == 0, "\(second.stderr)")
    #expect(second.stdout == "wrote 24 frames of flow 1 to \(out)\n")
    #expect(try frames(of: out) == capture.second)  // every frame of the IPv6 exchange, bytes and times identical
    #expect(capture.second.allSatisfy { $0.time % 1_000 == 123 })  // … to the nanosecond

    // The first exchange, with the closing ACKs (frames 24, 25) that follow both FINs.
    let first = try CLIRunner.run(["extract", capture.path, "--flow", "0", "--write", out])
    #expect(first.status == 0)
    #expect(try frames(of: out) == capture.first)

    // Both were delivered (250 to end of data): --diagnosis ok takes both, in file order.
    let both = try CLIRunner.run(["extract", capture.path, "--diagnosis", "ok", "-w", out])
    #expect(both.status == 0)
    #expect(try frames(of: out) == capture.first + capture.second)
}

@Test func extractKeepsTheLinkType() throws {
    let source = shipped("smtp-v6-eth-nsec.pcap")
    let out = try SyntheticCapture.temporaryPath(named: "nsec.pcap").path
    let run = try CLIRunner.run(["extract", source, "--flow", "0", "-w", out])
    #expect(run.status == 0)
    let written = try frames(of: out), original = try frames(of: source)
    #expect(written == original)
    #expect(written.count == (try TsharkView(nextTo: URL(fileURLWithPath: source)).frameCount))
    #expect(try OfflineCapture(path: out).linkType == .ethernet)
    let sll = shipped("smtp-any-sll2.pcap")
    #expect(try CLIRunner.run(["extract", sll, "--flow", "0", "-w", out]).status == 0)
    #expect(try OfflineCapture(path: out).linkType == OfflineCapture(path: sll).linkType)
    #expect(try frames(of: out) == frames(of: sll))
}

@Test func extractWithNothingToTakeWritesNothing() throws {
    let out = try SyntheticCapture.temporaryPath(named: "none.pcap")
    try? FileManager.default.removeItem(at: out)
    // A clean delivery: no flow with a problem (the default choice), none stalled.
    for selector in [[], ["--diagnosis", "split_terminator_stall"], ["--flow", "7"]] {
        let run = try CLIRunner.run(["extract", shipped("smtp-v4-eth.pcap"), "-w", out.path] + selector)
        #expect(run.status == 1)
        #expect(run.stderr == "smtpscope: no connection matched; nothing written\n")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
    #expect(try CLIRunner.run(["extract", shipped("smtp-v4-eth.pcap"), "-w", out.path, "--diagnosis", "stuck"]).status == 2)
    #expect(try CLIRunner.run(["extract", "-", "-w", out.path]).status == 2)  // needs two passes over a file
}

/// The KB capture's second stalled attempt: truth.json (the lab's tshark view) puts flow 1 of outside.pcap
/// at frames 29–57 (SYN to the last ACK), with no other traffic in between.
@Test func extractTakesAStalledAttemptOfTheKBCapture() throws {
    let source = "captures/kb-postfix-retries/outside.pcap"
    let truth = try JSONSerialization.jsonObject(
        with: Data(contentsOf: PackagePaths.root.appendingPathComponent("captures/kb-postfix-retries/truth.json"))) as? [String: Any]
    let flows = ((truth?["captures"] as? [[String: Any]])?.first { $0["file"] as? String == "outside.pcap" })?["flows_port25"]
    let flow = try #require((flows as? [[String: Any]])?.first { $0["flow"] as? Int == 1 })
    let first = try #require(flow["first_frame"] as? Int), last = try #require(flow["last_frame"] as? Int)
    #expect((first, last) == (29, 57))
    let out = try SyntheticCapture.temporaryPath(named: "kb-flow1.pcap").path
    let run = try CLIRunner.run(["extract", source, "--diagnosis", "split_terminator_stall", "--flow", "1", "-w", out])
    #expect(run.status == 0, "\(run.stderr)")
    let original = try frames(of: PackagePaths.root.appendingPathComponent(source).path)
    #expect(try frames(of: out) == Array(original[(first - 1)..<last]))
}
