import SMTP
import Testing

/// Seeded random message bodies rich in `\r`, `\n`, `.`, NUL and other control bytes, in
/// lines of every length around the scanner's blocks, checked two ways: the end of data, size and
/// fingerprint against an independent byte-at-a-time reading of RFC 5321 (§4.1.1.4, §4.5.2),
/// and every event (near misses included) against the same bytes fed one at a time, where
/// the scanner's block path never sees a line break, and at random chunkings.
@Suite struct ScannerDifferentialTests {
    /// Line breaks, dots and NULs in the combinations the strict and near-miss machines tell
    /// apart, plus plain text around them.
    static let specials: [[UInt8]] = [
        [0x0D], [0x0A], [0x2E], [0x00], [0x0D, 0x0A], [0x0D, 0x0A, 0x2E], [0x2E, 0x2E], [0x0A, 0x2E, 0x0A],
        [0x0D, 0x2E, 0x0D], [0x0D, 0x0A, 0x00, 0x2E], [0x0D, 0x0A, 0x0D, 0x0A], [0x0D, 0x0D, 0x0A], [0x80, 0xFF],
        // Control bytes next to `\r` and `\n` in value (the block compare looks at 0x08...0x0F).
        [0x09], [0x0B], [0x0C], [0x08, 0x0E, 0x0F], [0x0D, 0x0A, 0x09], [0x09, 0x0D, 0x0A],
    ]

    /// A body of lines of 0–90 bytes (CRLF-ended, some dot-stuffed) with specials dropped in.
    static func body(_ rng: inout SplitMix64, lines: Int, specialChance: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        for _ in 0..<lines {
            if rng.next() % 10 == 0 { out.append(0x2E) }
            let length = Int(rng.next() % 91)
            for _ in 0..<length {
                if rng.next() % 1000 < specialChance {
                    out += specials[Int(rng.next() % UInt64(specials.count))]
                } else {
                    out.append(UInt8(0x61 + rng.next() % 26))
                }
            }
            out += [0x0D, 0x0A]
        }
        return out
    }

    /// The reference: the stream after the DATA line's CRLF is `body` + `\r\n.\r\n`; the first
    /// `\r\n.\r\n` (its CRLF may be the DATA line's) ends the message; its content is every line
    /// before the dot, CRLFs included, one leading dot per line removed. Returns the
    /// terminator's offset relative to the body's first byte and the content.
    static func strictReading(_ body: [UInt8]) -> (terminator: Int, content: [UInt8]) {
        let s: [UInt8] = [0x0D, 0x0A] + body + [0x0D, 0x0A, 0x2E, 0x0D, 0x0A]
        var t = 0
        while !(s[t] == 0x0D && s[t + 1] == 0x0A && s[t + 2] == 0x2E && s[t + 3] == 0x0D && s[t + 4] == 0x0A) {
            t += 1
        }
        var content: [UInt8] = []
        var lineStart = true
        var i = 2
        while i < t + 2 {
            let b = s[i]
            if !(lineStart && b == 0x2E) { content.append(b) }
            lineStart = b == 0x0A && s[i - 1] == 0x0D
            i += 1
        }
        return (t - 2, content)
    }

    @Test(arguments: 1...24)
    func randomBodiesMatchTheByteAtATimeReading(seed: UInt64) {
        var rng = SplitMix64(seed: 0x5CA7_0000 + seed)
        // Few specials (long plain runs through the block path) to many (the byte machines).
        let chance: UInt64 = [2, 10, 40, 150][Int(seed % 4)]
        let body = Self.body(&rng, lines: Int(rng.next() % 12) + 2, specialChance: chance)
        let (opened, start) = TerminatorTests.opened()
        var d = opened
        d.client(body + [0x0D, 0x0A, 0x2E, 0x0D, 0x0A])
        d.server("250 queued\r\n")

        let events = verified(d)
        let (terminator, content) = Self.strictReading(body)
        let ends = endsOfData(events)
        #expect(ends.first?.1 == TerminatorInfo(style: .crlf, offset: UInt64(Int(start) + terminator), length: 5))
        #expect(ends.first?.0.size == UInt64(content.count))
        #expect(ends.first?.0.fingerprint == xxh64Hex(content))
        // Random chunkings with many cuts (the verifier tries every 1-, 2- and some 3-way ones).
        for _ in 0..<30 {
            let cuts = (0..<Int(rng.next() % 12 + 3)).map { _ in Int(rng.next() % UInt64(d.totalBytes)) }
            #expect(d.run(cuts: cuts) == events)
        }
    }

    /// Long bodies: runs far longer than a block, the fingerprint's 32-byte stripes split at
    /// every position by the specials, chunked at random.
    @Test(arguments: 1...6)
    func longBodiesMatchTheReadingWhateverTheChunking(seed: UInt64) {
        var rng = SplitMix64(seed: 0x10A6_0000 + seed)
        let body = Self.body(&rng, lines: 120, specialChance: seed % 2 == 0 ? 1 : 8)
        let (opened, start) = TerminatorTests.opened()
        var d = opened
        d.client(body + [0x0D, 0x0A, 0x2E, 0x0D, 0x0A])
        d.server("250 queued\r\n")
        let whole = d.run()
        let (terminator, content) = Self.strictReading(body)
        let ends = endsOfData(whole)
        #expect(ends.first?.1 == TerminatorInfo(style: .crlf, offset: UInt64(Int(start) + terminator), length: 5))
        #expect(ends.first?.0.size == UInt64(content.count))
        #expect(ends.first?.0.fingerprint == xxh64Hex(content))
        #expect(d.run(cuts: Array(0..<d.totalBytes)) == whole)
        for _ in 0..<40 {
            let cuts = (0..<Int(rng.next() % 40 + 1)).map { _ in Int(rng.next() % UInt64(d.totalBytes)) }
            #expect(d.run(cuts: cuts) == whole)
        }
    }
}
