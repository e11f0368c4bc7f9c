import Foundation
import Testing
import TestSupport

private let v4 = "captures/foundation/smtp-v4-eth.pcap"

/// The records of one jsonl run, decoded.
func records(_ stdout: String) throws -> [[String: Any]] {
    try stdout.split(separator: "\n").map { line in
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}

/// The `summary` record (last line) of one jsonl run.
func summaryRecord(_ stdout: String) throws -> [String: Any] {
    let all = try records(stdout)
    let last = try #require(all.last)
    #expect(last["type"] as? String == "summary")
    return last
}

/// The per-input statistics of a summary record.
func captureStats(_ summary: [String: Any]) -> [[String: Any]] {
    summary["captures"] as? [[String: Any]] ?? []
}

/// `ip:port` of a JSON endpoint object.
func endpoint(_ value: Any?) -> String? {
    guard let object = value as? [String: Any], let ip = object["ip"] as? String, let port = object["port"] as? Int else { return nil }
    return "\(ip):\(port)"
}

/// tshark's counts for a shipped capture: frames, TCP segments, TCP payload bytes.
private func tsharkCounts(_ path: String) throws -> (frames: Int, segments: Int, payload: Int) {
    let rows = try TsharkView(nextTo: PackagePaths.root.appendingPathComponent(path)).rows
    let lengths = rows.compactMap(\.tcpLength)
    return (rows.count, lengths.count, lengths.reduce(0, +))
}

@Test func versionNamesToolAndLibpcap() throws {
    let run = try CLIRunner.run(["--version"])
    #expect(run.status == 0)
    #expect(run.stdout.hasPrefix("smtpscope 0.1.0 (libpcap version 1."))
}

@Test func helpShowsExamplesAndExitCodes() throws {
    let run = try CLIRunner.run(["--help"])
    #expect(run.status == 0)
    for text in ["Examples:", "smtpscope analyze mail.pcap", "Exit codes:", "0  no problem found", "1  problems found", "2  error",
                 "analyze", "extract", "report"] {
        #expect(run.stdout.contains(text), "missing \(text)")
    }
    let sub = try CLIRunner.run(["analyze", "--help"])
    #expect(sub.status == 0)
    for option in ["--port", "--filter", "--format", "--output", "--all", "--reply-timeout", "(default: 30.0)", "--max-flows",
                   "100000", "Exit codes: 0 no problem found, 1 problems found, 2"] {
        #expect(sub.stdout.contains(option), "analyze --help lacks \(option)")
    }
    let extract = try CLIRunner.run(["extract", "--help"])
    #expect(extract.status == 0 && extract.stdout.contains("--diagnosis") && extract.stdout.contains("--flow")
        && extract.stdout.contains("--capture-index") && extract.stdout.contains("-w"))
    let report = try CLIRunner.run(["report", "--help"])
    #expect(report.status == 0 && report.stdout.contains("--output") && report.stdout.contains("chromium --headless"))
}

/// tshark -r smtp-v4-eth.pcap: 192.0.2.1:56554 → 192.0.2.2:25; MAIL FROM:<alice@example.com> in frame 12,
/// RCPT TO:<bob@example.org> in 14, DATA in 16, 354 in 17, the message (imf.message_id
/// <20261129164244.008249@vm>) in 18, 250 in 19, QUIT in 20.
@Test func jsonlAgreesWithTshark() throws {
    let run = try CLIRunner.run(["analyze", "--format", "jsonl", v4])
    #expect(run.status == 0)
    #expect(run.stderr.isEmpty)
    let all = try records(run.stdout)
    #expect(all.map { $0["type"] as? String } == ["flow", "summary"])
    #expect(all.allSatisfy { $0["schema"] as? String == "smtpscope/1" })
    let flow = try #require(all.first)
    #expect(flow["capture"] as? Int == 0)
    #expect(endpoint(flow["client"]) == "192.0.2.1:56554")
    #expect(endpoint(flow["server"]) == "192.0.2.2:25")
    #expect(flow["first_frame"] as? Int == 1)
    #expect(flow["end_reason"] as? String == "quit")
    #expect(flow["banner"] as? String == "220 localhost Python SMTP 1.4.3")
    let transaction = try #require((flow["transactions"] as? [[String: Any]])?.first)
    #expect(transaction["mail_from"] as? String == "alice@example.com")
    #expect(transaction["rcpt_to"] as? [String] == ["bob@example.org"])
    #expect(transaction["message_id"] as? String == "<20261129164244.008249@vm>")
    #expect(transaction["data_frame"] as? Int == 16)
    #expect((transaction["terminator"] as? [String: Any])?["frames"] as? [Int] == [18])
    #expect((transaction["terminator"] as? [String: Any])?["split_after"] as? [Int] == [])
    #expect((transaction["reply"] as? [String: Any])?["code"] as? Int == 250)
    #expect((transaction["reply"] as? [String: Any])?["frame"] as? Int == 19)
    #expect(transaction["outcome"] as? String == "accepted")
    #expect(transaction["diagnosis"] as? String == "ok")

    let summary = try summaryRecord(run.stdout)
    let expected = try tsharkCounts(v4)
    #expect(summary["packets"] as? Int == expected.frames)
    #expect(summary["flows"] as? Int == 1)
    #expect(summary["transactions"] as? Int == 1)
    #expect(summary["decode_errors"] as? Int == 0)
    #expect(summary["truncated_frames"] as? Int == 0)
    #expect(summary["read_errors"] as? Int == 0)
    let stats = try #require(captureStats(summary).first)
    #expect(stats["name"] as? String == v4)
    #expect(stats["packets"] as? Int == expected.frames)
    #expect(stats["bytes"] as? Int == 2147)  // capinfos: data size 2147 bytes
    #expect(stats["tcp_segments"] as? Int == expected.segments)
    #expect((stats["start"] as? Double).map { abs($0 - 1_795_970_564.389404) < 1e-6 } == true)  // tshark frame.time_epoch
}

