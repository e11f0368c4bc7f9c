import Foundation
import Testing
import TestSupport

private let v4 = "captures/foundation/smtp-v4-eth.pcap"

/// The summary line of one jsonl run, decoded.
private func summaries(_ stdout: String) throws -> [[String: Any]] {
    try stdout.split(separator: "\n").map { line in
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
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
    for text in ["Examples:", "smtpscope analyze mail.pcap", "Exit codes:", "analyze"] {
        #expect(run.stdout.contains(text), "missing \(text)")
    }
    let sub = try CLIRunner.run(["analyze", "--help"])
    #expect(sub.status == 0 && sub.stdout.contains("--port") && sub.stdout.contains("--filter") && sub.stdout.contains("--format"))
}

@Test func jsonlSummaryAgreesWithTshark() throws {
    let run = try CLIRunner.run(["analyze", "--format", "jsonl", v4])
    #expect(run.status == 0)
    #expect(run.stderr.isEmpty)
    let records = try summaries(run.stdout)
    #expect(records.count == 1)
    let summary = try #require(records.first)
    let expected = try tsharkCounts(v4)
    #expect(summary["type"] as? String == "summary")
    #expect(summary["schema"] as? String == "smtpscope/1")
    #expect(summary["capture"] as? String == v4)
    #expect(summary["packets"] as? Int == expected.frames)
    #expect(summary["bytes"] as? Int == 2147)  // capinfos: data size 2147 bytes
    #expect(summary["link_types"] as? [String: Int] == ["EN10MB": 25])
    #expect((summary["start"] as? Double).map { abs($0 - 1_795_970_564.389404) < 1e-6 } == true)  // tshark frame.time_epoch
    #expect(summary["tcp_segments"] as? Int == expected.segments)
    #expect(summary["smtp_segments"] as? Int == expected.segments)  // one SMTP exchange on port 25, nothing else
    #expect(summary["tcp_payload_bytes"] as? Int == expected.payload)
    #expect(summary["decode_errors"] as? Int == 0)
    #expect(summary["truncated_frames"] as? Int == 0)
}

@Test func textSummaryAgreesWithTshark() throws {
    let run = try CLIRunner.run(["analyze", v4])
    #expect(run.status == 0)
    let expected = try tsharkCounts(v4)
    var rows: [String: String] = [:]
    for line in run.stdout.split(separator: "\n") where line.hasPrefix("  ") {
        let parts = line.trimmingCharacters(in: .whitespaces).components(separatedBy: "  ").filter { !$0.isEmpty }
        if parts.count >= 2 { rows[parts[0]] = parts[1].trimmingCharacters(in: .whitespaces) }
    }
    #expect(run.stdout.hasPrefix(v4 + "\n"))
    #expect(rows["frames"] == "\(expected.frames)")
    #expect(rows["link types"] == "EN10MB 25")
    #expect(rows["TCP segments"] == "\(expected.segments) (\(expected.payload) payload bytes)")
    #expect(rows["on SMTP ports"] == "\(expected.segments) (ports 25, 587, 2525)")
    #expect(rows["time span"]?.hasPrefix("2026-11-29T16:42:44.389404000Z") == true)
}

@Test func portsAndFilterChangeTheCounts() throws {
    let run = try CLIRunner.run(["analyze", "--format", "jsonl", "--port", "587", "--filter", "tcp[tcpflags] & tcp-syn != 0", v4])
    #expect(run.status == 0)
    let summary = try #require(try summaries(run.stdout).first)
    #expect(summary["packets"] as? Int == 25)
    #expect(summary["frames_decoded"] as? Int == 2)  // tshark -Y tcp.flags.syn==1: frames 1, 2
    #expect(summary["smtp_ports"] as? [Int] == [587])
    #expect(summary["smtp_segments"] as? Int == 0)
}

@Test(arguments: [
    ("captures/foundation/empty.pcap", "frame 1: not a pcap or pcapng capture (empty file)"),
    ("captures/foundation/not-a-capture.pcap", "frame 1: not a pcap or pcapng capture (unknown file format)"),
    ("captures/foundation/smtp-mixed-links.pcapng", "frame 1: pcapng interfaces with different link types"),
    ("captures/foundation/no-such-file.pcap", "no such file"),
    ("captures/foundation", "is a directory"),
])
func unreadableInputExitsTwoWithOneLine(path: String, reason: String) throws {
    let run = try CLIRunner.run(["analyze", path])
    #expect(run.status == 2)
    #expect(run.stdout.isEmpty)
    let lines = run.stderr.split(separator: "\n")
    #expect(lines.count == 1)
    #expect(lines.first?.hasPrefix("smtpscope: \(path): \(reason)") == true, "\(run.stderr)")
}

@Test func cutFileReportsFrameAndKeepsEarlierFrames() throws {
    let path = "captures/foundation/cut-mid-record.pcap"
    let run = try CLIRunner.run(["analyze", "--format", "jsonl", path])
    #expect(run.status == 0)
    #expect(run.stderr.split(separator: "\n").count == 1)
    #expect(run.stderr.hasPrefix("smtpscope: \(path): frame 25: file cut in the middle of a record"))
    let summary = try #require(try summaries(run.stdout).first)
    let tsharkFrames = try tsharkCounts(path).frames  // tshark reads 24 before the cut
    #expect(summary["packets"] as? Int == tsharkFrames)
    #expect((summary["read_error"] as? [String: Any])?["frame"] as? Int == 25)
}

@Test func recordOverSnapshotLengthIsReported() throws {
    let path = "captures/foundation/caplen-over-snaplen.pcap"
    let run = try CLIRunner.run(["analyze", path])
    #expect(run.status == 0)
    #expect(run.stderr == "smtpscope: \(path): frame 4: captured length 99 exceeds the file's snapshot length 96; "
        + "libpcap kept the first 96 bytes (4 records like this)\n")
}

@Test func multipleFilesAreEachReported() throws {
    let cut = "captures/foundation/cut-mid-record.pcap", missing = "captures/foundation/missing.pcap"
    let run = try CLIRunner.run(["analyze", "--format", "jsonl", v4, missing, cut])
    #expect(run.status == 2)  // one input could not be read at all
    let records = try summaries(run.stdout)
    #expect(records.map { $0["capture"] as? String } == [v4, cut])
    #expect(records.map { $0["packets"] as? Int } == [25, 24])
    let lines = run.stderr.split(separator: "\n")
    #expect(lines.count == 2)
    #expect(lines.first?.hasPrefix("smtpscope: \(missing): no such file") == true)
}

@Test func standardInputAndOutputFile() throws {
    let output = try SyntheticCapture.temporaryPath(named: "summary.jsonl")
    let run = try CLIRunner.run(
        ["analyze", "--format", "jsonl", "--output", output.path, "-"],
        stdin: PackagePaths.root.appendingPathComponent(v4))
    #expect(run.status == 0)
    #expect(run.stdout.isEmpty)
    let written = try String(contentsOf: output, encoding: .utf8)
    let summary = try #require(try summaries(written).first)
    #expect(summary["capture"] as? String == "-")
    #expect(summary["packets"] as? Int == 25)
}

@Test func usageErrorsExitTwo() throws {
    #expect(try CLIRunner.run(["analyze"]).status == 2)
    #expect(try CLIRunner.run(["analyze", "--format", "xml", v4]).status == 2)
    let badFilter = try CLIRunner.run(["analyze", "--filter", "tcp port", v4])
    #expect(badFilter.status == 2 && badFilter.stderr.contains("invalid filter"))
}
