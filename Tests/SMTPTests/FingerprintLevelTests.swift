import CByteMask
import Testing

/// XXH64 as the body scan computes it, at each level and however the bytes are cut into calls,
/// against values from python-xxhash 4.1.0 from PyPI (`xxhash.xxh64_hexdigest`, seed 0), independent of the
/// Swift reference in `xxh64Hex`. The body is mail-like text from a formula that the Python
/// script below repeats; its prefixes end at every tail path of the digest (0, 1...3, 4...7,
/// 8...31 bytes after the last stripe) and around the 64-byte blocks and 128-byte groups.
///
///     def body(n):
///         out = bytearray(); i = 0
///         while len(out) < n:
///             if i % 17 == 3: out += b"\x00"
///             if i % 9 == 4: out += b"."
///             for k in range(i * 13 % 79):
///                 out.append(0x61 + (i * 7 + k) % 26)
///                 if i % 11 == 5 and k == 3: out += b"\t"
///                 if i % 13 == 6 and k == 5: out += b"\r"
///                 if i % 19 == 7 and k == 2: out += b"\n"
///             out += b"\r\n"; i += 1
///         return bytes(out[:n])
@Suite struct FingerprintLevelTests {
    static func body(_ n: Int) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while out.count < n {
            if i % 17 == 3 { out.append(0x00) }
            if i % 9 == 4 { out.append(0x2E) }
            for k in 0..<(i * 13 % 79) {
                out.append(UInt8(0x61 + (i * 7 + k) % 26))
                if i % 11 == 5 && k == 3 { out.append(0x09) }
                if i % 13 == 6 && k == 5 { out.append(0x0D) }
                if i % 19 == 7 && k == 2 { out.append(0x0A) }
            }
            out += [0x0D, 0x0A]
            i += 1
        }
        return Array(out.prefix(n))
    }

    static let python: [(Int, String)] = [
        (0, "ef46db3751d8e999"), (1, "2078e1ad38ad738b"), (2, "ada3e1e0283d5b27"), (3, "b72c8a33f82d22b8"),
        (31, "7fad324ae2acc198"), (32, "361a15e5824c149b"), (33, "46b2b41393bef05c"), (63, "57d6e755ead3942e"),
        (64, "8c8805daa3d87725"), (65, "5b4795e6cfd722d2"), (66, "b7d4630244652142"), (67, "51aef6d50d261877"),
        (127, "f03c54e5823f7fd5"), (128, "334b0307f186acb7"), (129, "e269d181d43bcc80"), (130, "6522e2afd13c0fe6"),
        (131, "606152c99ec5667c"), (1000, "a3876fc831a1eb7a"), (4097, "5f256eae493d49d3"), (6000, "dd74efa2acd1a4dc"),
    ]

    /// The digest of `bytes` read as the scanner reads it: cut into chunks at `cuts`, each chunk
    /// scanned in plain runs at `level` with every stopping byte added on its own.
    static func scannedDigest(_ bytes: [UInt8], cuts: [Int], level: Int32) -> (String, UInt64) {
        var state = smtpscope_xxh64()
        smtpscope_xxh64_reset(&state)
        let bounds = [0] + cuts.filter { $0 > 0 && $0 < bytes.count }.sorted() + [bytes.count]
        for (from, to) in zip(bounds, bounds.dropFirst()) where from < to {
            let chunk = Array(bytes[from..<to])
            chunk.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                var i = 0
                while i < raw.count {
                    let end = smtpscope_plain_run_hashing_at_level(level, base, i, raw.count, &state)
                    // A run that ends before it starts (or past the chunk) is wrong: the digest
                    // is spoiled so the test fails, not loops.
                    guard end >= i && end <= raw.count else {
                        smtpscope_xxh64_reset(&state)
                        return
                    }
                    if end < raw.count { smtpscope_xxh64_update(&state, base + end, 1) }
                    i = end + 1
                }
            }
        }
        let value = withUnsafePointer(to: state) { smtpscope_xxh64_digest($0) }
        let digits = String(value, radix: 16)
        return (String(repeating: "0", count: 16 - digits.count) + digits, state.total)
    }

    @Test(arguments: PlainRunLevelTests.levels)
    func prefixesMatchPythonXXHashWhole(level: Int32) {
        let body = Self.body(6000)
        for (n, digest) in Self.python {
            let (hex, total) = Self.scannedDigest(Array(body.prefix(n)), cuts: [], level: level)
            #expect(hex == digest && total == UInt64(n), "prefix \(n)")
        }
    }

    /// Every single cut of the 1000- and 131-byte prefixes, and random cuts of the whole body.
    @Test(arguments: PlainRunLevelTests.levels)
    func everySplitMatchesPythonXXHash(level: Int32) {
        let body = Self.body(6000)
        var wrong: [String] = []
        for (n, digest) in Self.python where n == 131 || n == 1000 {
            let prefix = Array(body.prefix(n))
            for cut in 0...n where Self.scannedDigest(prefix, cuts: [cut], level: level).0 != digest {
                wrong.append("prefix \(n) cut at \(cut)")
            }
        }
        var rng = SplitMix64(seed: 0xF1D6_0000 + UInt64(level))
        for round in 0..<200 {
            let count = 1 + Int(rng.next() % UInt64([3, 20, 80][round % 3]))
            let cuts = (0..<count).map { _ in Int(rng.next() % 6000) }
            if Self.scannedDigest(body, cuts: cuts, level: level).0 != "dd74efa2acd1a4dc" {
                wrong.append("cuts \(cuts.sorted().prefix(8))")
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) wrong, first: \(wrong.prefix(3))")
    }
}
