@testable import Analysis
import Capture
import Foundation
import Testing

/// The byte encoder (JSONRecordBytes.swift) against the `JSONValue` tree encoding it replaced
/// (JSONReferenceEncoder), on hostile values, random records and every capture in `captures/`,
/// plus hand-written expected lines that depend on neither.
@Suite struct JSONBytePathTests {
    // MARK: hostile values

    /// Strings that need every escape, odd Unicode, and text that looks like JSON structure.
    static let hostileStrings: [String] = [
        "",
        "\"", "\\", "\\\"", "\"\\\"\\",
        String(decoding: (0..<0x20).map { UInt8($0) } + [0x7F], as: UTF8.self),
        "a\u{0}b", "\u{8}\u{C}\u{B}\u{1B}[0m",
        // Invalid UTF-8 (lone continuation, truncated sequence, surrogate half, above U+10FFFF) becomes U+FFFD.
        String(decoding: [0xFF, 0x80, 0xC3, 0x28, 0xED, 0xA0, 0x80, 0xF4, 0x90, 0x80, 0x80, 0xE2, 0x82], as: UTF8.self),
        "é€😀", "e\u{301}", "\u{2028}\u{2029}", "\u{FEFF}bom", "\u{80}\u{9F}\u{A0}", "👨‍👩‍👧",
        "{", "[", ":", ",", "{\"type\":\"flow\"}", "x{", "x[",
        String(repeating: "long \"line\"\t\\ é\u{1} ", count: 3000),
    ]

    static let extremeTimes: [Int64] = [
        .min, .min + 1, -1_000_000_000_000_000_000, -1_500_000, -1_000, -501, -500, -499, -1, 0, 1, 499, 500, 999, 1_000,
        999_999_499, 999_999_500, 1_700_000_000_123_456_789, .max - 1, .max,
    ]

    static func hostileFlow(_ n: Int) -> FlowRecord {
        let s = hostileStrings
        let t = extremeTimes
        func str(_ k: Int) -> String { s[(n + k) % s.count] }
        func time(_ k: Int) -> Int64 { t[(n + k) % t.count] }
        let frames: [[UInt64]] = [[], [0], [1, 2, 3], [.max], [.max - 1, .max, 0]]
        let splits: [[Int]] = [[], [1], [.min, -1, 0, .max]]
        let client = EndpointRecord(ip: n % 3 == 0 ? "2001:db8::1" : (n % 3 == 1 ? str(1) : "192.0.2.1"), port: n % 2 == 0 ? 0 : .max)
        let server = EndpointRecord(ip: n % 4 == 0 ? "::\u{301}" : str(2), port: 25)
        var transactions: [TransactionRecord] = []
        for index in 0..<(n % 3) {
            let terminator = TerminatorRecord(
                seen: index % 2 == 0, style: index % 2 == 0 ? str(3) : nil, frames: frames[(n + index) % frames.count],
                splitAfter: splits[(n + index) % splits.count], timeNanoseconds: index == 0 ? nil : time(4),
                spreadNanoseconds: index == 0 ? time(5) : nil, retransmissionFrames: frames[(n + 2) % frames.count],
                offset: index == 0 ? nil : .max)
            let reply = n % 2 == 0 ? nil : ReplyRecord(code: [Int.min, -1, 0, 250, Int.max][n % 5], text: str(6), frame: .max,
                                                         timeNanoseconds: time(7), latencyNanoseconds: index == 0 ? nil : time(8))
            let gaveUp = n % 3 == 2 ? GiveUpRecord(kind: .timeout, frame: index == 0 ? nil : 0, timeNanoseconds: time(9),
                                                    waitedNanoseconds: index == 0 ? time(10) : nil) : nil
            transactions.append(TransactionRecord(
                capture: n % 2 == 0 ? .max : 0, flow: n % 2 == 0 ? .min : 1, client: client, server: server, index: index,
                mailFrom: index == 0 ? nil : str(11), rcptTo: index == 0 ? [] : [str(12), str(13), ""],
                messageID: index == 0 ? str(14) : nil, subject: index == 1 ? str(15) : nil, size: index == 0 ? .max : nil,
                fingerprint: index == 1 ? str(16) : nil, startNanoseconds: time(17), dataFrame: index == 0 ? nil : .max,
                terminator: terminator, reply: reply, gaveUp: gaveUp,
                outcome: Outcome.allCases[n % Outcome.allCases.count], diagnosis: Diagnosis.allCases[n % Diagnosis.allCases.count]))
        }
        let codes = FindingCode.allCases
        let findings = (0..<(n % 4)).map { k in
            Finding(code: codes[(n + k) % codes.count], frames: frames[(n + k) % frames.count], message: str(18 + k),
                    occurrences: [Int.min, 0, 1, Int.max][k % 4])
        }
        return FlowRecord(
            capture: n % 2 == 0 ? .max : .min, flow: n, communityID: str(19), client: client, server: server,
            startNanoseconds: time(20), endNanoseconds: time(21), firstFrame: n % 2 == 0 ? 0 : .max, lastFrame: .max,
            packets: n % 2 == 0 ? .max : 0, endReason: [.quit, .fin, .rst, .open][n % 4], closedBy: [nil, .client, .server][n % 3],
            banner: n % 5 == 0 ? nil : str(22), tls: n % 2 == 0, midstream: n % 3 == 0,
            transactions: transactions, findings: findings)
    }

