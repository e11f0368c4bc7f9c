/// How ``MessageTable`` envelopes store text: runs of 4 to 13 ASCII digits (the random and
/// counting parts of generated Message-IDs and addresses, `<1.200.418290383@relay165…>`)
/// as a code byte and the run's value in the fewest little-endian bytes that hold any run
/// of that length (9 digits in 4 bytes, with the code 5 instead of 9); other bytes as they
/// are. Code bytes are 0xF6 + length - 4 (up to 0xFF); a byte from 0xF5 up in the text
/// (never in UTF-8, which all stored text is, but any bytes round-trip) is written after
/// an 0xF5. Runs keep their leading zeros (the length says how many digits to write), so
/// equal texts have equal codings and back: envelopes are still compared by their bytes.
enum DigitRuns {
    static let escape: UInt8 = 0xF5
    static let firstCode: UInt8 = 0xF6
    static let shortest = 4
    static let longest = 13
    /// Bytes that hold any run of `length` digits (index: length), i.e. 10^length - 1.
    static let valueBytes: [Int] = [0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5, 6]

    /// Bytes `text` takes coded.
    static func codedCount(_ text: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 0
        forEachPart(text) { literal, run in
            if let run { count += 1 + valueBytes[run.count] } else { count += literal >= escape ? 2 : 1 }
        }
        return count
    }

    /// Appends `text` coded.
    static func append(_ text: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        forEachPart(text) { literal, run in
            guard let run else {
                if literal >= escape { bytes.append(escape) }
                bytes.append(literal)
                return
            }
            var value: UInt64 = 0
            for digit in run { value = value &* 10 &+ UInt64(digit &- 0x30) }
            bytes.append(firstCode &+ UInt8(truncatingIfNeeded: run.count - shortest))
            for n in 0..<valueBytes[run.count] { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(8 * n))) }
        }
    }

    /// Calls `part` with each byte written as it is (`run` nil) or each digit run to code.
    @inline(__always)
    private static func forEachPart(_ text: UnsafeBufferPointer<UInt8>, _ part: (UInt8, UnsafeBufferPointer<UInt8>?) -> Void) {
        var at = 0
        while at < text.count {
            var end = at
            while end < text.count && end - at < longest && text[end] &- 0x30 < 10 { end += 1 }
            if end - at >= shortest {
                part(0, UnsafeBufferPointer(rebasing: text[at..<end]))
                at = end
            } else {
                part(text[at], nil)
                at += 1
            }
        }
    }

    /// Appends the text `coded` holds to `text`. Bad input (a code or escape cut short) ends
    /// the text there; a run value too large for its length is written modulo its power of
    /// ten. Never traps.
    static func decode(_ coded: UnsafeBufferPointer<UInt8>, into text: inout [UInt8]) {
        var at = 0
        while at < coded.count {
            let byte = coded[at]
            at += 1
            if byte < escape {
                text.append(byte)
            } else if byte == escape {
                guard at < coded.count else { return }
                text.append(coded[at])
                at += 1
            } else {
                let length = Int(byte - firstCode) + shortest
                let size = valueBytes[length]
                guard coded.count - at >= size else { return }
                var value: UInt64 = 0
                for n in 0..<size { value |= UInt64(coded[at + n]) << UInt64(8 * n) }
                at += size
                let start = text.count
                for _ in 0..<length {
                    text.append(0x30 + UInt8(truncatingIfNeeded: value % 10))
                    value /= 10
                }
                text[start...].reverse()
            }
        }
    }

    /// `coded`'s text as a string.
    static func string(_ coded: UnsafeBufferPointer<UInt8>) -> String {
        // Nothing coded (the usual short field without a digit run): straight from the bytes.
        if !coded.contains(where: { $0 >= escape }) { return String(decoding: coded, as: UTF8.self) }
        var text: [UInt8] = []
        text.reserveCapacity(coded.count * 2)
        decode(coded, into: &text)
        return String(decoding: text, as: UTF8.self)
    }
}
