/// Byte searches and parses of envelope text a word (8 bytes) at a time: the table runs
/// them on every text of every transaction it notes.
enum EnvelopeBytes {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// The high bit of each byte of `word` that equals `byte` (exact: no false positives
    /// from borrows, as `(x - ones) & ~x & highs` would give above a zero byte).
    @inline(__always)
    static func matches(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        let x = word ^ (ones &* UInt64(byte))
        // A byte of x is zero iff adding 0x7F to its low 7 bits does not carry and its high bit is clear.
        return ~(((x & ~highs) &+ ~highs) | x) & highs
    }

    /// Where the last `byte` in `text` is; nil without one.
    static func lastIndex(of byte: UInt8, in text: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = text.baseAddress else { return nil }
        var end = text.count
        while end >= 8 {
            let found = matches(UInt64(littleEndian: UnsafeRawPointer(base + end - 8).loadUnaligned(as: UInt64.self)), byte)
            // The highest set bit is the last matching byte of the word.
            if found != 0 { return end - 8 + (63 - found.leadingZeroBitCount) / 8 }
            end -= 8
        }
        while end > 0 {
            end -= 1
            if base[end] == byte { return end }
        }
        return nil
    }

    /// The value of 16 lowercase hex digits (first digit highest); nil for any other 16 bytes.
    static func hex16(_ digits: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard digits.count == 16, let base = digits.baseAddress else { return nil }
        var value: UInt64 = 0
        for half in 0..<2 {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + 8 * half).loadUnaligned(as: UInt64.self))
            guard let nibbles = hexNibbles(word) else { return nil }
            value = value << 32 | nibbles
        }
        return value
    }

    /// 8 lowercase hex digits (first in the lowest byte) as their 32-bit value; nil otherwise.
    @inline(__always)
    private static func hexNibbles(_ word: UInt64) -> UInt64? {
        // Every byte '0'...'9' (0x30-0x39) or 'a'...'f' (0x61-0x66): checked bytewise with
        // carries kept inside bytes (all values below 0x80 first).
        guard word & highs == 0 else { return nil }
        let digit = inRange(word, 0x30, 0x39), letter = inRange(word, 0x61, 0x66)
        guard digit | letter == highs else { return nil }
        // '0'-'9' & 0x0F = 0-9; 'a'-'f' & 0x0F = 1-6, plus 9 for letters.
        var nibbles = (word & (ones &* 0x0F)) &+ (letter >> 7) &* 9
        // First digit (lowest byte) to the highest nibble: reverse the bytes, then pack pairs.
        nibbles = nibbles.byteSwapped
        nibbles = (nibbles | nibbles >> 4) & 0x00FF_00FF_00FF_00FF
        nibbles = (nibbles | nibbles >> 8) & 0x0000_FFFF_0000_FFFF
        nibbles = (nibbles | nibbles >> 16) & 0x0000_0000_FFFF_FFFF
        return nibbles
    }

    /// The high bit of each byte of `word` (all below 0x80) within `low`...`high` (below 0x80).
    @inline(__always)
    private static func inRange(_ word: UInt64, _ low: UInt8, _ high: UInt8) -> UInt64 {
        // Byte + (0x80 - low) sets the high bit when byte >= low; byte + (0x7F - high) when byte > high.
        let atLeast = (word &+ ones &* UInt64(0x80 - low)) & highs
        let above = (word &+ ones &* UInt64(0x7F - high)) & highs
        return atLeast & ~above
    }
}