@Test func textShowsOnlyProblemsUnlessAll() throws {
    let quiet = try CLIRunner.run(["analyze", v4])
    #expect(quiet.status == 0)
    #expect(quiet.stdout.hasPrefix("Summary: 25 packets, 1 SMTP flow"))  // 25 frames for tshark; nothing went wrong
    #expect(quiet.stdout.contains("0 of 1 went unanswered"))
    #expect(quiet.stdout.contains("Middlebox: none detected."))
    let all = try CLIRunner.run(["analyze", "--all", v4])
    #expect(all.status == 0)
    for text in ["\(v4), flow 0: 192.0.2.1:56554 -> 192.0.2.2:25, 2026-11-29 16:42:44.389404 UTC",
                 "<alice@example.com> -> <bob@example.org>", "terminator in one segment (frame 18)", "(frame 19: OK)",
                 "wireshark: ip.addr==192.0.2.1 && tcp.port==56554"] {
        #expect(all.stdout.contains(text), "missing \(text)")
    }
}

/// tshark -Y 'frame.cap_len < frame.len' on smtp-v4-snap80.pcap: frames 4 6 8 12 14 17 18 were cut, among them
/// the server's replies: the outcome cannot be known, and that is a problem found (exit 1).
@Test func truncatedCaptureIsAProblem() throws {
    let run = try CLIRunner.run(["analyze", "--format", "jsonl", "captures/foundation/smtp-v4-snap80.pcap"])
    #expect(run.status == 1)
    let summary = try summaryRecord(run.stdout)
    #expect(summary["truncated_frames"] as? Int == 7)
    let flow = try #require(try records(run.stdout).first)
    let codes = (flow["findings"] as? [[String: Any]])?.compactMap { $0["code"] as? String } ?? []
    #expect(codes.contains("capture.truncated"))
    let diagnoses = (flow["transactions"] as? [[String: Any]])?.compactMap { $0["diagnosis"] as? String }
    #expect(diagnoses == ["incomplete_capture"])
}

@Test func portsAndFilterChangeWhatIsAnalysed() throws {
    let run = try CLIRunner.run(["analyze", "--format", "jsonl", "--port", "587", "--filter", "tcp[tcpflags] & tcp-syn != 0", v4])
    #expect(run.status == 0)
    let summary = try summaryRecord(run.stdout)
    #expect(summary["packets"] as? Int == 25)  // every frame read counts
    #expect(captureStats(summary).first?["frames_analyzed"] as? Int == 2)  // tshark -Y tcp.flags.syn==1: frames 1, 2
    #expect(summary["flows"] as? Int == 0)  // port 25 is not followed
    let port25 = try CLIRunner.run(["analyze", "--format", "jsonl", "--port", "25", v4])
    #expect(try summaryRecord(port25.stdout)["flows"] as? Int == 1)
}

@Test(arguments: [
    ("captures/foundation/empty.pcap", "frame 1: not a pcap or pcapng capture (empty file)"),
    ("captures/foundation/not-a-capture.pcap", "frame 1: not a pcap or pcapng capture (unknown file format)"),
    ("captures/foundation/smtp-mixed-links.pcapng", "frame 1: pcapng interfaces with different link types"),
    ("captures/foundation/no-such-file.pcap", "no such file"),
    ("captures/foundation", "is a directory"),
])
func unreadableInputExitsTwoWithOneLine(path: String, reason: String) throws {
    for format in ["text", "jsonl"] {
        let run = try CLIRunner.run(["analyze", "--format", format, path])
        #expect(run.status == 2)
        #expect(run.stdout.isEmpty)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("smtpscope: \(path): \(reason)") == true, "\(run.stderr)")
    }
}

