/// Streaming FNV-1a 64-bit digest: deterministic across runs and machines, no allocation.
/// A content fingerprint for matching retried messages, not a cryptographic hash.
struct Fingerprint: Sendable, Hashable {
    private static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let prime: UInt64 = 0x0000_0100_0000_01b3

    private(set) var state: UInt64 = Fingerprint.offsetBasis

    mutating func add(_ byte: UInt8) {
        state = (state ^ UInt64(byte)) &* Fingerprint.prime
    }

    mutating func add(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        var h = state
        for i in range { h = (h ^ UInt64(bytes[i])) &* Fingerprint.prime }
        state = h
    }

    /// 16 lower-case hex digits.
    var hex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 16)
        var v = state
        for i in stride(from: 15, through: 0, by: -1) {
            out[i] = digits[Int(v & 0xf)]
            v >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }
}
