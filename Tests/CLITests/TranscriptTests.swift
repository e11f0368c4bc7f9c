import Foundation
import Testing
import TestSupport

// `smtpscope transcript` on the shipped captures, against tshark's view stored next to each
// (captures/*/FILE.tshark.tsv: frame, tcp.len[, tcp.stream, tcp.srcport]; FILE.smtp.tsv: tshark's
// SMTP fields; captures/smtp/streams.tsv: TCP streams on SMTP ports) and, for the raw-socket lab
// client, its own record of what it sent (FILE.sent.json).

private typealias Record = [String: Any]

private func jsonl(_ arguments: [String]) throws -> [Record] {
    let run = try CLIRunner.run(arguments)
    #expect(run.status == 0, "\(arguments): \(run.stderr)")
    return try run.stdout.split(separator: "\n").map {
        try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? Record)
    }
}

private func flowCount(_ path: String) throws -> Int {
    try jsonl(["transcript", "--list", "--format", "jsonl", path]).count
}

/// Number of bytes an escaped transcript text stands for (`\r`, `\n`, `\\`, `\xNN` are one byte).
private func unescapedLength(_ text: Substring) -> Int {
    var count = 0
    var chars = text.makeIterator()
    while let c = chars.next() {
        count += 1
        guard c == "\\" else { continue }
        if chars.next() == "x" {
            _ = chars.next()
            _ = chars.next()
        }
    }
    return count
}

private func tsharkRows(_ path: String) throws -> [[Substring]] {
    let text = try String(contentsOf: PackagePaths.root.appendingPathComponent(path + ".tshark.tsv"), encoding: .utf8)
    return text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
}

/// Captures whose every TCP frame belongs to an SMTP flow and is fully captured.
private let provenanceCaptures = [
    "captures/foundation/smtp-v4-eth.pcap", "captures/foundation/smtp-v6-eth.pcap", "captures/foundation/smtp-lo.pcap",
    "captures/foundation/smtp-any-sll.pcap", "captures/foundation/smtp-any-sll2.pcap",
    "captures/foundation/smtp-v4-eth.pcapng", "captures/foundation/smtp-v6-eth-nsec.pcap",
    "captures/foundation/smtp-v4-eth-bigendian.pcap",
    "captures/smtp/postfix-swaks-pipeline.pcap", "captures/smtp/postfix-swaks-starttls.pcap",
    "captures/smtp/postfix-smtplib.pcap", "captures/smtp/postfix-raw-pipelining.pcap",
    "captures/smtp/postfix-raw-splits.pcap", "captures/smtp/postfix-merged.pcap",
]

