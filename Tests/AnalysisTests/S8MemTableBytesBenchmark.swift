@testable import Analysis
import Foundation
import Testing

/// What the correlation table holds per distinct message for real traffic: the transactions
/// of an `analyze --format jsonl` output (the benchmark capture's, in the order the analysis
/// noted them: flow lines are written as flows close), noted into a ``MessageTable``; prints
/// its arena (packed pages, the open page), slots and index per identity.
/// Opt-in: SMTPSCOPE_BENCH=1 SMTPSCOPE_BENCH_JSONL=/tmp/o-1g-base.jsonl swift test --filter S8MemTableBytesBenchmark
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SMTPSCOPE_BENCH"] == "1"))
struct S8MemTableBytesBenchmark {
    @Test func bytesPerMessageOfAnalyzeOutput() throws {
        let path = ProcessInfo.processInfo.environment["SMTPSCOPE_BENCH_JSONL"] ?? "/tmp/o-1g-base.jsonl"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var table = MessageTable(options: AnalysisOptions())
        var transactions = 0
        for line in text.split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["type"] as? String == "flow", let list = object["transactions"] as? [[String: Any]] else { continue }
            let capture = object["capture"] as? Int ?? 0, flow = object["flow"] as? Int ?? 0
            for item in list {
                // Starts are printed in microseconds: rounded back to whole ones.
                let start = Int64(((item["start"] as? Double ?? 0) * 1_000_000).rounded()) * 1_000
                table.add(TransactionRecord(
                    capture: capture, flow: flow, client: EndpointRecord(ip: "192.0.2.1", port: 1), server: EndpointRecord(ip: "192.0.2.2", port: 25),
                    index: item["index"] as? Int ?? 0, mailFrom: item["mail_from"] as? String, rcptTo: item["rcpt_to"] as? [String] ?? [],
                    messageID: item["message_id"] as? String, fingerprint: item["fingerprint"] as? String, startNanoseconds: start,
                    outcome: Outcome(rawValue: item["outcome"] as? String ?? "") ?? .incomplete,
                    diagnosis: Diagnosis(rawValue: item["diagnosis"] as? String ?? "") ?? .incompleteCapture))
                transactions += 1
            }
        }
        let parts = table.footprint, n = max(table.count, 1)
        func per(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / Double(n)) }
        Swift.print("message table: \(transactions) transactions, \(table.count) identities, \(table.messages().count) messages; "
            + "per identity: arena \(per(parts.arena)) B (garbage \(per(parts.garbage))), slots \(per(parts.slots)) B, "
            + "index \(per(parts.index)) B, total \(per(parts.arena + parts.slots + parts.index)) B")
        #expect(table.count > 0)
    }
}
