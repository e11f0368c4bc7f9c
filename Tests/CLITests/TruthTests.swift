import Foundation
import Testing
import TestSupport

// Semantic check of `analyze` against the lab's own records (captures/<scenario>/truth.json, written by
// captures/lab/truth.py from the client's log, the middlebox's decisions, the Postfix logs and tshark's
// frame/TCP fields). It does not read the golden files: a golden file recorded from a wrong analysis
// still fails here. Per capture: frames read; each port-25 connection (endpoints, first frame); each strict
// CRLF.CRLF terminator (frames, split positions); per message attempt: the reply code and the diagnosis
// the lab's facts imply.

/// Folders with a truth.json next to their captures.
func truthFolders() -> [String] {
    let folders = Set(goldenCorpus().map { ($0 as NSString).deletingLastPathComponent })
    return folders.filter {
        FileManager.default.fileExists(atPath: PackagePaths.root.appendingPathComponent("\($0)/truth.json").path)
    }.sorted()
}

private func object(_ value: Any?) -> [String: Any] { value as? [String: Any] ?? [:] }
private func objects(_ value: Any?) -> [[String: Any]] { value as? [[String: Any]] ?? [] }

/// What the lab's facts say the diagnosis of one attempt must be.
private func expectedDiagnosis(replyCode: Int?, strictTerminatorArrived: Bool, split: Bool) -> String {
    if let code = replyCode { return (200..<300).contains(code) ? "ok" : "rejected" }
    if !strictTerminatorArrived { return "terminator_not_received" }
    return split ? "split_terminator_stall" : "unanswered"
}

@Test(arguments: truthFolders())
func analysisAgreesWithLabTruth(folder: String) throws {
    let data = try Data(contentsOf: PackagePaths.root.appendingPathComponent("\(folder)/truth.json"))
    let truth = object(try JSONSerialization.jsonObject(with: data))
    let attemptsByMessage = truth["message_attempts"] as? [String: [[String: Any]]] ?? [:]
    #expect(!objects(truth["captures"]).isEmpty)
    for capture in objects(truth["captures"]) {
        let file = try #require(capture["file"] as? String)
        let path = "\(folder)/\(file)"
        let run = try CLIRunner.run(["analyze", "--format", "jsonl", path])
        #expect(run.status == 0 || run.status == 1, "\(path): \(run.stderr)")
        let all = try records(run.stdout)
        let summary = try summaryRecord(run.stdout)
        #expect(summary["packets"] as? Int == capture["frames"] as? Int, "\(path): frames")
        let flows = all.filter { $0["type"] as? String == "flow" }

        // Connections and their strict terminators.
        var strictTerminatorFlows: Set<Int> = []
        for truthFlow in objects(capture["flows_port25"]) {
            let client = endpoint(truthFlow["client"]), server = endpoint(truthFlow["server"])
            let match = flows.first {
                endpoint($0["client"]) == client && endpoint($0["server"]) == server
                    && $0["first_frame"] as? Int == truthFlow["first_frame"] as? Int
            }
            guard let flow = match else {
                Issue.record("\(path): no flow \(client ?? "?") -> \(server ?? "?") from frame \(truthFlow["first_frame"] ?? "?")")
                continue
            }
            let want = objects(truthFlow["terminators_in_client_stream"]).map {
                "\($0["frames"] as? [Int] ?? []) split \($0["split_after"] as? [Int] ?? [])"
            }
            let strict = objects(flow["transactions"]).map { object($0["terminator"]) }.filter {
                $0["seen"] as? Bool == true && $0["style"] as? String == "crlf"
            }
            let got = strict.map { "\($0["frames"] as? [Int] ?? []) split \($0["split_after"] as? [Int] ?? [])" }
            #expect(got == want, "\(path) flow \(flow["flow"] ?? "?"): terminators")
            if !want.isEmpty, let index = flow["flow"] as? Int { strictTerminatorFlows.insert(index) }
        }

        // Message attempts: reply code and diagnosis.
        for (messageID, attempts) in attemptsByMessage.sorted(by: { $0.key < $1.key }) {
            let encryptedFlow = flows.first { flow in
                flow["tls"] as? Bool == true && attempts.contains { endpoint($0["client"]) == endpoint(flow["client"]) }
            }
            if let flow = encryptedFlow {
                #expect(objects(flow["transactions"]).allSatisfy { $0["diagnosis"] as? String == "encrypted" }, "\(path) \(messageID)")
                continue
            }
            let seen = flows.flatMap { flow in
                objects(flow["transactions"]).filter { $0["message_id"] as? String == messageID }.map { (flow, $0) }
            }.sorted { ($0.1["start"] as? Double ?? 0) < ($1.1["start"] as? Double ?? 0) }
            #expect(seen.count == attempts.count, "\(path) \(messageID): \(seen.count) transactions for \(attempts.count) attempts")
            for (attempt, (flow, transaction)) in zip(attempts, seen) {
                let code = attempt["eod_reply_code"] as? Int
                let splits = (attempt["split_after_on_wire"] as? [[Int]])?.first ?? attempt["split_after_as_written"] as? [Int] ?? []
                // Matters only without a reply: then the strict CRLF.CRLF in the stream (tshark's bytes) decides.
                let arrived = strictTerminatorFlows.contains(flow["flow"] as? Int ?? -1)
                let label = "\(path) \(messageID) flow \(flow["flow"] ?? "?")"
                #expect(transaction["diagnosis"] as? String
                    == expectedDiagnosis(replyCode: code, strictTerminatorArrived: arrived, split: !splits.isEmpty), "\(label)")
                let reply = transaction["reply"] as? [String: Any]
                if let code {
                    #expect(reply?["code"] as? Int == code, "\(label): reply")
                } else {
                    #expect(reply == nil || transaction["outcome"] as? String == "accepted_late", "\(label): reply")
                }
                // The client's own side shows the split it wrote.
                if endpoint(flow["client"]) == endpoint(attempt["client"]), object(transaction["terminator"])["style"] as? String == "crlf" {
                    #expect(object(transaction["terminator"])["split_after"] as? [Int] == splits, "\(label): split")
                }
            }
        }
    }
}