    static func hostileMessage(_ n: Int) -> MessageRecord {
        let s = hostileStrings
        let t = extremeTimes
        let views = (0..<(n % 3 + 1)).map { k in
            var view = AttemptView(hostileFlow(n + 1).transactions.first ?? TransactionRecord(
                capture: 0, flow: 0, client: EndpointRecord(ip: "", port: 0), server: EndpointRecord(ip: "", port: 0), index: 0,
                startNanoseconds: 0, outcome: .incomplete, diagnosis: .incompleteCapture))
            view.startNanoseconds = t[(n + k) % t.count]
            view.capture = [Int.min, 0, Int.max][k % 3]
            return view
        }
        return MessageRecord(
            messageID: n % 2 == 0 ? nil : s[n % s.count], fingerprint: n % 3 == 0 ? nil : s[(n + 1) % s.count],
            mailFrom: n % 4 == 0 ? nil : s[(n + 2) % s.count], rcptTo: n % 2 == 0 ? [] : [s[(n + 3) % s.count], ""],
            attempts: n % 5 == 0 ? [] : [Attempt(views: views), Attempt(views: [views[0]])],
            interval: n % 2 == 0 ? nil : IntervalStats(medianNanoseconds: t[n % t.count], minNanoseconds: .min, maxNanoseconds: .max),
            pattern: [nil, .steady, .backoff, .irregular][n % 4])
    }

    static func hostileSummary(_ n: Int) -> SummaryRecord {
        let s = hostileStrings
        var capture = CaptureStats(index: n % 2 == 0 ? .max : .min, name: s[n % s.count])
        capture.packets = .max
        capture.framesAnalyzed = .max
        capture.capturedBytes = .max
        capture.tcpSegments = .max
        capture.decodeErrors = .max
        capture.truncatedFrames = .max
        capture.limitsHit = .max
        capture.drops = n % 2 == 0 ? nil : .max
        capture.firstNanoseconds = n % 2 == 0 ? nil : .min
        capture.lastNanoseconds = n % 2 == 0 ? nil : .max
        capture.readError = n % 2 == 0 ? nil : CaptureStats.ReadError(frame: .max, reason: s[(n + 1) % s.count])
        let flows = (0..<4).map { hostileFlow(n + $0) }
        var summary = SummaryRecord(captures: n % 3 == 0 ? [] : [capture], flows: flows, messages: (0..<3).map { hostileMessage(n + $0) })
        summary.middlebox = MiddleboxVerdict(detected: n % 2 == 0, kind: n % 2 == 0 ? s[n % s.count] : nil,
                                             evidence: n % 3 == 0 ? [] : [s[(n + 2) % s.count], ""])
        summary.correlationEvictedMessages = n % 2 == 0 ? 0 : .max
        summary.correlationDroppedTransactions = n % 4 == 1 ? .min : 0
        summary.flows = n % 2 == 0 ? .max : .min
        return summary
    }

