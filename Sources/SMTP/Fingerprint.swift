import CByteMask

/// Streaming XXH64 (seed 0, as published at https://github.com/Cyan4973/xxHash, doc/xxhash_spec.md):
/// a content fingerprint for matching retried messages, not a cryptographic hash.
///
/// The rounds run in C (`CByteMask`), where the body scan also hashes each block of a plain
/// run as it reads it (`smtpscope_plain_run_hashing`). Four independent 64-bit lanes take
/// 32-byte stripes; bytes that do not yet fill a stripe wait in a 32-byte buffer, so the digest
/// depends only on the bytes, never on how they were split into calls. Words are read
/// little-endian: the value is the same on every machine. No allocation.
struct Fingerprint: Sendable {
    /// The C state; `MessageScanner` hands it to the hashing scan.
    var state: smtpscope_xxh64

    init() {
        // As `smtpscope_xxh64_reset`, inline: every message scanner makes five of these.
        state = smtpscope_xxh64()
        let p1: UInt64 = 0x9E37_79B1_85EB_CA87
        let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
        state.lanes = (p1 &+ p2, p2, 0, 0 &- p1)
    }

    mutating func add(_ byte: UInt8) {
        let fill = Int(truncatingIfNeeded: state.total & 31)
        if fill == 31 {
            // The byte completes a stripe: C folds it in.
            var last = byte
            smtpscope_xxh64_update(&state, &last, 1)
            return
        }
        withUnsafeMutableBytes(of: &state.buffer) { $0[fill] = byte }
        state.total &+= 1
    }

    /// Adds `bytes[range]` (a range inside `bytes`).
    mutating func add(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        guard let base = bytes.baseAddress, !range.isEmpty, range.lowerBound >= 0, range.upperBound <= bytes.count
        else { return }
        smtpscope_xxh64_update(&state, base + range.lowerBound, range.count)
    }

    /// The XXH64 digest of all bytes added so far.
    var value: UInt64 {
        withUnsafePointer(to: state) { smtpscope_xxh64_digest($0) }
    }

    /// 16 lower-case hex digits of ``value``.
    var hex: String {
        let v = value
        return String(unsafeUninitializedCapacity: 16) { out in
            Self.writeHex(v, into: UnsafeMutableRawBufferPointer(out))
        }
    }

    /// Writes the 16 lower-case hex digits of `value` to the front of `out` (at least 16
    /// bytes); returns 16.
    static func writeHex(_ value: UInt64, into out: UnsafeMutableRawBufferPointer) -> Int {
        for i in 0..<16 {
            let nibble = UInt8(truncatingIfNeeded: value >> UInt64(60 - 4 * i)) & 0xF
            out[i] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
        }
        return 16
    }
}
