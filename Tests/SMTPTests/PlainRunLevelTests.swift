import CByteMask
import Foundation
import Testing

/// The body scan's plain run (`CByteMask`) at each level it has: the byte loop, SSE2, AVX2 and
/// AVX-512 (forced from here; a level this CPU lacks runs the best one below it). Each level's
/// 64-byte stray masks and run end against a plain Swift reading of the same bytes, on
/// random buffers rich in the bytes the scan tells apart and on line ends at every offset
/// around block and chunk edges. The scanner tests run only the level this CPU picks.
@Suite struct PlainRunLevelTests {
    static let levels: [Int32] = [0, 1, 2, 3]

    /// Bytes next to the candidate range 0x08...0x0F, the scan's specials, and high bytes
    /// whose low bits look like them (0x8A, 0x8D, 0xAE).
    static let alphabet: [UInt8] = [
        0x00, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x1A, 0x1D, 0x2E, 0x61, 0x7A,
        0x80, 0x88, 0x8A, 0x8D, 0x8F, 0xAE, 0xFF,
    ]

    /// The reference run end: the first `\r` or `\n` from `start` that is not `\r\n` plus a
    /// byte other than `\r`, `\n`, `.` and NUL; such a line end is passed whole.
    static func referenceRunEnd(_ bytes: [UInt8], from start: Int) -> Int {
        var j = start
        while j < bytes.count {
            let b = bytes[j]
            if b != 0x0D && b != 0x0A {
                j += 1
                continue
            }
            let plain = b == 0x0D && j + 2 < bytes.count && bytes[j + 1] == 0x0A
                && ![0x0D, 0x0A, 0x2E, 0x00].contains(bytes[j + 2])
            if !plain { return j }
            j += 3
        }
        return bytes.count
    }

    static func runEnd(_ bytes: [UInt8], from start: Int, level: Int32) -> Int {
        bytes.withUnsafeBytes { smtpscope_plain_run_at_level(level, $0.baseAddress, start, $0.count) }
    }

    /// Mail-like text: lines of 0...`maxLine` letters ending in `\r\n`, with an alphabet byte
    /// dropped in at a rate of `chance` per thousand.
    static func text(_ rng: inout SplitMix64, count: Int, maxLine: Int, chance: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        var lineLeft = Int(rng.next() % UInt64(maxLine + 1))
        while out.count < count {
            if lineLeft == 0 {
                out += [0x0D, 0x0A]
                lineLeft = Int(rng.next() % UInt64(maxLine + 1))
            } else if rng.next() % 1000 < chance {
                out.append(alphabet[Int(rng.next() % UInt64(alphabet.count))])
                lineLeft -= 1
            } else {
                out.append(UInt8(0x61 + rng.next() % 26))
                lineLeft -= 1
            }
        }
        return Array(out.prefix(count))
    }

    @Test func theDetectedLevelMatchesTheCPUFlags() throws {
        #if arch(x86_64) && os(Linux)
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
        let avx2 = flags.contains("avx2") && flags.contains("bmi1")
        let avx512 = ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
        #expect(smtpscope_scan_level() == (avx2 && avx512 ? 3 : avx2 ? 2 : 1))
        #elseif arch(x86_64)
        #expect(smtpscope_scan_level() >= 1)
        #else
        #expect(smtpscope_scan_level() == 0)
        #endif
    }

    /// The stray masks of a 66-byte window, read byte by byte: a `\r` at k, a `\n` at k + 1,
    /// each unless bytes k, k+1, k+2 are `\r`, `\n` and a byte other than `\r`, `\n`, `.`, NUL.
    static func referenceStrays(_ w: [UInt8]) -> (cr: UInt64, lf: UInt64) {
        var cr: UInt64 = 0
        var lf: UInt64 = 0
        for k in 0..<64 {
            let plain = w[k] == 0x0D && w[k + 1] == 0x0A && ![0x0D, 0x0A, 0x2E, 0x00].contains(w[k + 2])
            if w[k] == 0x0D && !plain { cr |= 1 << UInt64(k) }
            if w[k + 1] == 0x0A && !plain { lf |= 1 << UInt64(k) }
        }
        return (cr, lf)
    }