    /// Every record through the byte path, as `String` and as the bytes `LineWriter` hands out.
    static func expectSameAsReference(flows: [FlowRecord], messages: [MessageRecord], summary: SummaryRecord,
                                      sourceLocation: SourceLocation = #_sourceLocation) {
        var expected: [UInt8] = []
        var writer = JSONLinesEncoder.LineWriter()
        var written: [UInt8] = []
        for flow in flows {
            let reference = JSONReferenceEncoder.encode(flow)
            #expect(JSONLinesEncoder.encode(flow) == reference, sourceLocation: sourceLocation)
            expected += Array(reference.utf8) + [0x0A]
            writer.write(flow, bytesTo: { written += $0 })
            for transaction in flow.transactions {
                #expect(JSONLinesEncoder.encode(transaction) == JSONReferenceEncoder.encode(transaction), sourceLocation: sourceLocation)
            }
        }
        for message in messages {
            let reference = JSONReferenceEncoder.encode(message)
            #expect(JSONLinesEncoder.encode(message) == reference, sourceLocation: sourceLocation)
            expected += Array(reference.utf8) + [0x0A]
        }
        let reference = JSONReferenceEncoder.encode(summary)
        #expect(JSONLinesEncoder.encode(summary) == reference, sourceLocation: sourceLocation)
        expected += Array(reference.utf8) + [0x0A]
        writer.writeEnd(messages: messages, summary: summary, bytesTo: { written += $0 })
        #expect(written == expected, sourceLocation: sourceLocation)
        // The String API of the same writer type gives the same text.
        var text = ""
        var stringWriter = JSONLinesEncoder.LineWriter()
        for flow in flows { stringWriter.write(flow, to: { text += $0 }) }
        stringWriter.writeEnd(messages: messages, summary: summary, to: { text += $0 })
        #expect(Array(text.utf8) == expected, sourceLocation: sourceLocation)
    }

    @Test func hostileRecordsMatchTheReferenceEncoding() {
        for n in 0..<40 {
            Self.expectSameAsReference(
                flows: (0..<3).map { Self.hostileFlow(n * 3 + $0) }, messages: (0..<(n % 4)).map { Self.hostileMessage(n + $0) },
                summary: Self.hostileSummary(n))
        }
    }

