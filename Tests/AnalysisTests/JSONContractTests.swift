@testable import Analysis
import Foundation
import Testing

/// JSON kinds as JSONSerialization hands them back.
enum Kind: Equatable {
    case string, number, bool, null, array, object

    init(_ value: Any) {
        if value is NSNull { self = .null }
        else if String(describing: type(of: value)).contains("Boolean") { self = .bool }
        else if value is NSNumber { self = .number }
        else if value is String { self = .string }
        else if value is [Any] { self = .array }
        else { self = .object }
    }
}

@Suite struct JSONContractTests {
    /// A stalled split attempt at 1 s and its answered retry 45 s later, in two flows.
    static func result() -> AnalysisResult {
        var first = TrackerHarness()
        first.reply(220, "mx.example.net ESMTP \"quoted\"\ttab", answering: .greeting, frame: 3, ms: 5)
        first.sendMessage(splitAfter: [2])
        first.end(.clientToServer, .fin, frame: 30, ms: 16_001)
        var flowA = first.close(now: 16_001)
        flowA.flow = 0
        flowA.transactions[0].flow = 0
        var second = TrackerHarness()
        let last = second.sendMessage(splitAfter: [], startMs: 46_000)
        second.reply(250, "2.0.0 Ok", answering: .endOfData(transaction: 0), frame: 12, ms: last.ms + 100)
        var flowB = second.close(now: 47_000)
        flowB.flow = 1
        flowB.transactions[0].flow = 1
        var stats = CaptureStats(index: 0, name: "outside.pcap")
        stats.packets = 60
        return AnalysisResult(flows: [flowB, flowA], captures: [stats], windowNanoseconds: 5_000_000_000)
    }

