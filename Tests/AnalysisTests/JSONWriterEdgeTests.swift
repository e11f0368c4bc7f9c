import Foundation
import Testing
import Wire

@testable import Analysis

/// The pointer-based byte writer against independent expectations: the standard library's
/// decimal text, ``TimeText``, a byte-by-byte escaper written here from the contract's rules,
/// Foundation's base64, and the reference (`JSONValue`) encoding.
@Suite struct JSONWriterEdgeTests {
    /// SplitMix64: a fixed sequence, the same on every run.
    struct Mix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func written(_ body: (inout JSONByteWriter) -> Void) -> String {
        var json = JSONByteWriter(capacity: 8)
        body(&json)
        return String(decoding: json.bytes, as: UTF8.self)
    }

    /// Every power of ten and its neighbours, the extremes, and random values of every width.
    static func integers() -> [UInt64] {
        var values: [UInt64] = [0, 1, 9, 10, 11, 99, 100, 101, UInt64.max, UInt64.max - 1, UInt64(Int64.max), UInt64(Int64.max) + 1]
        var power: UInt64 = 1
        for _ in 0..<19 {
            power *= 10
            values += [power - 1, power, power + 1]
        }
        var mix = Mix(state: 7)
        for shift in 0..<64 { values.append(mix.next() >> UInt64(shift)) }
        return values
    }

    @Test func integersMatchTheStandardLibrary() {
        for value in Self.integers() {
            #expect(Self.written { $0.uint(value) } == String(value))
            #expect(Self.written { $0.digits(value) } == String(value))
            let signed = Int64(bitPattern: value)
            #expect(Self.written { $0.int(signed) } == String(signed))
        }
        #expect(Self.written { $0.int(Int64.min) } == "-9223372036854775808")
    }

    @Test func secondsMatchTimeText() {
        var values: [Int64] = [.min, .max, .min + 1, .max - 1, 0, -1, 1, 499, 500, -499, -500, 999_999_499, 999_999_500, -999_999_500]
        values += Self.integers().map { Int64(bitPattern: $0) }
        for value in values {
            #expect(Self.written { $0.seconds(value) } == TimeText.seconds(value), "\(value)")
        }
    }

    /// Escapes as DESIGN.md's contract says, one UTF-8 byte at a time.
    static func escapedByHand(_ text: String) -> String {
        var out = "\""
        var run: [UInt8] = []
        func flush() {
            out += String(decoding: run, as: UTF8.self)
            run = []
        }
        for byte in text.utf8 {
            switch byte {
            case 0x22: flush(); out += "\\\""
            case 0x5C: flush(); out += "\\\\"
            case 0x0A: flush(); out += "\\n"
            case 0x0D: flush(); out += "\\r"
            case 0x09: flush(); out += "\\t"
            case 0..<0x20, 0x7F:
                flush()
                let hex = Array("0123456789abcdef")
                out += "\\u00\(hex[Int(byte >> 4)])\(hex[Int(byte & 15)])"
            default: run.append(byte)
            }
        }
        flush()
        return out + "\""
    }

    /// Each byte that needs an escape, at each of the 8 positions of a word, in strings of
    /// lengths around the word size (the tail is checked byte by byte).
    @Test func everyEscapeAtEveryPosition() {
        let special: [UInt8] = Array(0..<0x20) + [0x22, 0x5C, 0x7F]
        for byte in special {
            for length in [1, 7, 8, 9, 15, 16, 17, 24] {
                for position in 0..<length {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[position] = byte
                    let text = String(decoding: bytes, as: UTF8.self)
                    #expect(Self.written { $0.string(text) } == Self.escapedByHand(text), "\(byte) at \(position) of \(length)")
                }
            }
        }
    }

    /// The 8-byte test equals the byte test on random words, and on words one byte off the edges.
    @Test func wordTestEqualsByteTest() {
        var mix = Mix(state: 11)
        let edges: [UInt8] = [0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7E, 0x7F, 0x80, 0xFF, 0x00]
        var words: [UInt64] = []
        for _ in 0..<20_000 { words.append(mix.next()) }
        for _ in 0..<20_000 {
            var word: UInt64 = 0
            for lane in 0..<8 { word |= UInt64(edges[Int(mix.next() % UInt64(edges.count))]) << UInt64(8 * lane) }
            words.append(word)
        }
        for word in words {
            let byByte = (0..<8).contains { JSONByteWriter.needsEscape(UInt8(truncatingIfNeeded: word >> UInt64(8 * $0))) }
            #expect(JSONByteWriter.anyNeedsEscape(word) == byByte, "\(String(word, radix: 16))")
        }
    }

    /// Random text (ASCII, controls, multi-byte UTF-8) equals the hand escaper and the reference encoding.
    @Test func randomTextMatchesReference() {
        var mix = Mix(state: 3)
        let pieces = ["a", "Z", " ", "\"", "\\", "\n", "\r", "\t", "\u{01}", "\u{7F}", "é", "€", "😀", "<", "@", "\u{1F}"]
        for _ in 0..<2_000 {
            let length = Int(mix.next() % 40)
            let text = (0..<length).map { _ in pieces[Int(mix.next() % UInt64(pieces.count))] }.joined()
            let written = Self.written { $0.string(text) }
            #expect(written == Self.escapedByHand(text))
            #expect(written == JSONValue.string(text).serialized)
        }
    }

