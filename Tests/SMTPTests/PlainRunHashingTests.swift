import CByteMask
import Testing

/// The body scan's hashing run (`smtpscope_plain_run_hashing`), forced at each level: it must
/// end where the plain run ends and leave the XXH64 state as if the run's bytes had been added
/// after whatever the state held, whatever that left in its 32-byte buffer. Truth: the run end
/// from `PlainRunLevelTests.referenceRunEnd`, the digest from `xxh64Hex` (written from the
/// specification, checked against python-xxhash in `FingerprintTests`).
@Suite struct PlainRunHashingTests {
    static func state(after prefix: [UInt8]) -> smtpscope_xxh64 {
        var state = smtpscope_xxh64()
        smtpscope_xxh64_reset(&state)
        // In two pieces: the state's own buffering is part of what is checked.
        let cut = prefix.count / 3
        prefix.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress {
                smtpscope_xxh64_update(&state, base, cut)
                smtpscope_xxh64_update(&state, base + cut, prefix.count - cut)
            }
        }
        return state
    }

    static func hex(_ state: smtpscope_xxh64) -> String {
        let value = withUnsafePointer(to: state) { smtpscope_xxh64_digest($0) }
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Runs from every start of chunks of every length 0...420 (blocks, the 128-byte hashing
    /// groups and the chunk's tail at every alignment), after prefixes that leave 0, 1, 5, 17,
    /// 31 bytes (and more than a stripe) in the buffer.
    @Test(arguments: PlainRunLevelTests.levels)
    func runsHashWhatTheyPassAfterAnyPrefix(level: Int32) {
        var rng = SplitMix64(seed: 0x4A54_0000 + UInt64(level))
        let prefixes: [[UInt8]] = [0, 1, 5, 17, 31, 32, 33, 95].map { n in (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        var wrong: [String] = []
        for length in 0...420 {
            let chunk = PlainRunLevelTests.text(&rng, count: length, maxLine: 70, chance: [0, 3, 40][length % 3])
            let prefix = prefixes[length % prefixes.count]
            let starts = Set([0, 1, length / 2, max(0, length - 3), length].filter { $0 <= length })
            for start in starts {
                var state = Self.state(after: prefix)
                let end = chunk.withUnsafeBytes { smtpscope_plain_run_hashing_at_level(level, $0.baseAddress, start, $0.count, &state) }
                let expectedEnd = PlainRunLevelTests.referenceRunEnd(chunk, from: start)
                let run = start < length ? Array(chunk[start..<expectedEnd]) : []
                if end != expectedEnd || Self.hex(state) != xxh64Hex(prefix + run) || state.total != UInt64(prefix.count + run.count) {
                    wrong.append("length \(length) prefix \(prefix.count) start \(start)")
                }
            }
        }
        #expect(wrong.count == 0, "first: \(wrong.prefix(5))")
    }

    /// As the scanner uses it: a long chunk read as runs, each stopping byte added on its own,
    /// the state carried from run to run, gives the digest of the whole chunk.
    @Test(arguments: PlainRunLevelTests.levels)
    func successiveRunsHashTheWholeChunk(level: Int32) {
        var rng = SplitMix64(seed: 0x5C4A_0000 + UInt64(level))
        var wrong = 0
        for round in 0..<30 {
            let chunk = PlainRunLevelTests.text(&rng, count: 200 + Int(rng.next() % 4000), maxLine: 90, chance: [0, 2, 20][round % 3])
            var state = Self.state(after: Array(chunk.prefix(round)))
            var i = min(round, chunk.count)
            chunk.withUnsafeBytes { bytes in
                guard let base = bytes.baseAddress else { return }
                while i < bytes.count {
                    let end = smtpscope_plain_run_hashing_at_level(level, base, i, bytes.count, &state)
                    // A run end outside `i...count` is wrong: spoil the digest, do not loop.
                    guard end >= i && end <= bytes.count else {
                        smtpscope_xxh64_reset(&state)
                        return
                    }
                    if end < bytes.count { smtpscope_xxh64_update(&state, base + end, 1) }
                    i = end + 1
                }
            }
            if Self.hex(state) != xxh64Hex(chunk) || state.total != UInt64(chunk.count) { wrong += 1 }
        }
        #expect(wrong == 0)
    }

    /// Arguments out of range change nothing.
    @Test(arguments: PlainRunLevelTests.levels)
    func outOfRangeStartsLeaveTheStateAlone(level: Int32) {
        let bytes: [UInt8] = Array("abc\r\ndef".utf8)
        var state = Self.state(after: [1, 2, 3])
        let before = Self.hex(state)
        #expect(bytes.withUnsafeBytes { smtpscope_plain_run_hashing_at_level(level, $0.baseAddress, 8, 8, &state) } == 8)
        #expect(bytes.withUnsafeBytes { smtpscope_plain_run_hashing_at_level(level, $0.baseAddress, -2, 8, &state) } == 8)
        #expect(bytes.withUnsafeBytes { smtpscope_plain_run_hashing_at_level(level, $0.baseAddress, 0, 8, nil) } == 8)
        #expect(Self.hex(state) == before && state.total == 3)
    }
}