    static func parse(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    static func expectKinds(_ object: [String: Any], _ kinds: [String: [Kind]], sourceLocation: SourceLocation = #_sourceLocation) {
        for (key, allowed) in kinds {
            guard let value = object[key] else {
                Issue.record("missing field \(key)", sourceLocation: sourceLocation)
                continue
            }
            #expect(allowed.contains(Kind(value)), "field \(key) is \(Kind(value))", sourceLocation: sourceLocation)
        }
    }

    @Test func linesInContractOrderWithSchema() throws {
        let lines = JSONLinesEncoder.encode(Self.result())
        #expect(lines.count == 4)  // 2 flows, 1 message, summary
        let types = try lines.map { try Self.parse($0)["type"] as? String }
        #expect(types == ["flow", "flow", "message", "summary"])
        for line in lines {
            #expect(try Self.parse(line)["schema"] as? String == "smtpscope/1")
            #expect(line.hasPrefix("{\"type\":"))
            #expect(!line.contains("\n"))
        }
        #expect(lines[0].contains("\"flow\":0,"))  // sorted by flow
        #expect(lines[0].contains("\"start\":1700000000.000000,"))
    }

    @Test func flowAndTransactionFields() throws {
        let flow = try Self.parse(JSONLinesEncoder.encode(Self.result())[0])
        Self.expectKinds(flow, [
            "capture": [.number], "flow": [.number], "community_id": [.string], "client": [.object], "server": [.object],
            "start": [.number], "end": [.number], "first_frame": [.number], "last_frame": [.number], "end_reason": [.string],
            "closed_by": [.string, .null], "banner": [.string, .null], "tls": [.bool], "transactions": [.array],
            "findings": [.array], "wireshark_filter": [.string],
        ])
        #expect(flow["banner"] as? String == "220 mx.example.net ESMTP \"quoted\"\ttab")
        #expect(flow["end_reason"] as? String == "fin")
        #expect(flow["closed_by"] as? String == "client")
        let client = try #require(flow["client"] as? [String: Any])
        #expect(client["ip"] as? String == "192.0.2.10")
        #expect(client["port"] as? Int == 41234)
        let transaction = try #require((flow["transactions"] as? [[String: Any]])?.first)
        Self.expectKinds(transaction, [
            "index": [.number], "mail_from": [.string, .null], "rcpt_to": [.array], "message_id": [.string, .null],
            "size": [.number, .null], "fingerprint": [.string, .null], "data_frame": [.number, .null],
            "terminator": [.object], "reply": [.object, .null], "outcome": [.string], "diagnosis": [.string],
        ])
        #expect(transaction["reply"] is NSNull)
        #expect(transaction["outcome"] as? String == "no_reply")
        #expect(transaction["diagnosis"] as? String == "split_terminator_stall")
        let terminator = try #require(transaction["terminator"] as? [String: Any])
        Self.expectKinds(terminator, ["seen": [.bool], "style": [.string], "frames": [.array], "split_after": [.array], "time": [.number]])
        #expect(terminator["frames"] as? [Int] == [10, 11])
        #expect(terminator["split_after"] as? [Int] == [2])
        let finding = try #require((flow["findings"] as? [[String: Any]])?.first)
        Self.expectKinds(finding, ["code": [.string], "severity": [.string], "frames": [.array], "message": [.string]])
        let codes = (flow["findings"] as? [[String: Any]])?.compactMap { $0["code"] as? String }
        #expect(codes?.contains("smtp.eod_unanswered") == true)

        let answered = try Self.parse(JSONLinesEncoder.encode(Self.result())[1])
        let reply = try #require((answered["transactions"] as? [[String: Any]])?.first?["reply"] as? [String: Any])
        Self.expectKinds(reply, ["code": [.number], "text": [.string], "frame": [.number], "latency": [.number]])
        #expect(reply["latency"] as? Double == 0.1)
    }

    @Test func messageAndSummaryFields() throws {
        let lines = JSONLinesEncoder.encode(Self.result())
        let message = try Self.parse(lines[2])
        Self.expectKinds(message, [
            "message_id": [.string, .null], "fingerprint": [.string, .null], "attempts": [.array], "interval": [.object, .null],
            "regular": [.bool], "accepted": [.number], "accepted_late": [.number],
        ])
        let attempts = try #require(message["attempts"] as? [[String: Any]])
        #expect(attempts.count == 2)
        Self.expectKinds(attempts[0], ["capture": [.number], "flow": [.number], "transaction": [.number], "start": [.number],
                                       "outcome": [.string], "diagnosis": [.string]])
        #expect(attempts.map { $0["flow"] as? Int } == [0, 1])
        let interval = try #require(message["interval"] as? [String: Any])
        #expect(interval["median"] as? Double == 45.0)  // 46 000 ms - 1000 ms (starts at MAIL, 40 ms earlier each)
        #expect(message["accepted"] as? Int == 1)

        let summary = try Self.parse(lines[3])
        Self.expectKinds(summary, [
            "packets": [.number], "flows": [.number], "transactions": [.number], "outcomes": [.object], "diagnoses": [.object],
            "association": [.object], "middlebox": [.object], "decode_errors": [.number], "truncated_frames": [.number],
            "sentence": [.string],
        ])
        #expect(summary["packets"] as? Int == 60)
        let outcomes = try #require(summary["outcomes"] as? [String: Int])
        #expect(outcomes == ["accepted": 1, "accepted_late": 0, "rejected": 0, "no_reply": 1, "no_terminator": 0, "encrypted": 0, "incomplete": 0])
        let association = try #require(summary["association"] as? [String: Any])
        #expect(association["split_unanswered"] as? Int == 1)
        #expect(association["unsplit_answered"] as? Int == 1)
        #expect(association["p_value"] as? Double == 1.0)
        let middlebox = try #require(summary["middlebox"] as? [String: Any])
        Self.expectKinds(middlebox, ["detected": [.bool], "kind": [.string, .null], "evidence": [.array]])
    }

    @Test func liveTransactionRecord() throws {
        let transaction = Self.result().flows[0].transactions[0]
        let object = try Self.parse(JSONLinesEncoder.encode(transaction))
        #expect(object["type"] as? String == "transaction")
        Self.expectKinds(object, ["capture": [.number], "flow": [.number], "client": [.object], "server": [.object],
                                  "index": [.number], "outcome": [.string], "diagnosis": [.string], "terminator": [.object]])
    }

    @Test func encodingIsDeterministic() {
        #expect(JSONLinesEncoder.encode(Self.result()) == JSONLinesEncoder.encode(Self.result()))
    }

    @Test func textReport() {
        let text = renderText(Self.result())
        #expect(text.contains("outside.pcap, flow 0: 192.0.2.10:41234 -> 198.51.100.25:25"))
        #expect(text.contains("terminator split after byte 2 across frames 10/11, no reply came back, the client gave up after 15.0 s (FIN, frame 30)"))
        #expect(text.contains("wireshark: ip.addr==192.0.2.10 && tcp.port==41234"))
        #expect(text.contains("sent 2 times at 45.0 s intervals"))
        #expect(text.contains("1 of 1 split terminators went unanswered, 0 of 1 unsplit ones: only split terminators went unanswered, too few transactions for a significant test (p = 1.000)."))
        #expect(!text.contains("flow 1:"))  // the answered flow has no problem
        #expect(renderText(Self.result(), options: TextOptions(all: true)).contains("flow 1:"))
        #expect(Self.result().hasProblems)
    }
}
