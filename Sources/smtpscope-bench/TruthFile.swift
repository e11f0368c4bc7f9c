import Foundation

/// The generator's truth file, reduced to what each stage can be checked on.
struct TruthFile {
    /// Per sent message: "client>server message-id reply-code|null".
    var messages: [String] = []
    /// Per transaction (also those whose message was never sent), as ``transactionKey``.
    var transactions: [String] = []
    /// `message` records (one per message the generator had sent, retries each their own).
    var messageRecords = 0

    init?(path: String) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            guard let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                record["type"] as? String == "message"
            else { continue }
            messageRecords += 1
            if let client = record["client"] as? [String: Any], let server = record["server"] as? [String: Any] {
                transactions.append(Self.transactionKey(
                    client: client, server: server, index: record["transaction"] as? Int ?? -1,
                    messageID: record["message_id"] as? String, reply: record["reply_code"] as? Int,
                    diagnosis: record["diagnosis"] as? String ?? "?", split: record["split_after"] as? [Int] ?? []))
            }
            guard let id = record["message_id"] as? String,
                let client = record["client"] as? [String: Any], let server = record["server"] as? [String: Any]
            else { continue }
            let code = (record["reply_code"] as? Int).map(String.init) ?? "null"
            messages.append("\(Self.endpoint(client))>\(Self.endpoint(server)) \(id) \(code)")
        }
    }

    static func endpoint(_ value: [String: Any]) -> String {
        let ip = value["ip"] as? String ?? "?"
        let port = value["port"] as? Int ?? -1
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    /// "client>server index message-id reply-code diagnosis [split]" for one transaction.
    static func transactionKey(
        client: [String: Any], server: [String: Any], index: Int, messageID: String?, reply: Int?, diagnosis: String, split: [Int]
    ) -> String {
        "\(endpoint(client))>\(endpoint(server)) #\(index) \(messageID ?? "null") \(reply.map(String.init) ?? "null") \(diagnosis) \(split)"
    }

    /// Compares what a stage reported with the truth (`messages` or `transactions`), as multisets.
    func compare(_ seen: [String], against truth: [String], stage: String, what: String) -> String {
        var expected: [String: Int] = [:]
        for message in truth { expected[message, default: 0] += 1 }
        var unexpected: [String] = []
        for message in seen {
            if let count = expected[message], count > 0 { expected[message] = count - 1 } else { unexpected.append(message) }
        }
        let missing = expected.flatMap { Array(repeating: $0.key, count: $0.value) }.sorted()
        if missing.isEmpty && unexpected.isEmpty {
            return "\(stage) vs truth: EQUAL — \(truth.count) \(what)"
        }
        var text = "\(stage) vs truth: DIFFERENT — \(truth.count) expected, \(missing.count) missing, \(unexpected.count) unexpected"
        for line in missing.prefix(3) { text += "\n    missing:    \(line)" }
        for line in unexpected.sorted().prefix(3) { text += "\n    unexpected: \(line)" }
        return text
    }
}

/// The generator's summary line of each capture's truth file, to show two
/// captures have the same traffic mix (concurrency, share of non-SMTP bytes).
enum TrafficMix {
    /// One line, and whether the generator settings were the same.
    static func describe(_ captures: [String]) -> (text: String, same: Bool) {
        let summaries = captures.map { summary(Runner.truthPath(for: $0)) }
        guard summaries.allSatisfy({ $0 != nil }) else { return ("unknown (a truth file is missing)", false) }
        let values = summaries.compactMap { $0 }
        func field(_ name: String) -> String { values.map { "\($0[name] ?? "?")" }.joined(separator: " / ") }
        let same = Set(values.map { "\($0["concurrency"] ?? "?") \($0["seed"] ?? "?") \($0["retry_interval"] ?? "?") \($0["generator"] ?? "?")" }).count == 1
        return ("seed \(field("seed")), concurrency \(field("concurrency")), non-SMTP byte share \(field("other_share")), "
            + "transactions \(field("transactions")) -> \(same ? "same generator settings" : "DIFFERENT generator settings: unfair comparison")", same)
    }

    /// The `{"type":"summary",…}` record (the last line), fields as text.
    static func summary(_ truthPath: String) -> [String: String]? {
        guard let text = try? String(contentsOfFile: truthPath, encoding: .utf8),
            let line = text.split(separator: "\n").last(where: { $0.contains(#""type":"summary""#) }),
            let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { return nil }
        return record.mapValues { "\($0)" }
    }
}