/// Every payload byte of every frame is shown exactly once, in the frame tshark says carried
/// it (tcp.len per frame), and in the text every `¦` sits exactly where those frames cut a line.
@Test(arguments: provenanceCaptures)
func segmentMarksSitAtTsharksFrameBoundaries(path: String) throws {
    var expected: [Int: Int] = [:]
    for row in try tsharkRows(path) {
        if let frame = Int(row[0]), row.count > 1, let length = Int(row[1]), length > 0 { expected[frame] = length }
    }
    var shown: [Int: Int] = [:]
    for flow in 0..<(try flowCount(path)) {
        let records = try jsonl(["transcript", path, "--flow", "\(flow)", "--format", "jsonl"])
        var covered = Set<String>()  // "dir offset": terminator bytes overlap an empty message's DATA line
        for record in records {
            let type = record["type"] as? String ?? ""
            if type == "retransmission", let frame = record["frame"] as? Int, let length = record["length"] as? Int {
                shown[frame, default: 0] += length
            }
            guard ["line", "message", "elided", "end_of_data", "tls"].contains(type) else { continue }
            let dir = record["dir"] as? String ?? ""
            for piece in record["pieces"] as? [Record] ?? [] {
                guard let frame = piece["frame"] as? Int, let offset = piece["offset"] as? Int, let length = piece["length"] as? Int
                else { continue }
                for byte in offset..<(offset + length) where covered.insert("\(dir) \(byte)").inserted {
                    shown[frame, default: 0] += 1
                }
            }
        }

        // Text and JSON list the same entries in the same order; compare marks with pieces.
        let text = try CLIRunner.run(["transcript", path, "--flow", "\(flow)"]).stdout
        let lines = text.split(separator: "\n").dropFirst(3).filter { !$0.hasPrefix(String(repeating: " ", count: 29)) }  // continuation lines
        let entries = records.dropFirst()
        #expect(lines.count == entries.count)
        for (line, record) in zip(lines, entries) where ["line", "message"].contains(record["type"] as? String ?? "") {
            let pieces = (record["pieces"] as? [Record] ?? []).compactMap { $0["length"] as? Int }
            guard let colon = line.range(of: record["dir"] as? String == "C" ? "C: " : "S: ") else {
                Issue.record("no direction in \(line)")
                continue
            }
            var body = line[colon.upperBound...]
            if record["type"] as? String == "message" { body = body.dropFirst(4) }
            let parts = body.split(separator: "¦", omittingEmptySubsequences: false).map(unescapedLength)
            #expect(parts == pieces, "\(path) flow \(flow): \(line)")
            let frames = (record["frames"] as? [Int] ?? []).map(String.init)
            if frames.count <= 3 { #expect(line.hasPrefix(frames.joined(separator: ",") + " ")) }
        }
    }
    #expect(shown == expected)
}

/// `--list` finds as many flows as tshark finds TCP streams on ports 25/587/2525.
@Test func flowListMatchesTsharkStreams() throws {
    let table = try String(contentsOf: PackagePaths.captures.appendingPathComponent("smtp/streams.tsv"), encoding: .utf8)
    var checked = 0
    for row in table.split(separator: "\n") {
        let fields = row.split(separator: "\t")
        let path = "captures/" + fields[0], streams = Int(fields[1]) ?? -1
        if path.hasSuffix("smtp-mixed-links.pcapng") { continue }  // libpcap 1.10 cannot read it (see MANIFEST)
        let run = try CLIRunner.run(["transcript", "--list", "--format", "jsonl", path])
        if streams == 0 && run.status == 2 { continue }  // empty / not a capture: nothing to list
        #expect(run.status == 0, "\(path): \(run.stderr)")
        #expect(run.stdout.split(separator: "\n").count == streams, "\(path)")
        checked += 1
    }
    #expect(checked >= 15)
}

private struct TsharkSMTP {
    var commands: [(verb: String, parameter: String)] = []
    var codes: [Int] = []
    var messageIDs: [String] = []
}

/// tshark's SMTP fields of a capture (`FILE.smtp.tsv`), in frame order.
private func tsharkSMTP(_ path: String) throws -> TsharkSMTP {
    let text = try String(contentsOf: PackagePaths.root.appendingPathComponent(path + ".smtp.tsv"), encoding: .utf8)
    var view = TsharkSMTP()
    for row in text.split(separator: "\n") {
        let f = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard f.count >= 6 else { continue }
        let verbs = f[2].split(separator: ",").map(String.init)
        let parameters = f[3].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        for (index, verb) in verbs.enumerated() {
            view.commands.append((verb.uppercased(), index < parameters.count ? parameters[index] : ""))
        }
        view.codes += f[4].split(separator: ",").compactMap { Int($0) }
        view.messageIDs += f[5].split(separator: ",").map(String.init)
    }
    return view
}

/// smtpscope's reading of the same capture (all flows).
private func smtpscopeSMTP(_ path: String) throws -> (TsharkSMTP, ends: [Record]) {
    var view = TsharkSMTP()
    var ends: [Record] = []
    for flow in 0..<(try flowCount(path)) {
        for record in try jsonl(["transcript", path, "--flow", "\(flow)", "--format", "jsonl"]) {
            switch record["type"] as? String {
            case "line":
                if record["dir"] as? String == "C", let verb = record["verb"] as? String {
                    view.commands.append((verb, record["argument"] as? String ?? ""))
                }
                // A reply's last line has a space after the code; tshark counts one code per reply.
                if record["dir"] as? String == "S", let code = record["code"] as? Int,
                    let text = record["text"] as? String, text.count > 3,
                    text[text.index(text.startIndex, offsetBy: 3)] == " "
                {
                    view.codes.append(code)
                }
            case "end_of_data":
                ends.append(record)
                if record["style"] is String, let id = record["message_id"] as? String { view.messageIDs.append(id) }
            default:
                break
            }
        }
    }
    return (view, ends)
}

/// Postfix captures whose terminators tshark 4.0 reads correctly (none split after byte 3 or 4):
/// MAIL FROM, RCPT TO, every reply code and every DATA Message-ID match tshark's SMTP dissector.
/// (tshark does not dissect message headers inside BDAT, so BDAT messages are left out of the
/// Message-ID comparison here and checked against the lab's record in the next test.)
@Test(arguments: [
    "captures/smtp/postfix-swaks-pipeline.pcap", "captures/smtp/postfix-swaks-starttls.pcap",
    "captures/smtp/postfix-smtplib.pcap", "captures/smtp/postfix-raw-pipelining.pcap",
])
func envelopeRepliesAndMessageIDsMatchTshark(path: String) throws {
    let tshark = try tsharkSMTP(path)
    let (ours, ends) = try smtpscopeSMTP(path)
    let envelope = { (c: [(verb: String, parameter: String)]) in
        c.filter { ["MAIL", "RCPT"].contains($0.verb) }.map { "\($0.verb) \($0.parameter)" }
    }
    if !path.contains("starttls") { #expect(!envelope(tshark.commands).isEmpty) }  // else the envelope is inside TLS
    #expect(envelope(ours.commands) == envelope(tshark.commands))
    #expect(!tshark.codes.isEmpty)
    #expect(ours.codes == tshark.codes)
    #expect(ours.messageIDs == tshark.messageIDs)
    if !path.contains("starttls") { #expect(!ends.isEmpty) }
}

/// The lab client's own record of what it sent, for the captures where tshark cannot be the
/// truth: postfix-raw-splits.pcap has terminators split after byte 3 and 4 (tshark 4.0 then
/// misses the end of data and reads the next commands as message text), and BDAT messages in
/// postfix-raw-pipelining.pcap (tshark does not read their headers).
@Test(arguments: ["captures/smtp/postfix-raw-splits.pcap", "captures/smtp/postfix-raw-pipelining.pcap"])
func transactionsMatchTheLabRecord(path: String) throws {
    let data = try Data(contentsOf: PackagePaths.root.appendingPathComponent(path + ".sent.json"))
    let sent = try #require(try JSONSerialization.jsonObject(with: data) as? Record)
    let transactions = try #require(sent["transactions"] as? [Record])
    let (_, ends) = try smtpscopeSMTP(path)
    #expect(ends.count == transactions.count)
    let client = Set(try tsharkRows(path).filter { $0.count > 3 && $0[3] != "25" }.compactMap { Int($0[0]) })
    let lengths = Dictionary(uniqueKeysWithValues: try tsharkRows(path).compactMap { row -> (Int, Int)? in
        guard let f = Int(row[0]), row.count > 1, let l = Int(row[1]) else { return nil }
        return (f, l)
    })
    for (end, want) in zip(ends, transactions) {
        #expect(end["mail_from"] as? String == want["mail_from"] as? String)
        #expect(end["rcpt_to"] as? [String] == want["rcpt_to"] as? [String])
        #expect(end["message_id"] as? String == want["message_id"] as? String)
        #expect(end["reply_code"] as? Int == (want["replies"] as? [Int])?.last)
        guard let splits = want["split_after"] as? [Int] else {
            #expect(end["style"] is NSNull)  // BDAT: no terminator
            continue
        }
        #expect(end["style"] as? String == "crlf")
        #expect(end["split_after"] as? [Int] == splits)
        // The client wrote each terminator piece in its own segment: tshark's tcp.len of the
        // terminator's frames after the first are the piece sizes the lab wrote.
        let frames = try #require(end["frames"] as? [Int])
        #expect(frames.count == splits.count + 1)
        let sizes = zip(splits + [5], [0] + splits).map { $0 - $1 }
        for (frame, size) in zip(frames.dropFirst(), sizes.dropFirst()) {
            #expect(client.contains(frame))
            #expect(lengths[frame] == size, "frame \(frame)")
        }
    }
}

/// The text shows each terminator's bytes with the split where the lab put it.
@Test func terminatorLinesShowTheSplit() throws {
    let text = try CLIRunner.run(["transcript", "captures/smtp/postfix-raw-splits.pcap", "--flow", "0"]).stdout
    let lines = text.split(separator: "\n").filter { $0.contains("end of data:") }
    let shapes = lines.map { line -> String in
        let after = line[line.range(of: "end of data: ")!.upperBound...]
        return String(after.prefix { $0 != "s" }).trimmingCharacters(in: .whitespaces)
    }
    #expect(shapes == [#"\r\n. ¦ \r\n"#, #"\r\n.\r ¦ \n"#, #"\r ¦ \n ¦ . ¦ \r ¦ \n"#, #"\r ¦ \n. ¦ \r\n"#])
    #expect(lines[0].contains("split after byte 3: frames "))
    #expect(lines[2].contains("split after bytes 1, 2, 3, 4: frames "))
    // The lab wrote "MAIL FROM:<sp" and the rest of the envelope in two segments, and the message
    // in two at byte 50 (inside "Subject:", after 23 + 22 + 5 bytes of headers).
    #expect(text.contains(#"C: MAIL FROM:<sp¦lit1@example.com>\r\n"#))
    #expect(text.contains(#"C:     Subje¦ct: splits 1\r\n"#))
    let ascii = try CLIRunner.run(["transcript", "--ascii", "captures/smtp/postfix-raw-splits.pcap", "--flow", "0"]).stdout
    #expect(ascii.contains(#"end of data: \r\n. | \r\n   split after byte 3"#))
    #expect(!ascii.contains("¦"))
}

@Test func noSuchFlowAndMissingFlowAreErrors() throws {
    let none = try CLIRunner.run(["transcript", "captures/foundation/smtp-v4-eth.pcap", "--flow", "1"])
    #expect(none.status == 2)
    #expect(none.stderr.contains("no flow 1 (1 flow on SMTP ports)"))
    #expect(try CLIRunner.run(["transcript", "captures/foundation/smtp-v4-eth.pcap"]).status == 2)
    #expect(try CLIRunner.run(["transcript", "captures/foundation/no-such.pcap", "--flow", "0"]).status == 2)
    // Another port: the exchange on 25 is not an SMTP flow any more.
    #expect(try CLIRunner.run(["transcript", "--port", "587", "captures/foundation/smtp-v4-eth.pcap", "--flow", "0"]).status == 2)
}

@Test func segmentsPrintsTheSegmentMap() throws {
    let run = try CLIRunner.run(["transcript", "--segments", "captures/smtp/postfix-raw-splits.pcap", "--flow", "0"])
    #expect(run.status == 0)
    // One data line per payload-carrying frame (tshark), plus one end line per direction.
    let payloadFrames = try tsharkRows("captures/smtp/postfix-raw-splits.pcap").filter { $0.count > 1 && Int($0[1]) ?? 0 > 0 }
    let lines = run.stdout.split(separator: "\n")
    #expect(lines.filter { $0.contains(" frame ") && !$0.contains(" end ") }.count == payloadFrames.count)
    #expect(lines.filter { $0.contains(" end fin frame ") }.count == 2)
}