    /// Hostile strings come back intact through a JSON parser.
    @Test func hostileStringsRoundTripThroughJSONSerialization() throws {
        for (n, string) in Self.hostileStrings.enumerated() {
            var flow = Self.hostileFlow(1)
            flow.banner = string
            flow.communityID = string
            let line = JSONLinesEncoder.encode(flow)
            if string.unicodeScalars.contains("\u{FEFF}") {
                // Foundation's parser drops U+FEFF from strings: check the bytes went out unchanged instead.
                #expect(line.contains("\"banner\":\"\(string)\""), "string \(n)")
                continue
            }
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "string \(n)")
            #expect(object["banner"] as? String == string, "string \(n)")
            #expect(object["community_id"] as? String == string, "string \(n)")
        }
    }

    // MARK: random records

    /// xorshift64*: the same records on every run.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    @Test func randomRecordsMatchTheReferenceEncoding() {
        var random = Random(state: 0x9E37_79B9_7F4A_7C15)
        // Bytes 0…127 one by one, plus multi-byte scalars of every UTF-8 length.
        let pieces = (0..<128).map { String(UnicodeScalar(UInt8($0))) } + ["é", "ß", "€", "\u{2028}", "😀", "\u{10FFFF}", "\u{301}"]
        func randomString() -> String { String((0..<random.below(24)).map { _ in pieces[random.below(pieces.count)] }.joined()) }
        for round in 0..<200 {
            var flow = Self.hostileFlow(round)
            flow.communityID = randomString()
            flow.banner = randomString()
            flow.startNanoseconds = Int64(bitPattern: random.next())
            flow.endNanoseconds = Int64(bitPattern: random.next()) >> random.below(64)
            flow.firstFrame = random.next() >> random.below(64)
            flow.client.ip = randomString()
            for index in flow.findings.indices { flow.findings[index].message = randomString() }
            for index in flow.transactions.indices {
                flow.transactions[index].rcptTo = (0..<random.below(4)).map { _ in randomString() }
                flow.transactions[index].startNanoseconds = Int64(bitPattern: random.next()) >> random.below(64)
            }
            var summary = Self.hostileSummary(round)
            summary.middlebox.evidence = [randomString()]
            Self.expectSameAsReference(flows: [flow], messages: [Self.hostileMessage(round)], summary: summary)
        }
    }

    // MARK: every capture

    static let capturesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("captures")

    static func capturePaths() -> [String] {
        let files = FileManager.default.enumerator(atPath: capturesDirectory.path)?.compactMap { $0 as? String } ?? []
        return files.filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted()
    }

    @Test func everyCaptureMatchesTheReferenceEncoding() throws {
        let paths = Self.capturePaths()
        try #require(paths.count >= 20, "captures/ not found at \(Self.capturesDirectory.path)")
        var flows = 0
        for path in paths {
            // A few captures are deliberately unreadable (e.g. an empty file): nothing to encode.
            guard let capture = try? OfflineCapture(path: Self.capturesDirectory.appendingPathComponent(path).path) else { continue }
            let analyzer = Analyzer()
            analyzer.beginCapture(name: path)
            _ = capture.readPackets { info, frame in
                analyzer.process(info, frame: frame)
                return .next
            }
            let result = analyzer.finish()
            flows += result.flows.count
            Self.expectSameAsReference(flows: result.flows, messages: result.messages, summary: result.summary)
        }
        #expect(flows > 50)
    }

    // MARK: hand-written expectations

    @Test func flowLineAsWrittenByHand() {
        let flow = FlowRecord(
            capture: 0, flow: 7, communityID: "1:abc=", client: EndpointRecord(ip: "192.0.2.1", port: 1025),
            server: EndpointRecord(ip: "198.51.100.2", port: 25), startNanoseconds: -1, endNanoseconds: .max, firstFrame: 1,
            lastFrame: .max, packets: 0, endReason: .rst, closedBy: nil, banner: "a\"\\\u{1}\u{7F}é\u{1F}", tls: false,
            midstream: true, transactions: [], findings: [
                Finding(code: .reset, frames: [3, 18_446_744_073_709_551_615], message: "x\r\n", occurrences: 2),
                Finding(code: .reset, frames: [], message: "", occurrences: -1),
            ])
        let expected = #"{"type":"flow","schema":"smtpscope/1","capture":0,"flow":7,"community_id":"1:abc=","#
            + #""client":{"ip":"192.0.2.1","port":1025},"server":{"ip":"198.51.100.2","port":25},"#
            + #""start":-0.000000,"end":9223372036.854776,"first_frame":1,"last_frame":18446744073709551615,"#
            + #""end_reason":"rst","closed_by":null,"banner":"a\"\\\u0001\u007fé\u001f","tls":false,"transactions":[],"#
            + #""findings":[{"code":"tcp.reset","severity":"warning","frames":[3,18446744073709551615],"message":"x\r\n","#
            + #""occurrences":2,"wireshark_filter":"frame.number in {3 18446744073709551615}"},"#
            + #"{"code":"tcp.reset","severity":"warning","frames":[],"message":"","occurrences":-1,"wireshark_filter":null}],"#
            + #""packets":0,"midstream":true,"#
            + #""wireshark_filter":"ip.addr==192.0.2.1 && tcp.port==1025 && ip.addr==198.51.100.2 && tcp.port==25 && "#
            + #"frame.number >= 1 && frame.number <= 18446744073709551615"}"#
        #expect(JSONLinesEncoder.encode(flow) == expected)
        var writer = JSONLinesEncoder.LineWriter()
        var bytes: [UInt8] = []
        writer.write(flow, bytesTo: { bytes += $0 })
        #expect(bytes == Array((expected + "\n").utf8))
    }

    /// Times: nearest microsecond, halves away from zero, `-` on any negative value.
    @Test func timesAsWrittenByHand() throws {
        let cases: [(Int64, String)] = [
            (.min, "-9223372036.854776"), (.max, "9223372036.854776"), (-1, "-0.000000"), (0, "0.000000"), (499, "0.000000"),
            (500, "0.000001"), (-500, "-0.000001"), (1_500_000, "0.001500"), (999_999_500, "1.000000"),
            (1_700_000_000_123_456_789, "1700000000.123457"),
        ]
        for (nanoseconds, text) in cases {
            var json = JSONByteWriter()
            json.seconds(nanoseconds)
            #expect(String(decoding: json.bytes, as: UTF8.self) == text, "\(nanoseconds)")
        }
        var json = JSONByteWriter()
        json.beginArray()
        json.int(Int64.min)
        json.int(Int64.max)
        json.uint(UInt64.max)
        json.uint(0)
        json.int(-7)
        json.seconds(nil)
        json.double(0.25)
        json.double(.nan)
        json.endArray()
        #expect(String(decoding: json.bytes, as: UTF8.self)
            == "[-9223372036854775808,9223372036854775807,18446744073709551615,0,-7,null,0.25,null]")
    }
}
