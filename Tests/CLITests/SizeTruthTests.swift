import Foundation
import Testing
import TestSupport

// Message sizes against numbers smtpscope did not compute: what Postfix logged and what the lab
// clients sent. RFC 5321 §4.1.1.4: in CRLF.CRLF "the first <CRLF> is actually the terminator of
// the previous line", so a message's size includes its last line's CRLF, as Postfix counts it.

private func object(_ value: Any?) -> [String: Any] { value as? [String: Any] ?? [:] }
private func objects(_ value: Any?) -> [[String: Any]] { value as? [[String: Any]] ?? [] }

private func truth(_ folder: String) throws -> [String: Any] {
    let data = try Data(contentsOf: PackagePaths.root.appendingPathComponent("\(folder)/truth.json"))
    return object(try JSONSerialization.jsonObject(with: data))
}

/// Every transaction of `analyze --format jsonl` on `path`, in flow order.
private func transactions(_ path: String) throws -> [[String: Any]] {
    let run = try CLIRunner.run(["analyze", "--format", "jsonl", path])
    #expect(run.status == 0 || run.status == 1, "\(path): \(run.stderr)")
    return try records(run.stdout).filter { $0["type"] as? String == "flow" }.flatMap { objects($0["transactions"]) }
}

/// The numbers in Postfix log lines matching `pattern` (one capture group), in log order.
private func logged(_ lines: [String], _ pattern: String) throws -> [Int] {
    let regex = try NSRegularExpression(pattern: pattern)
    return lines.compactMap { line in
        let range = NSRange(line.startIndex..., in: line)
        guard let match = regex.firstMatch(in: line, range: range), let r = Range(match.range(at: 1), in: line) else { return nil }
        return Int(line[r])
    }
}

/// The KB capture: the sending Postfix logged `size=8192` (qmgr) for the message it relayed, the
/// receiving Postfix `lost connection after DATA (8192 bytes)` for each attempt it got without
/// the terminator. Both sides' transactions must say 8192.
@Test func kbMessageSizeIsWhatPostfixLogged() throws {
    let t = try truth("captures/kb-postfix-retries")
    let sent = try logged(t["sender_postfix_log"] as? [String] ?? [], #"qmgr.*: from=<alice@example\.org>, size=(\d+),"#)
    let received = try logged(t["receiver_postfix_log"] as? [String] ?? [], #"lost connection after DATA \((\d+) bytes\)"#)
    #expect(sent == [8192, 8192, 8192])
    #expect(received == [8192, 8192, 8192])
    #expect(object(t["injected"])["size"] as? Int == 8192)

    let outside = try transactions("captures/kb-postfix-retries/outside.pcap")
    #expect(outside.count == 3)
    #expect(outside.map { $0["size"] as? Int } == sent.map { $0 })
    #expect(outside.allSatisfy { object($0["terminator"])["seen"] as? Bool == true })
    let inside = try transactions("captures/kb-postfix-retries/inside.pcap")
    #expect(inside.map { $0["size"] as? Int } == received.map { $0 })
    #expect(inside.allSatisfy { $0["outcome"] as? String == "no_terminator" })
}

/// Mailguard swallowed the completing piece of each split terminator; the receiving Postfix
/// logged how much message it had when the proxy closed. Split after byte 2, 3, 4: it got the
/// whole last line (`…\r\n`, then a held `.` / `.\r`), 904 bytes both ways. Split after byte 1:
/// the last line arrived without its `\n`; Postfix counts complete lines only (839), smtpscope
/// counts the 903 bytes that arrived (the client's 904 less the `\n`).
@Test func incompleteMessagesAgainstPostfixsLostConnectionCount() throws {
    let t = try truth("captures/mailguard-splits")
    let received = try logged(t["receiver_postfix_log"] as? [String] ?? [], #"lost connection after DATA \((\d+) bytes\)"#)
    let sizes = objects(t["clients"]).flatMap { objects($0["connections"]) }.flatMap { objects($0["messages"]) }
        .compactMap { $0["size"] as? Int }
    #expect(sizes == [904, 904, 904, 904])
    #expect(received.count == 4)
    let inside = try transactions("captures/mailguard-splits/inside.pcap")
    #expect(inside.count == 4)
    guard inside.count == 4, received.count == 4, sizes.count == 4 else { return }
    #expect(inside[0]["size"] as? Int == sizes[0] - 1)
    #expect(received[0] < sizes[0] - 1)
    for n in 1..<4 {
        #expect(inside[n]["size"] as? Int == received[n], "split after byte \(n + 1)")
    }
}

/// Every lab message (client.py, DATA or BDAT, no near-miss sequence) whose end smtpscope saw has
/// the size the client recorded for it: `len(headers + body)`, each line with its CRLF.
@Test(arguments: truthFolders())
func labMessageSizesAreWhatTheClientSent(folder: String) throws {
    let t = try truth(folder)
    var expected: [String: Int] = [:]
    for client in objects(t["clients"]) {
        for connection in objects(client["connections"]) {
            for message in objects(connection["messages"]) where message["near_miss"] == nil {
                if let id = message["message_id"] as? String, let size = message["size"] as? Int { expected[id] = size }
            }
        }
    }
    if let injected = t["injected"] as? [String: Any], let id = injected["message_id"] as? String {
        expected[id] = injected["size"] as? Int
    }
    var checked = 0
    for capture in objects(t["captures"]) {
        let file = try #require(capture["file"] as? String)
        for transaction in try transactions("\(folder)/\(file)") {
            guard let id = transaction["message_id"] as? String, let size = expected[id],
                  object(transaction["terminator"])["seen"] as? Bool == true else { continue }
            #expect(transaction["size"] as? Int == size, "\(folder)/\(file) \(id)")
            checked += 1
        }
    }
    // Folders with client messages have at least one whose end was seen (STARTTLS hides its own).
    if !expected.isEmpty && folder != "captures/starttls" { #expect(checked > 0, "\(folder)") }
}

/// captures/smtp/raw_client.py's `message(n, tag)`, rewritten here: the message text without the
/// CRLF that ends its last line (the client adds it before `.` or to the BDAT body).
private func rawClientMessage(_ n: Int, _ tag: String) -> String {
    "From: lab@example.com\r\nTo: rcpt@example.org\r\nSubject: \(tag) \(n)\r\n"
        + "Message-ID: <\(tag)-\(n)@lab.example.com>\r\n\r\n"
        + (0..<12).map { "line \($0) of message \(n)\r\n" }.joined()
        + ".leading dot line\r\n"
        + "last line of \(n)"
}

/// The raw client's messages (a dot-stuffed line each; DATA, BDAT, split terminators) have the
/// size of the text it composed plus the last line's CRLF.
@Test func rawClientMessageSizesAreWhatItComposed() throws {
    let pipelining = try transactions("captures/smtp/postfix-raw-pipelining.pcap")
    let expectedPipelining = [(1, "pipelining"), (2, "bdat"), (3, "split2")].map { rawClientMessage($0.0, $0.1).utf8.count + 2 }
    #expect(pipelining.map { $0["size"] as? Int } == expectedPipelining.map { $0 })
    let splits = try transactions("captures/smtp/postfix-raw-splits.pcap")
    #expect(splits.map { $0["size"] as? Int } == (1...4).map { rawClientMessage($0, "splits").utf8.count + 2 })
}
