import Foundation
import Testing
import TestSupport

/// Small versions of the hostile captures of `smtpscope-gen adversarial`, run through
/// the built `smtpscope analyze --format jsonl` with small limits so that each case
/// reaches its limit in seconds. Each test checks: no crash (exit 0 or 1), the limit
/// reported where the case reaches it, and the results that could still be computed.
/// Expected counts come from how the case is built (see AdversarialCases.swift), not
/// from smtpscope's output.
@Suite(.serialized)
struct AdversarialTests {
    /// What one analysis printed.
    struct Analysis {
        var status: Int32
        var stderr: String
        var records: [[String: Any]]
        var summary: [String: Any] { records.last ?? [:] }
        var flows: [[String: Any]] { records.filter { $0["type"] as? String == "flow" } }
        func int(_ key: String) -> Int { (summary[key] as? NSNumber)?.intValue ?? -1 }
        func outcome(_ name: String) -> Int { ((summary["outcomes"] as? [String: Any])?[name] as? NSNumber)?.intValue ?? -1 }
        /// How many flow records carry the finding `code`.
        func findings(_ code: String) -> Int {
            flows.filter { (($0["findings"] as? [[String: Any]]) ?? []).contains { $0["code"] as? String == code } }.count
        }
    }

    /// Generates `kind` at `scale` and analyses it with `options`.
    static func run(_ kind: String, scale: Double, options: [String] = []) throws -> Analysis {
        let capture = try SyntheticCapture.temporaryPath(named: "adversarial-\(kind).pcap")
        defer { try? FileManager.default.removeItem(at: capture) }
        let generator = Process()
        generator.executableURL = try GeneratorTests.generatorBinary()
        generator.arguments = ["adversarial", kind, "-w", capture.path, "--scale", String(scale), "--quiet"]
        try generator.run()
        generator.waitUntilExit()
        try #require(generator.terminationStatus == 0)
        let result = try CLIRunner.run(["analyze", "--format", "jsonl"] + options + [capture.path], timeout: 120)
        let records = result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect([0, 1].contains(result.status), "exit \(result.status), stderr: \(result.stderr)")
        #expect(records.last?["type"] as? String == "summary")
        return Analysis(status: result.status, stderr: result.stderr, records: records)
    }

    @Test func synFloodEvictsAndReports() throws {
        // 1,000 SYN-only flows between two complete conversations; table of 100.
        let analysis = try Self.run("syn-flood", scale: 0.001, options: ["--max-flows", "100"])
        #expect(analysis.int("flows") == 1_002)
        // The first conversation has closed before the flood; the 1,001 flows after it pass through 100 slots.
        #expect(analysis.int("limits_hit") >= 901)
        #expect(analysis.findings("capture.limit_reached") >= 901)
        #expect(analysis.outcome("accepted") == 2)
    }

    @Test func conflictingRetransmissionsAreFlaggedAndTheMessageSurvives() throws {
        let analysis = try Self.run("overlap-conflict", scale: 0.01)
        #expect(analysis.findings("tcp.overlap_conflict") == 1)
        #expect(analysis.outcome("accepted") == 1)
    }

    @Test func outOfOrderLimitDuringOverlapsIsReported() throws {
        // 16 KiB buffered beyond the hole against a 4 KiB per-flow limit.
        let analysis = try Self.run("overlap-conflict", scale: 0.01, options: ["--max-out-of-order-bytes", "4096"])
        #expect(analysis.findings("capture.limit_reached") == 1)
        #expect(analysis.int("transactions") == 1)
    }

    @Test func sequenceHoleIsAGapNotAnAllocation() throws {
        // 2 GiB - 1 MiB hole, 41,943 bytes beyond it, 4 KiB allowed out of order.
        let analysis = try Self.run("seq-hole", scale: 0.01, options: ["--max-out-of-order-bytes", "4096"])
        #expect(analysis.findings("capture.limit_reached") == 1)
        #expect(analysis.findings("capture.gap") == 1)
        #expect(analysis.int("transactions") == 1)
    }

    @Test func hugeBodyIsCountedWhole() throws {
        // 1 MiB body; counted with or without the CRLF before the final dot (both conventions exist).
        let analysis = try Self.run("huge-body", scale: 1.0 / 1_024)
        #expect(analysis.outcome("accepted") == 1)
        let sizes = analysis.flows.flatMap { ($0["transactions"] as? [[String: Any]]) ?? [] }.compactMap { ($0["size"] as? NSNumber)?.intValue }
        #expect(sizes == [1_048_576] || sizes == [1_048_576 + 2])
    }

    @Test func pipelinedFloodReachesThePendingLimit() throws {
        // 10,000 NOOPs without replies against 100 pending commands.
        let analysis = try Self.run("pipelined-flood", scale: 0.01, options: ["--max-pending-commands", "100"])
        #expect(analysis.findings("smtp.pipeline_limit") == 1)
        #expect(analysis.int("flows") == 1)
    }

    @Test func endlessLineIsReported() throws {
        // 268,435 bytes without CRLF against a 1,024-byte line limit; the connection then closes.
        let analysis = try Self.run("endless-line", scale: 0.001, options: ["--max-line-length", "1024"])
        #expect(analysis.int("flows") == 1)
        #expect(analysis.findings("smtp.line_too_long") == 1)
    }

    @Test func zeroLengthAndGiantRecords() throws {
        // 21 frames of conversation, 1 zero-length record, a SYN, a 100,000-byte record (snaplen 65,535),
        // then a 300,000-byte record libpcap refuses: frame 25.
        let analysis = try Self.run("records", scale: 0.001)
        #expect(analysis.stderr.contains("frame 24: captured length 100000 exceeds the file's snapshot length 65535"))
        #expect(analysis.stderr.contains("frame 25:") && analysis.stderr.contains("300000"))
        #expect(analysis.int("packets") == 24)
        #expect(analysis.int("read_errors") == 1)
        #expect(analysis.int("decode_errors") >= 1)
        #expect(analysis.outcome("accepted") == 1)
    }

    @Test func pcapngWithManyInterfacesOfOneLinkType() throws {
        let analysis = try Self.run("pcapng-interfaces", scale: 0.01)
        #expect(analysis.int("packets") == 21)
        #expect(analysis.int("read_errors") == 0)
        #expect(analysis.outcome("accepted") == 1)
    }

    @Test func pcapngWithMixedLinkTypesSaysWhy() throws {
        // Interface 0 carries the 21-frame conversation; the next block describes a raw-IP interface.
        let analysis = try Self.run("pcapng-mixed", scale: 1)
        #expect(analysis.stderr.contains("frame 22:") && analysis.stderr.contains("different link types"))
        #expect(analysis.outcome("accepted") == 1)
    }

    @Test func fragmentFloodKeepsTheFragmentedConversation() throws {
        // 1,000 never-completed fragments (more than the 256 datagrams kept) around a conversation sent in fragments.
        let analysis = try Self.run("frag-flood", scale: 0.001)
        #expect(analysis.outcome("accepted") == 1)
        // 1,000 datagrams never complete and at most 256 are held at once: at least 744 are
        // evicted, each a limit reached; no more than the 1,000 incomplete ones can be.
        let limits = analysis.int("limits_hit")
        #expect(limits >= 744 && limits <= 1_000, "limits_hit \(limits)")
    }
}
