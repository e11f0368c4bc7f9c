import Foundation
import Testing
import TestSupport

// Golden tests (issue 6): `smtpscope analyze --format jsonl` on every capture in captures/ must print
// exactly the reviewed `<capture>.expected.jsonl` next to it. A missing expected file fails.
// Re-recording is explicit and fails the run so that no baseline changes silently:
//   SMTPSCOPE_RECORD_GOLDENS=1 swift test --filter GoldenTests
// then review every changed file against the capture's truth (MANIFEST, truth.json, tshark) and commit.
// Independently of the golden files, captures with a lab truth.json are checked against it (see TruthTests).

/// Captures that are unreadable on purpose: instead of a golden file, exit 2, nothing on standard output,
/// and this one line on standard error.
let unreadableCaptures: [String: String] = [
    // zero bytes
    "captures/foundation/empty.pcap": "frame 1: not a pcap or pcapng capture (empty file)",
    // a line of SMTP text
    "captures/foundation/not-a-capture.pcap": "frame 1: not a pcap or pcapng capture (unknown file format)",
    // Ethernet and SLL2 interfaces in one pcapng: libpcap 1.10 refuses the second interface
    "captures/foundation/smtp-mixed-links.pcapng": "frame 1: pcapng interfaces with different link types",
]

/// Folders outside the golden corpus.
let excludedFolders: [String] = [
    // fuzzing reproducers: RegressionTests replays them through every layer and checks they do not trap
    "captures/regressions/",
]

/// Readable captures damaged on purpose: the one line (prefix after `smtpscope: FILE: `) each prints on
/// standard error. Every other capture must leave standard error empty.
let damagedCaptures: [String: String] = [
    "captures/foundation/cut-mid-record.pcap": "frame 25: file cut in the middle of a record",  // MANIFEST: cut inside record 25
    "captures/foundation/caplen-over-snaplen.pcap": "frame 4: captured length 99 exceeds the file's snapshot length 96",
    // LAB-MANIFEST: kb outside.pcap cut inside record 51
    "captures/variants/kb-outside-cut-mid-record.pcap": "frame 51: file cut in the middle of a record",
]

/// Every capture of the golden corpus.
func goldenCorpus() -> [String] {
    ((try? GoldenFiles.captures()) ?? []).filter { path in !excludedFolders.contains { path.hasPrefix($0) } }
}

/// Folders holding both sides of one lab run; analysed together they have a golden file of their own.
func twoSidedRuns() -> [String] {
    let folders = Set(goldenCorpus().map { ($0 as NSString).deletingLastPathComponent })
    return folders.filter { folder in
        ["outside.pcap", "inside.pcap"].allSatisfy {
            FileManager.default.fileExists(atPath: PackagePaths.root.appendingPathComponent("\(folder)/\($0)").path)
        }
    }.sorted()
}

/// Exit status 1 must mean what the records say (DESIGN: a transaction not ok (encrypted ones aside:
/// a clean STARTTLS delivery is no problem), a warning or error finding, a message sent more than once,
/// or a middlebox).
func recordsSayProblem(_ jsonl: String) throws -> Bool {
    let all = try records(jsonl)
    let flows = all.filter { $0["type"] as? String == "flow" }
    let badTransaction = flows.contains { flow in
        (flow["transactions"] as? [[String: Any]] ?? []).contains { !["ok", "encrypted"].contains($0["diagnosis"] as? String) }
    }
    let badFinding = flows.contains { flow in
        (flow["findings"] as? [[String: Any]] ?? []).contains { ["warning", "error"].contains($0["severity"] as? String) }
    }
    let summary = try summaryRecord(jsonl)
    let middlebox = (summary["middlebox"] as? [String: Any])?["detected"] as? Bool == true
    return badTransaction || badFinding || (summary["retried_messages"] as? Int ?? 0) > 0 || middlebox
}

