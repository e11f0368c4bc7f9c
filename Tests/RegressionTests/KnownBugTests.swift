import Analysis
import Capture
import SMTP
import Testing

/// One test per regression input that still shows its bug. Each expects the
/// correct behaviour inside `withKnownIssue`: green while the bug is there,
/// red (known issue not recorded) once it is fixed, so the wrapper is removed
/// with the fix (and the id from Tests/Fuzz/known-bugs.txt).
struct KnownBugTests {
    /// `DATA\r\n` (no 354 yet), `.\r\n`, end: an empty message, found by the smtp
    /// harness. Its terminator spans the DATA line's CRLF, as SMTPEvent documents
    /// (size 0, `TerminatorInfo` still spans all 5 bytes); the harness once took that
    /// for a bug. What Analysis makes of it is the known bug below.
    @Test func emptyMessageTerminatorSpansTheDataLineCRLF() throws {
        let bytes = RegressionFiles.bytes("smtp-empty-message-terminator")
        try #require(bytes == [0x0A, 0x00, 0x06] + Array("DATA\r\n".utf8) + [0x10, 0x0A] + Array(".\r\n".utf8))
        let events = bytes.withUnsafeBufferPointer { SMTPReplay.run($0) }
        let ends = events.compactMap { event -> (MessageSummary, TerminatorInfo?)? in
            if case .endOfData(let summary, let terminator) = event { return (summary, terminator) }
            return nil
        }
        try #require(ends.count == 1)
        #expect(ends[0].0.dataOffset == 6)
        #expect(ends[0].0.size == 0)
        #expect(ends[0].1 == TerminatorInfo(style: .crlf, offset: 4, length: 5))
    }

    /// An empty message end to end: a whole SMTP connection (frames built by
    /// Tests/Fuzz/make-seeds.py, written by text2pcap) whose message is empty;
    /// the client sends `DATA\r\n` in frame 11, gets 354 in frame 12 and sends
    /// `.\r\n` in frame 13 alone. Nothing is split, yet smtp.eod_split is reported.
    @Test(.bug(id: "analysis-empty-message-eod-split", "empty message was reported as a split terminator (frames 11/13); fixed"))
    func emptyMessageIsNotASplitTerminator() throws {
        let capture = try OfflineCapture(path: RegressionFiles.path("pcap-empty-message-eod-split.pcap"))
        let analyzer = Analyzer()
        analyzer.beginCapture(name: "empty message")
        _ = capture.readPackets { info, frame in
            analyzer.process(info, frame: frame)
            return .next
        }
        let result = analyzer.finish()
        let transactions = result.flows.flatMap(\.transactions)
        try #require(transactions.count == 1)
        #expect(transactions[0].outcome == .accepted)
        #expect(transactions[0].terminator.frames == [13])
        #expect(transactions[0].terminator.splitAfter == [])
        #expect(!result.flows[0].findings.contains { $0.code == .eodSplit })
    }

    /// A capture found by the pcap harness (minimised; its replay uses small
    /// reassembly limits): the same message sent twice with a timestamp jump
    /// between the attempts. The text report formats the retry interval with
    /// `TimeText.duration`, whose `fixed` multiplies the nanoseconds by 10 and
    /// traps on overflow (Sources/Analysis/TimeText.swift:25). Child process.
    @Test(.bug(id: "analysis-text-duration-overflow", "TimeText.fixed traps on durations over ~58 years"))
    func fuzzedRetryIntervalDoesNotTrap() async {
        do {
            await #expect(processExitsWith: .success) {
                let bytes = RegressionFiles.bytes("pcap-text-duration-overflow.pcapng")
                _ = bytes.withUnsafeBufferPointer { CaptureReplay.run($0) }
            }
        }
    }

    /// The same bug through `smtpscope analyze`'s path with default options:
    /// seeds/pcap/dialog-ethernet-v4.pcap plus itself shifted by 2,000,000,000 s
    /// (`editcap -t 2000000000`, `mergecap -F pcap`): one message retried after
    /// ~63 years, so the interval (2e18 ns) × 10 overflows UInt64.
    @Test(.bug(id: "analysis-text-duration-overflow", "smtpscope analyze traps on a retry 2e9 s later"))
    func textReportOfAHugeRetryIntervalDoesNotTrap() async {
        do {
            await #expect(processExitsWith: .success) {
                let capture = try OfflineCapture(path: RegressionFiles.path("pcap-retry-interval-overflow.pcap"))
                let analyzer = Analyzer()
                analyzer.beginCapture(name: "retry 2e9 s later")
                _ = capture.readPackets { info, frame in
                    analyzer.process(info, frame: frame)
                    return .next
                }
                _ = renderText(analyzer.finish())
            }
        }
    }

    /// Two frames found by the pcap harness (239 bytes, SLL2): client data in
    /// 1976, then a server RST stamped far in the future. The server-timeout
    /// finding's message formats the idle time with `TimeText.duration`
    /// (FlowTracker.swift:111) and traps inside `Analyzer.process`, so
    /// `smtpscope analyze` dies whatever the output format. Child process.
    @Test(.bug(id: "analysis-text-duration-overflow", "Analyzer traps on a server RST decades after the client's data"))
    func serverTimeoutAfterDecadesDoesNotTrap() async {
        do {
            await #expect(processExitsWith: .success) {
                let capture = try OfflineCapture(path: RegressionFiles.path("pcap-server-timeout-duration-overflow.pcap"))
                let analyzer = Analyzer()
                analyzer.beginCapture(name: "server timeout after decades")
                _ = capture.readPackets { info, frame in
                    analyzer.process(info, frame: frame)
                    return .next
                }
                _ = JSONLinesEncoder.encode(analyzer.finish())
            }
        }
    }
}