    /// Random and edge windows: each level's stray masks (and its quick "any" test, the one the
    /// run loop branches on) equal the byte-by-byte reading.
    @Test(arguments: levels)
    func strayMasksMatchTheReference(level: Int32) {
        var rng = SplitMix64(seed: 0x3A5C_0000 + UInt64(level))
        var windows: [[UInt8]] = (0..<3000).map { _ in (0..<66).map { _ in Self.alphabet[Int(rng.next() % UInt64(Self.alphabet.count))] } }
        // Every byte value at every position of a window of letters, alone and after `\r\n`
        // there, and every `\r\n` + value with the value at every position (the block's last
        // two `\r\n` take their third byte past its end).
        for value in 0...255 {
            for at in 0..<66 {
                var alone = [UInt8](repeating: 0x61, count: 66)
                alone[at] = UInt8(value)
                windows.append(alone)
                if at >= 2 {
                    var after = alone
                    after[at - 2] = 0x0D
                    after[at - 1] = 0x0A
                    windows.append(after)
                }
            }
        }
        // Plain lines of every length, so their ends fall at every offset.
        for length in 1...70 {
            windows.append((0..<66).map { $0 % (length + 2) == length ? 0x0D : $0 % (length + 2) == length + 1 ? 0x0A : 0x78 })
        }
        windows.append([UInt8](repeating: 0x0D, count: 66))
        windows.append([UInt8](repeating: 0x0A, count: 66))
        windows.append((0..<66).map { $0 % 2 == 0 ? 0x0D : 0x0A })
        var wrong = 0
        for window in windows {
            let expected = Self.referenceStrays(window)
            // At an odd address too: the loads need no alignment.
            for padded in [window, [0x61] + window] {
                var lf: UInt64 = 0
                var any: Int32 = -1
                let cr = padded.withUnsafeBytes { bytes in
                    smtpscope_stray_breaks64(level, bytes.baseAddress.map { $0 + (padded.count - 66) }, &lf, &any)
                }
                if cr != expected.cr || lf != expected.lf || (any != 0) != ((expected.cr | expected.lf) != 0) { wrong += 1 }
            }
        }
        #expect(wrong == 0)
    }

    /// Random buffers of every length 0...300, from every start.
    @Test(arguments: levels)
    func runEndsMatchTheReferenceOnRandomBuffers(level: Int32) {
        var rng = SplitMix64(seed: 0x5EED_0000 + UInt64(level))
        var wrong: [(Int, Int)] = []
        for length in 0...300 {
            let chance: UInt64 = [0, 5, 30, 200][length % 4]
            let bytes = Self.text(&rng, count: length, maxLine: [8, 40, 70, 130][Int(rng.next() % 4)], chance: chance)
            for start in 0...length where Self.runEnd(bytes, from: start, level: level) != Self.referenceRunEnd(bytes, from: start) {
                wrong.append((length, start))
            }
        }
        #expect(wrong.count == 0, "first: \(wrong.prefix(5))")
    }

    /// One line end (plain, or followed by each byte that ends the run) at every position of a
    /// 200-byte chunk, so it meets every lane of the 64-byte blocks, the block edges, the last
    /// (overlapping) block and the chunk's last two bytes; and a plain line end there with a
    /// bare `\r` or `\n` at each later position.
    @Test(arguments: levels)
    func lineEndsAtEveryPositionMatchTheReference(level: Int32) {
        var wrong: [String] = []
        let n = 200
        for after: UInt8 in [0x61, 0x09, 0x0D, 0x0A, 0x2E, 0x00] {
            for p in 0..<n {
                var bytes = [UInt8](repeating: 0x62, count: n)
                bytes[p] = 0x0D
                if p + 1 < n { bytes[p + 1] = 0x0A }
                if p + 2 < n { bytes[p + 2] = after }
                for start in [0, 1, 63, 64, 65, 66, p, max(0, p - 1)] where start <= n {
                    if Self.runEnd(bytes, from: start, level: level) != Self.referenceRunEnd(bytes, from: start) {
                        wrong.append("after \(after) at \(p) from \(start)")
                    }
                }
                if after == 0x61 {
                    for bare: UInt8 in [0x0D, 0x0A] {
                        for q in stride(from: p + 3, to: n, by: 1) {
                            var more = bytes
                            more[q] = bare
                            if Self.runEnd(more, from: 0, level: level) != Self.referenceRunEnd(more, from: 0) {
                                wrong.append("plain at \(p), bare \(bare) at \(q)")
                            }
                        }
                    }
                }
            }
        }
        #expect(wrong.count == 0, "first: \(wrong.prefix(5))")
    }

    /// Long mail-like chunks (many blocks, lines of every length) at each level give the
    /// same run ends as the byte loop and the reference, from every line start.
    @Test(arguments: levels)
    func longChunksMatchTheReference(level: Int32) {
        var rng = SplitMix64(seed: 0x1060_0000 + UInt64(level))
        var wrong = 0
        for round in 0..<40 {
            let bytes = Self.text(&rng, count: 1000 + Int(rng.next() % 3000), maxLine: 90, chance: [0, 1, 4][round % 3])
            for start in 0..<bytes.count where start == 0 || bytes[start - 1] == 0x0A {
                let end = Self.runEnd(bytes, from: start, level: level)
                if end != Self.referenceRunEnd(bytes, from: start) || end != Self.runEnd(bytes, from: start, level: 0) {
                    wrong += 1
                }
            }
        }
        #expect(wrong == 0)
    }

    /// Out-of-range arguments return the count and read nothing.
    @Test(arguments: levels)
    func outOfRangeStartsReturnTheCount(level: Int32) {
        let bytes: [UInt8] = [0x0D, 0x0A, 0x0D]
        #expect(bytes.withUnsafeBytes { smtpscope_plain_run_at_level(level, $0.baseAddress, 3, 3) } == 3)
        #expect(bytes.withUnsafeBytes { smtpscope_plain_run_at_level(level, $0.baseAddress, 7, 3) } == 3)
        #expect(bytes.withUnsafeBytes { smtpscope_plain_run_at_level(level, $0.baseAddress, -1, 3) } == 3)
        #expect(smtpscope_plain_run_at_level(level, nil, 0, 0) == 0)
    }
}
