import Foundation
import Testing
import TestSupport

/// `smtpscope analyze --threads N` (issue 9): the flows are split over N workers, and the output
/// must be byte-for-byte what one thread prints (`--threads 1`, the independent expectation),
/// in JSON Lines and in text, on every capture of the corpus, on hostile and generated captures,
/// and with idle timeouts. Limits that span flows are divided among the workers; reaching them
/// must still be reported. Serialized: several hundred runs of the binary, one at a time, so
/// that timed tests elsewhere (the live lab) are not starved.
@Suite(.serialized) struct ThreadsTests {
    static let counts = [2, 3, 5]

    /// Runs `analyze` once per thread count (1 first) and expects every run to print what `--threads 1` printed.
    static func expectSameOutput(_ arguments: [String], label: String, textToo: Bool = true, timeout: TimeInterval = 120) throws {
        let formats = [["--format", "jsonl"]] + (textToo ? [["--format", "text", "--all"]] : [])
        for format in formats {
            let one = try CLIRunner.run(["analyze", "--threads", "1"] + format + arguments, timeout: timeout)
            #expect(one.status != -1, "\(label): timed out")
            for count in counts {
                let many = try CLIRunner.run(["analyze", "--threads", String(count)] + format + arguments, timeout: timeout)
                #expect(many.status == one.status, "\(label) \(format[1]) --threads \(count): exit \(many.status) vs \(one.status)")
                #expect(many.stderr == one.stderr, "\(label) \(format[1]) --threads \(count): \(many.stderr)")
                if let difference = GoldenFiles.difference(expected: one.stdout, actual: many.stdout) {
                    Issue.record("\(label) \(format[1]) --threads \(count) differs from --threads 1: \(difference)")
                }
            }
        }
    }

    @Test(arguments: goldenCorpus())
    func corpusCaptureIsTheSameOnAnyThreadCount(capture: String) throws {
        try Self.expectSameOutput([capture], label: capture)
    }

    /// Several inputs in one run: flows are numbered per capture, correlation spans them.
    @Test(arguments: twoSidedRuns())
    func bothSidesAreTheSameOnAnyThreadCount(folder: String) throws {
        try Self.expectSameOutput(["\(folder)/outside.pcap", "\(folder)/inside.pcap"], label: folder)
    }

    /// Short idle and reply timeouts on a capture with pauses: flows end as idle on clock
    /// ticks, in least-recently-active order, across workers (JSON Lines only: the text is
    /// rendered from the same records, checked above).
    @Test func idleTimeoutsAreTheSameOnAnyThreadCount() throws {
        let captures = goldenCorpus().filter { !unreadableCaptures.keys.contains($0) }
        #expect(captures.count >= 14)
        for capture in captures {
            try Self.expectSameOutput(["--idle-timeout", "0.2", "--reply-timeout", "0.5", capture], label: "\(capture) idle 0.2 s", textToo: false)
        }
    }

    /// A hostile capture of `smtpscope-gen adversarial`: kind, scale and the CLI tests' small limits.
    struct HostileCase: Sendable, CustomStringConvertible {
        var kind: String
        var scale: Double
        var options: [String] = []
        var description: String { kind }
    }

    static let hostileCases: [HostileCase] = [
        HostileCase(kind: "overlap-conflict", scale: 0.01),
        HostileCase(kind: "seq-hole", scale: 0.01, options: ["--max-out-of-order-bytes", "4096"]),
        HostileCase(kind: "huge-body", scale: 1.0 / 1_024),
        HostileCase(kind: "pipelined-flood", scale: 0.01, options: ["--max-pending-commands", "100"]),
        HostileCase(kind: "endless-line", scale: 0.001, options: ["--max-line-length", "1024"]),
        HostileCase(kind: "records", scale: 0.001),
        HostileCase(kind: "pcapng-interfaces", scale: 0.01),
        HostileCase(kind: "frag-flood", scale: 0.001),
        HostileCase(kind: "syn-flood", scale: 0.001),
    ]

    /// Hostile captures, small: the same output on any thread count.
    @Test(arguments: hostileCases)
    func adversarialCaseIsTheSameOnAnyThreadCount(hostile: HostileCase) throws {
        let capture = try Self.adversarial(hostile.kind, scale: hostile.scale)
        defer { try? FileManager.default.removeItem(at: capture) }
        try Self.expectSameOutput(hostile.options + [capture.path], label: hostile.kind)
    }

    /// A generated capture of many interleaved conversations (retries, splits, timeouts).
    @Test func generatedCaptureIsTheSameOnAnyThreadCount() throws {
        let (capture, truth) = try GeneratorTests.generate(size: "2MB", seed: 7, name: "threads-generated")
        defer {
            try? FileManager.default.removeItem(at: capture)
            try? FileManager.default.removeItem(at: truth)
        }
        try Self.expectSameOutput([capture.path], label: "generated 2MB")
        try Self.expectSameOutput(["--idle-timeout", "0.05", capture.path], label: "generated 2MB, idle 0.05 s")
    }

    /// The flow table divided among workers: the SYN flood (1,000 SYN-only flows, built so) still
    /// reaches it, and every eviction is reported as a limit, in the summary and on the flow.
    @Test func flowTableLimitIsReportedWithThreads() throws {
        let capture = try Self.adversarial("syn-flood", scale: 0.001)
        defer { try? FileManager.default.removeItem(at: capture) }
        for count in [2, 3] {
            let run = try CLIRunner.run(["analyze", "--threads", String(count), "--format", "jsonl", "--max-flows", "100", capture.path])
            let records = run.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            let summary = try #require(records.last)
            #expect(summary["type"] as? String == "summary")
            #expect((summary["flows"] as? NSNumber)?.intValue == 1_002)
            // Each worker holds at most ⌈100/count⌉ flows. Of the 1,002 flows, the two conversations
            // may close by themselves and at most count × ⌈100/count⌉ are still held at the end:
            // every other one was evicted, and each eviction is a limit reached.
            let held = count * ((100 + count - 1) / count)
            let evicted = 1_002 - 2 - held
            let limits = (summary["limits_hit"] as? NSNumber)?.intValue ?? -1
            #expect(limits >= evicted, "--threads \(count): limits_hit \(limits)")
            let flagged = records.filter { record in
                ((record["findings"] as? [[String: Any]]) ?? []).contains { $0["code"] as? String == "capture.limit_reached" }
            }
            #expect(flagged.count >= evicted)
        }
    }

    @Test func threadCountIsValidated() throws {
        let zero = try CLIRunner.run(["analyze", "--threads", "0", "captures/foundation/smtp-v4-eth.pcap"])
        #expect(zero.status == 2 || zero.status == 64)
        #expect(zero.stderr.contains("--threads"))
        let help = try CLIRunner.run(["analyze", "--help"])
        #expect(help.stdout.contains("--threads"))
        #expect(help.stdout.contains("identical"))
    }

    static func adversarial(_ kind: String, scale: Double) throws -> URL {
        let capture = try SyntheticCapture.temporaryPath(named: "threads-\(kind).pcap")
        let generator = Process()
        generator.executableURL = try GeneratorTests.generatorBinary()
        generator.arguments = ["adversarial", kind, "-w", capture.path, "--scale", String(scale), "--quiet"]
        try generator.run()
        generator.waitUntilExit()
        try #require(generator.terminationStatus == 0)
        return capture
    }
}
