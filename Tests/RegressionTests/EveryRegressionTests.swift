import Analysis
import Capture
import Testing

/// Every file in `captures/regressions/` through its own harness's replay and
/// through the capture path (libpcap → Wire → Reassembly → SMTP → Analysis),
/// in process: a trap ends the test run (that is the failure signal); broken
/// stream invariants and unbounded results are issues.
/// Inputs known to trap are left out: their own test replays them in a child process.
@Test(
    "every regression input replays without trap, with bounded results",
    arguments: RegressionFiles.all.filter { RegressionFiles.knownBugs[$0]?.traps != true })
func everyRegressionReplays(_ name: String) throws {
    let known = RegressionFiles.knownBugs[name]
    let bytes = RegressionFiles.bytes(name)
    try #require(!bytes.isEmpty, "unreadable regression file \(name)")
    if let known {
        // Its own test is strict; here the bug may or may not show in every replay.
        withKnownIssue(Comment(rawValue: known.id), isIntermittent: true) { try replayEverything(name, bytes) }
    } else {
        try replayEverything(name, bytes)
    }
}

private func replayEverything(_ name: String, _ bytes: [UInt8]) throws {
    bytes.withUnsafeBufferPointer { input in
        switch RegressionFiles.harness(name) {
        case "wire":
            let outcome = WireReplay.run(input)
            #expect(outcome.segments <= outcome.frames)
            #expect(outcome.frames <= 512)
        case "reassembly":
            let outcome = ReassemblyReplay.run(input)
            #expect(outcome.deliveredBytes <= UInt64(input.count), "more bytes delivered than the input holds")
            #expect(outcome.flowsOpened <= outcome.segments)
            #expect(outcome.peakOutOfOrderBytes <= outcome.options.maxOutOfOrderBytesTotal + 255)
        case "smtp":
            let events = SMTPReplay.run(input)
            #expect(events.count <= 4 * input.count + 64, "\(events.count) events from \(input.count) bytes")
        default:
            break
        }
        checkCapture(CaptureReplay.run(input), inputCount: input.count)
    }
    try analyzeFile(RegressionFiles.path(name), inputCount: bytes.count)
}

/// Bounds any capture replay must respect, whatever the input.
func checkCapture(_ outcome: CaptureReplay.Outcome, inputCount: Int) {
    // Every record has a header of at least 16 bytes.
    #expect(outcome.frames <= inputCount / 16)
    #expect(outcome.segments <= outcome.frames)
    #expect(outcome.flowsOpened <= outcome.segments)
    // The shortest transaction needs `DATA\r\n` (6 bytes).
    #expect(outcome.transactions <= inputCount / 6)
    #expect(
        outcome.outputBytes <= 64 * 1024 + 200 * inputCount, "output of \(outcome.outputBytes) bytes for \(inputCount)")
}

/// The product path: Capture's offline reader on the file, into the Analyzer.
func analyzeFile(_ path: String, inputCount: Int) throws {
    guard let capture = try? OfflineCapture(path: path) else { return }
    let analyzer = Analyzer()
    analyzer.beginCapture(name: path)
    var frames = 0
    _ = capture.readPackets { info, frame in
        frames += 1
        analyzer.process(info, frame: frame)
        return .next
    }
    let result = analyzer.finish()
    #expect(frames <= inputCount / 16)
    #expect(result.flows.count <= frames)
    let output = JSONLinesEncoder.encode(result).reduce(0) { $0 + $1.utf8.count } + renderText(result).utf8.count
    #expect(output <= 64 * 1024 + 200 * inputCount)
}