/// Compares `stdout` with the golden file, or records it.
func checkGolden(_ stdout: String, file: URL, label: String) throws {
    if GoldenFiles.isRecording {
        try stdout.write(to: file, atomically: true, encoding: .utf8)
        Issue.record("recorded \(file.path): review it against the capture's truth, then run without SMTPSCOPE_RECORD_GOLDENS")
        return
    }
    guard let expected = try? String(contentsOf: file, encoding: .utf8) else {
        Issue.record("\(label): no expected file \(file.path); record it with SMTPSCOPE_RECORD_GOLDENS=1 and review it")
        return
    }
    if let difference = GoldenFiles.difference(expected: expected, actual: stdout) {
        Issue.record("\(label): output differs from \(file.lastPathComponent): \(difference)")
    }
}

@Suite struct GoldenTests {
    @Test func corpusIsFound() {
        let corpus = goldenCorpus()
        #expect(corpus.count >= 14, "\(corpus)")
        #expect(corpus.contains("captures/foundation/smtp-v4-eth.pcap"))
        for path in unreadableCaptures.keys.sorted() + damagedCaptures.keys.sorted() {
            #expect(corpus.contains(path), "listed but not in captures/: \(path)")
        }
    }

    @Test(arguments: goldenCorpus())
    func analyzeMatchesGolden(capture: String) throws {
        let run = try CLIRunner.run(["analyze", "--format", "jsonl", capture])
        if let reason = unreadableCaptures[capture] {
            #expect(run.status == 2)
            #expect(run.stdout.isEmpty)
            #expect(run.stderr.split(separator: "\n").count == 1)
            #expect(run.stderr.hasPrefix("smtpscope: \(capture): \(reason)"), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: GoldenFiles.expectedFile(for: capture).path),
                    "an unreadable capture has no golden file")
            return
        }
        if let line = damagedCaptures[capture] {
            #expect(run.stderr.split(separator: "\n").count == 1)
            #expect(run.stderr.hasPrefix("smtpscope: \(capture): \(line)"), "\(run.stderr)")
        } else {
            #expect(run.stderr.isEmpty, "\(run.stderr)")
        }
        #expect(run.status == (try recordsSayProblem(run.stdout) ? 1 : 0))
        // Deterministic: a second run prints the same bytes.
        #expect(try CLIRunner.run(["analyze", "--format", "jsonl", capture]).stdout == run.stdout)
        try checkGolden(run.stdout, file: GoldenFiles.expectedFile(for: capture), label: capture)
    }

    /// Both sides of one lab run in one analysis: the correlation across files is in the golden file too.
    @Test(arguments: twoSidedRuns())
    func bothSidesMatchGolden(folder: String) throws {
        let run = try CLIRunner.run(["analyze", "--format", "jsonl", "\(folder)/outside.pcap", "\(folder)/inside.pcap"])
        #expect(run.stderr.isEmpty, "\(run.stderr)")
        #expect(run.status == (try recordsSayProblem(run.stdout) ? 1 : 0))
        try checkGolden(run.stdout, file: PackagePaths.root.appendingPathComponent("\(folder)/both-sides.expected.jsonl"), label: folder)
    }

    /// Every golden file belongs to a capture (or a two-sided run) that is still there.
    @Test func noStaleGoldenFiles() throws {
        let corpus = Set(goldenCorpus())
        let pairs = Set(twoSidedRuns())
        let walker = FileManager.default.enumerator(atPath: PackagePaths.captures.path)
        while let relative = walker?.nextObject() as? String {
            let path = "captures/" + relative
            if path.hasSuffix("/both-sides.expected.jsonl") {
                #expect(pairs.contains((path as NSString).deletingLastPathComponent), "stale \(path)")
            } else if path.hasSuffix(".expected.jsonl") {
                #expect(corpus.contains(String(path.dropLast(".expected.jsonl".count))), "stale \(path)")
            }
        }
    }
}