@Test func cutFileReportsFrameAndKeepsEarlierFrames() throws {
    let path = "captures/foundation/cut-mid-record.pcap"
    let run = try CLIRunner.run(["analyze", "--format", "jsonl", path])
    #expect(run.status == 0)  // the exchange before the cut is complete: 250 in frame 19, QUIT, 221
    #expect(run.stderr.split(separator: "\n").count == 1)
    #expect(run.stderr.hasPrefix("smtpscope: \(path): frame 25: file cut in the middle of a record"))
    let summary = try summaryRecord(run.stdout)
    let tsharkFrames = try tsharkCounts(path).frames  // tshark reads 24 before the cut
    #expect(summary["packets"] as? Int == tsharkFrames)
    #expect(summary["read_errors"] as? Int == 1)
    #expect((captureStats(summary).first?["read_error"] as? [String: Any])?["frame"] as? Int == 25)
}

/// MANIFEST: records 4, 12, 17, 18 of caplen-over-snaplen.pcap exceed the header's snapshot length of 96.
@Test func recordOverSnapshotLengthIsReported() throws {
    let path = "captures/foundation/caplen-over-snaplen.pcap"
    let run = try CLIRunner.run(["analyze", "--format", "jsonl", path])
    #expect(run.status == 1)  // replies were cut: a problem
    #expect(run.stderr == "smtpscope: \(path): frame 4: captured length 99 exceeds the file's snapshot length 96; "
        + "libpcap kept the first 96 bytes (4 records like this)\n")
    let flow = try #require(try records(run.stdout).first)
    let truncated = (flow["findings"] as? [[String: Any]])?.first { $0["code"] as? String == "capture.truncated" }
    #expect(truncated?["frames"] as? [Int] == [4, 12, 17, 18])
}

@Test func multipleFilesAreOneRun() throws {
    let cut = "captures/foundation/cut-mid-record.pcap", missing = "captures/foundation/missing.pcap"
    let v6 = "captures/foundation/smtp-v6-eth.pcap"
    let run = try CLIRunner.run(["analyze", "--format", "jsonl", v4, missing, cut, v6])
    #expect(run.status == 2)  // one input could not be read at all; the others are still analysed
    let all = try records(run.stdout)
    let flows = all.filter { $0["type"] as? String == "flow" }
    #expect(flows.map { $0["capture"] as? Int } == [0, 1, 2])
    #expect(flows.map { ($0["server"] as? [String: Any])?["port"] as? Int } == [25, 25, 587])
    let summary = try summaryRecord(run.stdout)
    #expect(captureStats(summary).map { $0["name"] as? String } == [v4, cut, v6])
    #expect(captureStats(summary).map { $0["packets"] as? Int } == [25, 24, 24])  // tshark: 25, 24, 24 frames
    #expect(summary["packets"] as? Int == 73)
    let lines = run.stderr.split(separator: "\n")
    #expect(lines.count == 2)
    #expect(lines.first?.hasPrefix("smtpscope: \(missing): no such file") == true)
    #expect(lines.last?.hasPrefix("smtpscope: \(cut): frame 25:") == true)

    let readable = try CLIRunner.run(["analyze", v4, v6])
    #expect(readable.status == 0)
    #expect(readable.stdout.hasPrefix("Summary: 49 packets, 2 SMTP flows, 2 transactions (2 accepted)"))
}

@Test func standardInputAndOutputFile() throws {
    let output = try SyntheticCapture.temporaryPath(named: "analysis.jsonl")
    let run = try CLIRunner.run(
        ["analyze", "--format", "jsonl", "--output", output.path, "-"],
        stdin: PackagePaths.root.appendingPathComponent(v4))
    #expect(run.status == 0)
    #expect(run.stdout.isEmpty)
    let written = try String(contentsOf: output, encoding: .utf8)
    let summary = try summaryRecord(written)
    #expect(captureStats(summary).first?["name"] as? String == "-")
    #expect(summary["packets"] as? Int == 25)
    #expect(try records(written).first?["type"] as? String == "flow")
}

@Test func usageErrorsExitTwo() throws {
    #expect(try CLIRunner.run(["analyze"]).status == 2)
    #expect(try CLIRunner.run(["analyze", "--format", "xml", v4]).status == 2)
    #expect(try CLIRunner.run(["analyze", "--reply-timeout", "0", v4]).status == 2)
    #expect(try CLIRunner.run(["analyze", "--max-flows", "0", v4]).status == 2)
    #expect(try CLIRunner.run(["analyze", "-", "-"]).status == 2)
    let badFilter = try CLIRunner.run(["analyze", "--filter", "tcp port", v4])
    #expect(badFilter.status == 2 && badFilter.stderr.contains("invalid filter"))
    let unwritable = try CLIRunner.run(["analyze", "--output", "/nonexistent/dir/out.txt", v4])
    #expect(unwritable.status == 2 && unwritable.stderr.contains("cannot write output"))
}
