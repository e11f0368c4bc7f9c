import CByteMask
import Testing

/// The plain run at each level on hand-made worst cases for the block loop: a line end and a
/// second special byte at every pair of positions (so a stray sits before, inside, right after
/// and one block after a plain line end, and `\r\n` straddles every block edge from several
/// starts), and line ends at the very end of chunks of every length around the block size.
/// Truth: `PlainRunLevelTests.referenceRunEnd`, a byte-by-byte reading.
@Suite struct PlainRunAdversarialTests {
    /// Bytes a scan must tell apart: the line breaks, the bytes that end a plain run after
    /// `\r\n` (`.`, NUL), content in the compare range (tab, VT, 0x0F) and high bytes whose low
    /// bits look like `\r` or `\n`.
    static let classes: [UInt8] = [0x0D, 0x0A, 0x2E, 0x00, 0x09, 0x0B, 0x0F, 0x8D, 0x8A]

    /// `\r\n` plus an ordinary byte at `p`, a class byte at `q`, in 140 bytes of letters: every
    /// `p` and `q`, from starts that move the block edges.
    @Test(arguments: PlainRunLevelTests.levels)
    func aLineEndAndASpecialByteAtEveryPairOfPositions(level: Int32) {
        let n = 140
        var wrong = Failures()
        var bytes = [UInt8](repeating: 0x71, count: n)
        for p in 0..<(n - 1) {
            for q in 0..<n {
                for value in Self.classes {
                    for k in 0..<n { bytes[k] = 0x71 }
                    bytes[p] = 0x0D
                    bytes[p + 1] = 0x0A
                    bytes[q] = value
                    for start in [0, 1, 33, 63, p, p + 1, p + 2] where start < n {
                        let expected = PlainRunLevelTests.referenceRunEnd(bytes, from: start)
                        if PlainRunLevelTests.runEnd(bytes, from: start, level: level) != expected {
                            wrong.note("line end at \(p), \(value) at \(q), from \(start)")
                        }
                    }
                }
            }
        }
        #expect(wrong.count == 0, "\(wrong.count) wrong, first: \(wrong.first)")
    }

    /// Chunks of every length 60...200 made of plain lines of 5...70 bytes, whose last line end
    /// falls at each of the chunk's last four positions (the `\n` or the byte after it cut
    /// off, or exactly at the end) and is followed by each class byte where room is left.
    @Test(arguments: PlainRunLevelTests.levels)
    func lineEndsAtTheEndOfChunksOfEveryLength(level: Int32) {
        var wrong = Failures()
        for n in 60...200 {
            for line in [5, 30, 61, 62, 63, 64, 70] {
                for back in 1...4 {
                    var bytes = [UInt8](repeating: 0x71, count: n)
                    // Line ends every `line + 2` bytes, counted back from the last one at n - back.
                    var p = n - back
                    while p >= 0 {
                        bytes[p] = 0x0D
                        if p + 1 < n { bytes[p + 1] = 0x0A }
                        p -= line + 2
                    }
                    var variants = [bytes]
                    if n - back + 2 < n {
                        for value in Self.classes {
                            var more = bytes
                            more[n - back + 2] = value
                            variants.append(more)
                        }
                    }
                    for chunk in variants {
                        for start in [0, 1, 2, n - back - 64, n - back - 63, n - back - 1, n - back, n - back + 1] where start >= 0 && start < n {
                            if PlainRunLevelTests.runEnd(chunk, from: start, level: level)
                                != PlainRunLevelTests.referenceRunEnd(chunk, from: start)
                            {
                                wrong.note("n \(n) line \(line) back \(back) from \(start)")
                            }
                        }
                    }
                }
            }
        }
        #expect(wrong.count == 0, "\(wrong.count) wrong, first: \(wrong.first)")
    }

    /// Runs of `\r\n` pairs with nothing between (`\r\n\r\n...`: each line end is followed by a
    /// `\r`, so none is plain) and of `\r\n` + one letter, from every start.
    @Test(arguments: PlainRunLevelTests.levels)
    func denseLineEnds(level: Int32) {
        var wrong = 0
        for pattern in [[0x0D, 0x0A], [0x0D, 0x0A, 0x61], [0x0D, 0x0A, 0x61, 0x62], [0x0A, 0x0D, 0x61]] as [[UInt8]] {
            var bytes = (0..<300).map { pattern[$0 % pattern.count] }
            bytes[299] = 0x0A
            for start in 0..<bytes.count
            where PlainRunLevelTests.runEnd(bytes, from: start, level: level) != PlainRunLevelTests.referenceRunEnd(bytes, from: start) {
                wrong += 1
            }
        }
        #expect(wrong == 0)
    }

    /// A count of failed cases and the first few, described.
    struct Failures {
        var count = 0
        var first: [String] = []

        mutating func note(_ description: @autoclosure () -> String) {
            count += 1
            if first.count < 5 { first.append(description()) }
        }
    }
}