    /// A record larger than the buffer grows it without losing what was written, and a reset
    /// copy does not write into the original's bytes.
    @Test func growsAndCopiesApart() {
        var json = JSONByteWriter(capacity: 8)
        json.beginArray()
        for value in 0..<1_000 { json.uint(UInt64(value)) }
        json.endArray()
        #expect(String(decoding: json.bytes, as: UTF8.self) == "[" + (0..<1_000).map(String.init).joined(separator: ",") + "]")
        var copy = json
        copy.reset()
        copy.string("x")
        #expect(String(decoding: copy.bytes, as: UTF8.self) == "\"x\"")
        #expect(json.bytes.first == UInt8(ascii: "[") && json.count == 3891)  // 2,890 digits, 999 commas, 2 brackets
    }

    @Test func base64MatchesFoundation() {
        var mix = Mix(state: 5)
        for length in 0..<48 {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: mix.next()) }
            let ours = bytes.withUnsafeBytes { CommunityID.base64($0) }
            #expect(ours == Data(bytes).base64EncodedString(), "\(length)")
        }
    }

    /// Mixed families sort as byte strings: the 4 bytes of an IPv4 address before a longer IPv6 one they prefix.
    @Test func addressBytesWithoutArrays() {
        let addresses: [IPAddress] = [.v4(0xC000_020A), .v6(high: 0x2001_0DB8_0000_0000, low: 1), .v4(0), .v6(high: .max, low: .max)]
        for address in addresses {
            var buffer = [UInt8](repeating: 0, count: 16)
            let count = buffer.withUnsafeMutableBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return 0 }
                return address.writeBytes(to: base)
            }
            #expect(Array(buffer[0..<count]) == address.bytes)
        }
    }

    @Test func countSlotsArePositionsInAllCases() {
        for (position, outcome) in Outcome.allCases.enumerated() { #expect(outcome.countSlot == position) }
        for (position, diagnosis) in Diagnosis.allCases.enumerated() { #expect(diagnosis.countSlot == position) }
    }
}

@Suite struct JSONWordLiteralTests {
    static func text(_ literal: StaticString) -> String { literal.withUTF8Buffer { String(decoding: $0, as: UTF8.self) } }

    @Test func literalsEqualRawValues() {
        for outcome in Outcome.allCases { #expect(Self.text(outcome.jsonText) == outcome.rawValue) }
        for diagnosis in Diagnosis.allCases { #expect(Self.text(diagnosis.jsonText) == diagnosis.rawValue) }
        for reason in [EndReason.quit, .fin, .rst, .open] { #expect(Self.text(reason.jsonText) == reason.rawValue) }
        for side in [SMTPSideName.client, .server] { #expect(Self.text(side.jsonText) == side.rawValue) }
        var json = JSONByteWriter()
        json.beginArray()
        json.literal("ok")
        json.literal("no_reply")
        json.endArray()
        #expect(String(decoding: json.bytes, as: UTF8.self) == #"["ok","no_reply"]"#)
    }
}

/// The flow filter copies the addresses from where the endpoints wrote them: it must still
/// equal the reference encoding (``WiresharkFilter/flow``) for IPv6, and for address text
/// that is not an address at all (escapes, non-ASCII, a `:` that is part of a larger character).
@Suite struct FlowFilterTextTests {
    static func flow(client: String, server: String) -> FlowRecord {
        FlowRecord(
            capture: 0, flow: 1, communityID: "1:x", client: EndpointRecord(ip: client, port: 1025),
            server: EndpointRecord(ip: server, port: 25), startNanoseconds: 0, endNanoseconds: 1, firstFrame: 1,
            lastFrame: 9, packets: 9, endReason: .fin, closedBy: nil, banner: nil, tls: false, midstream: false,
            transactions: [], findings: [])
    }

    @Test(arguments: [
        ("192.0.2.1", "198.51.100.2"), ("2001:db8::1", "2001:db8::25"), ("", ""), ("a\"b\\c\u{01}", "x\ny"),
        ("é:1", "2001:db8::1"), (":\u{301}", "192.0.2.1"), ("192.0.2.1", "2001:db8::2"),
    ])
    func filterEqualsReference(client: String, server: String) {
        let record = Self.flow(client: client, server: server)
        #expect(JSONLinesEncoder.encode(record) == JSONReferenceEncoder.encode(record))
    }

    @Test func ipv6FilterByHand() {
        let text = JSONLinesEncoder.encode(Self.flow(client: "2001:db8::1", server: "2001:db8::25"))
        #expect(text.hasSuffix(#""wireshark_filter":"ipv6.addr==2001:db8::1 && tcp.port==1025 && ipv6.addr==2001:db8::25 && tcp.port==25 && frame.number >= 1 && frame.number <= 9"}"#))
    }
}

@Suite struct Base64PrefixTests {
    @Test func prefixComesFirst() {
        let bytes: [UInt8] = [0xFB, 0xFF, 0x00, 0x10]
        #expect(bytes.withUnsafeBytes { CommunityID.base64($0, prefix: "1:") } == "1:" + Data(bytes).base64EncodedString())
        #expect([UInt8]().withUnsafeBytes { CommunityID.base64($0, prefix: "1:") } == "1:")
    }
}
