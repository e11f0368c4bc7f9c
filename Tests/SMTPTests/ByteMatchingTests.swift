@testable import SMTP
import Testing

/// The word-at-a-time byte searches and the verb matcher, each against a plain byte-by-byte
/// reading of the same bytes (every offset of the word, every position of the match).
@Suite struct ByteMatchingTests {
    /// Bytes of every kind a line can hold: control, printable, DEL, high.
    static let alphabet: [UInt8] = [0x00, 0x0A, 0x0D, 0x1F, 0x20, 0x3A, 0x3E, 0x58, 0x61, 0x78, 0x7E, 0x7F, 0x80, 0xD8, 0xF8, 0xFF]

    /// Deterministic pseudo-random buffers (xorshift), lengths 0…40.
    static func buffers(count: Int) -> [[UInt8]] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var result: [[UInt8]] = []
        for n in 0..<count {
            var bytes: [UInt8] = []
            for _ in 0..<(n % 41) {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                bytes.append(alphabet[Int(state % UInt64(alphabet.count))])
            }
            result.append(bytes)
        }
        return result
    }

    @Test func indexOfMatchesAByteLoop() {
        for bytes in Self.buffers(count: 600) {
            bytes.withUnsafeBytes { buffer in
                for needle: UInt8 in [0x0A, 0x20, 0x3A, 0x3E, 0x00, 0xFF, 0x80] {
                    for from in 0...(bytes.count + 1) {
                        let expected = bytes.indices.first { $0 >= from && bytes[$0] == needle } ?? bytes.count
                        #expect(ByteScan.index(of: needle, in: buffer, from: from) == expected)
                    }
                }
            }
        }
    }

    @Test func everyPositionOfALongBufferIsFound() {
        // One hit at each position of 0…63 in 64 bytes of 'a', so every lane of every word.
        for position in 0..<64 {
            var bytes = [UInt8](repeating: 0x61, count: 64)
            bytes[position] = 0x0A
            let found = bytes.withUnsafeBytes { ByteScan.index(of: 0x0A, in: $0, from: 0) }
            #expect(found == position)
        }
    }

    @Test func containsLetterMatchesAByteLoop() {
        for bytes in Self.buffers(count: 600) {
            let expected = bytes.contains { $0 == UInt8(ascii: "x") || $0 == UInt8(ascii: "X") }
            #expect(bytes.withUnsafeBytes { ByteScan.containsLetter(UInt8(ascii: "x"), in: $0) } == expected)
        }
        // 0xD8 | 0x20 == 0xF8 and 0x58 | 0x20 == 0x78: only X and x answer to "x".
        #expect([UInt8]([0xD8, 0xF8, 0x59, 0x79, 0x18, 0x38]).withUnsafeBytes { ByteScan.containsLetter(UInt8(ascii: "x"), in: $0) } == false)
    }

    @Test func knownVerbsAreMatchedInAnyCase() {
        #expect(SMTPVerb.allCases.map(\.text) == Parsing.knownVerbList)
        for verb in SMTPVerb.allCases {
            #expect(SMTPVerb(verb.text) == verb)
            let lower = Array(verb.text.lowercased().utf8)
            #expect(lower.withUnsafeBytes { SMTPVerb.matching($0, caseInsensitive: true) } == verb)
            #expect(lower.withUnsafeBytes { SMTPVerb.matching($0, caseInsensitive: false) } == nil)
        }
        for text in ["", "MAI", "MAILS", "RCTP", "XXXX", "DATA ", "STARTTLX", "XFORWARDS", "maíl"] {
            #expect(SMTPVerb(text) == nil)
        }
    }

    @Test func commandsCarryTheirKnownVerb() {
        let line = Array("rcpt TO:<a@example.org>".utf8)
        let (verb, known, argument) = line.withUnsafeBytes { bytes in
            let parsed = Parsing.command(bytes, maxArgument: 100)
            return (parsed.verb, parsed.known, String(decoding: parsed.argument, as: UTF8.self))
        }
        #expect(verb == "RCPT" && known == .rcpt && argument == "TO:<a@example.org>")
        var command = SMTPCommand(verb: "NOOP", argument: "", offset: 0, length: 6)
        #expect(command.knownVerb == .noop)
        command.verb = "XYZZY"
        #expect(command.knownVerb == nil)
        command.verb = "EHLO"
        #expect(command.knownVerb == .ehlo)
    }

    @Test func replyLinesReportTheLetterInAnyLine() {
        var arena = TextArena(initialCapacity: 64)
        var lines: ReplyLines?
        for line in ["mail.example.org", "PIPELINING", "8BITMIME"] {
            lines = Array(line.utf8).withUnsafeBytes { arena.appending(line: $0, to: lines) }
        }
        #expect(lines?.mayContainLetter(UInt8(ascii: "x")) == true)  // "example"
        #expect(ReplyLines(["PIPELINING", "8BITMIME"]).mayContainLetter(UInt8(ascii: "x")) == false)
        #expect(ReplyLines(["SIZE 1000", "xxxxxxxA"]).mayContainLetter(UInt8(ascii: "x")) == true)
    }
}
