import SMTP
import Testing

/// The body scan's block paths at their edges: line ends at every lane of the 16-, 32-byte and
/// last-of-chunk blocks, lines of exactly 16, 32 and 64 bytes, chunks that end inside a `\r\n`
/// or just after it, and line starts that leave the plain path (dot, NUL, `\r`, `\n`) or bare
/// `\r`/`\n` inside lines. Truth: end of data, size and fingerprint from the byte-at-a-time
/// RFC 5321 reading (`ScannerDifferentialTests.strictReading`, `xxh64Hex`); every event, near
/// misses included, from the same bytes fed one at a time (no block path runs then).
@Suite struct ScannerBlockEdgeTests {
    /// Inserted between lines: each stops a plain run or sits right after a line end.
    static let breakers: [[UInt8]] = [
        Array(".stuffed".utf8),  // a dot-stuffed line
        [0x00, 0x2E, 0x78],  // NUL then dot at a line start (`nullBefore` shape)
        [],  // an empty line: `\r\n\r\n`
        [0x78, 0x0D, 0x79],  // bare CR before an ordinary byte
        [0x78, 0x0D, 0x2E, 0x79],  // bare CR before a dot
        [0x78, 0x0A, 0x2E, 0x0A, 0x79],  // `\n.\n` near miss inside a line
        [0x0D, 0x2E, 0x0D, 0x0A, 0x79],  // `\r\n\r.\r\n`: CR-CRLF near miss after a line end
        [0x09, 0x78, 0x0B],  // tab and VT: in the block compare's range, not line breaks
        [0x78, 0x0D, 0x0D, 0x0A, 0x79],  // `\r\r\n`
        [0x0A, 0x78],  // a bare LF right after a line end
        [0x2E, 0x2E, 0x0D],  // `..` then a CR that the line's CRLF follows: `\r\r\n`
    ]

    /// Lines of content length 0...70 (so line ends fall on every lane of every block), with a
    /// breaker after every `every`-th line.
    static func body(every: Int, shift: Int) -> [UInt8] {
        var out: [UInt8] = []
        for length in 0...70 {
            for k in 0..<length { out.append(UInt8(0x61 + (k + length + shift) % 26)) }
            out += [0x0D, 0x0A]
            if every > 0 && (length + shift) % every == 0 {
                out += breakers[(length / every + shift) % breakers.count] + [0x0D, 0x0A]
            }
        }
        return out
    }

    static func dialog(_ body: [UInt8]) -> (Dialog, UInt64) {
        let (opened, start) = TerminatorTests.opened()
        var d = opened
        d.client(body + [0x0D, 0x0A, 0x2E, 0x0D, 0x0A])
        d.server("250 queued\r\n")
        return (d, start)
    }

    /// `events` ends the message where the strict reading of `body` does, with its size and digest.
    static func expectStrictEnd(_ events: [SMTPEvent], body: [UInt8], start: UInt64) {
        let (terminator, content) = ScannerDifferentialTests.strictReading(body)
        let ends = endsOfData(events)
        #expect(ends.first?.1 == TerminatorInfo(style: .crlf, offset: start + UInt64(terminator), length: 5))
        #expect(ends.first?.0.size == UInt64(content.count))
        #expect(ends.first?.0.fingerprint == xxh64Hex(content))
    }

    /// Every single cut through the message (so each `\r\n` is split once, and every line end
    /// meets the chunk's last block at every distance) gives the byte-at-a-time events.
    @Test(arguments: [(0, 0), (3, 0), (4, 1), (7, 2), (11, 5)])
    func everySingleCutGivesTheByteAtATimeEvents(every: Int, shift: Int) {
        let body = Self.body(every: every, shift: shift)
        let (d, start) = Self.dialog(body)
        let reference = d.run(cuts: Array(0..<d.totalBytes))
        Self.expectStrictEnd(reference, body: body, start: start)
        #expect(d.run() == reference)
        let first = Int(start)
        var mismatches: [Int] = []
        for cut in first...(first + body.count + 5) where d.run(cuts: [cut]) != reference {
            mismatches.append(cut)
        }
        #expect(mismatches == [])
    }

    /// Chunks of every size 1...70 from the message start (chunk ends at every alignment with the
    /// lines, chunks shorter than a block, of exactly 16, 18, 32, 34 and 64 bytes).
    @Test(arguments: [0, 3, 7])
    func evenChunksOfEverySizeGiveTheByteAtATimeEvents(every: Int) {
        let body = Self.body(every: every, shift: 1)
        let (d, start) = Self.dialog(body)
        let reference = d.run(cuts: Array(0..<d.totalBytes))
        Self.expectStrictEnd(reference, body: body, start: start)
        var mismatches: [Int] = []
        for size in 1...70 {
            let cuts = Array(stride(from: Int(start), to: d.totalBytes, by: size))
            if d.run(cuts: cuts) != reference { mismatches.append(size) }
        }
        #expect(mismatches == [])
    }

    /// BDAT content is hashed as it is: XXH64 of bytes 0...250 in every order the stripes and
    /// tails can be split, against python-xxhash 4.1.0
    /// (`xxhash.xxh64_hexdigest(bytes((i * 7 + 3) % 251 for i in range(n)))`).
    @Test(arguments: [
        (31, "a2aa5f33cc4a6119"), (32, "23c3c17ef790fd97"), (33, "50a7cfc7ba588784"),
        (63, "f1438f15b9ed16e9"), (64, "2cd990a1beed6894"), (65, "c763da59981e980e"),
        (127, "f53de7bfec0d7554"), (128, "a0a0ae06f88ab606"), (129, "8ed7d1d815851679"),
        (1000, "021f7a7424085ea4"),
    ])
    func bdatFingerprintMatchesPythonXXHashAtEveryCut(length: Int, digest: String) {
        let content = (0..<length).map { UInt8(($0 * 7 + 3) % 251) }
        var d = Dialog()
        d.server("220 mx\r\n")
        d.client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n")
        d.server("250 ok\r\n250 ok\r\n")
        let at = d.client(Array("BDAT \(length) LAST\r\n".utf8) + content)
        d.server("250 queued\r\n")
        let first = Int(at) + "BDAT \(length) LAST\r\n".utf8.count
        #expect(endsOfData(d.run()).map(\.0.fingerprint) == [digest])
        // One cut anywhere, two cuts a stripe apart (a chunk that completes the buffered stripe
        // and leaves a tail), and 1-byte chunks.
        var wrong: [[Int]] = []
        for cut in first..<(first + length) {
            for cuts in [[cut], [cut, cut + 31], [cut, cut + 33]] where endsOfData(d.run(cuts: cuts)).map(\.0.fingerprint) != [digest] {
                wrong.append(cuts)
            }
        }
        #expect(wrong == [])
        #expect(endsOfData(d.run(cuts: Array(first..<(first + length)))).map(\.0.fingerprint) == [digest])
    }
}
