import Testing

@testable import Analysis

/// Kept text is written through a one-pass fast path when it is plain ASCII (nothing past
/// 0x7F, nothing to escape) and through the general path otherwise (UTF-8 checked or
/// repaired, escapes written). Both must give the text the contract's rules give for the
/// string the bytes decode to: checked here with every byte class at every position, against
/// `String(decoding:as:)` and the byte-by-byte escaper of ``JSONWriterEdgeTests``.
@Suite struct JSONPlainASCIIFastPathTests {
    /// One representative (or sequence) per class of byte the two paths tell apart.
    static let classes: [[UInt8]] = [
        [0x61], [0x20], [0x21], [0x23], [0x5B], [0x5D], [0x7E],  // plain ASCII, at the edges of the escaped ones
        [0x00], [0x09], [0x0A], [0x0D], [0x1F], [0x22], [0x5C], [0x7F],  // escaped
        [0x80], [0xBF], [0xC3], [0xFF], [0xED, 0xA0, 0x80],  // invalid UTF-8 (repaired)
        [0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80],  // valid UTF-8
    ]

    static func expected(_ bytes: [UInt8]) -> String {
        JSONWriterEdgeTests.escapedByHand(String(decoding: bytes, as: UTF8.self))
    }

    static func written(_ bytes: [UInt8]) -> String {
        JSONWriterEdgeTests.written { writer in bytes.withUnsafeBytes { writer.text(bytes: $0) } }
    }

    /// Each class at each position of texts from 0 to 25 bytes, on plain backgrounds.
    @Test func everyClassAtEveryPosition() {
        for background in [UInt8(ascii: "a"), UInt8(ascii: "~"), UInt8(ascii: " ")] {
            for length in 0...25 {
                let plain = [UInt8](repeating: background, count: length)
                #expect(Self.written(plain) == Self.expected(plain))
                #expect(plain.withUnsafeBufferPointer { JSONByteWriter.isPlainASCII($0) })
                for piece in Self.classes {
                    for position in 0...length {
                        var bytes = plain
                        bytes.insert(contentsOf: piece, at: position)
                        #expect(Self.written(bytes) == Self.expected(bytes), "\(piece) at \(position) of \(length)")
                    }
                }
            }
        }
    }

    /// The one-pass test equals the byte-by-byte one on every class at every position.
    @Test func plainTestEqualsByteTest() {
        for length in 1...25 {
            for piece in Self.classes where piece.count == 1 {
                for position in 0..<length {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[position] = piece[0]
                    let byByte = bytes.allSatisfy { $0 < 0x80 && !JSONByteWriter.needsEscape($0) }
                    let fast = bytes.withUnsafeBufferPointer { JSONByteWriter.isPlainASCII($0) }
                    #expect(fast == byByte, "\(piece[0]) at \(position) of \(length)")
                }
            }
        }
    }

    /// Random mixes of the classes, two or more in one text.
    @Test func randomMixesMatch() {
        var mix = JSONWriterEdgeTests.Mix(state: 29)
        for _ in 0..<3_000 {
            let length = Int(mix.next() % 30)
            var bytes: [UInt8] = []
            for _ in 0..<length {
                // Mostly plain, so that some words are clean and some are not.
                if mix.next() % 4 == 0 {
                    bytes += Self.classes[Int(mix.next() % UInt64(Self.classes.count))]
                } else {
                    bytes.append(UInt8(ascii: "a") &+ UInt8(truncatingIfNeeded: mix.next() % 26))
                }
            }
            #expect(Self.written(bytes) == Self.expected(bytes), "\(bytes)")
        }
    }
}
