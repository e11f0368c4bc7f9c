/// How ``MessageTable`` envelopes store text: runs of 4 to 13 ASCII digits (the random and
/// counting parts of generated Message-IDs and addresses, `<1.200.418290383@relay165…>`)
/// as a code byte and the run's value in the fewest little-endian bytes that hold any run
/// of that length (9 digits in 4 bytes, with the code 5 instead of 9); other bytes as they
/// are. Code bytes are 0xF6 + length - 4 (up to 0xFF), and 0xC0 and a varint for a
/// suffix kept in the table's ``SuffixTable`` (which ends the text); a byte 0xC0, 0xC1 or
/// from 0xF5 up in the text (never in UTF-8, which all stored text is, but any bytes
/// round-trip) is written after an 0xF5. Runs keep their leading zeros (the length says how many digits to write), so
/// equal texts have equal codings and back: envelopes are still compared by their bytes.
enum DigitRuns {
    static let escape: UInt8 = 0xF5
    static let suffixCode: UInt8 = 0xC0
    static let firstCode: UInt8 = 0xF6
    static let shortest = 4
    static let longest = 13
    /// Bytes that hold any run of `length` digits (index: length), i.e. 10^length - 1.
    static let valueBytes: [Int] = [0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5, 6]

    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool { byte >= escape || byte & 0xFE == suffixCode }

    /// Appends `text` with its length, coded; its suffix as a number when `suffixes` has
    /// it or takes it.
    static func appendText(_ text: UnsafeBufferPointer<UInt8>, suffixes: inout SuffixTable, to bytes: inout [UInt8]) {
        guard let (start, number) = suffixes.suffix(of: text) else {
            bytes.appendVarint(UInt64(codedCount(text)))
            append(text, to: &bytes)
            return
        }
        let head = UnsafeBufferPointer(rebasing: text[..<start])
        var numberBytes = 1
        var rest = number >> 7
        while rest > 0 { numberBytes += 1; rest >>= 7 }
        bytes.appendVarint(UInt64(codedCount(head) + 1 + numberBytes))
        append(head, to: &bytes)
        bytes.append(suffixCode)
        bytes.appendVarint(UInt64(number))
    }

    /// Bytes `text` takes coded.
    static func codedCount(_ text: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 0
        forEachPart(text) { literal, run in
            if let run { count += 1 + valueBytes[run.count] } else { count += needsEscape(literal) ? 2 : 1 }
        }
        return count
    }

    /// Appends `text` coded (no suffix number).
    static func append(_ text: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        forEachPart(text) { literal, run in
            guard let run else {
                if needsEscape(literal) { bytes.append(escape) }
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

    /// Appends the text `coded` holds to `text`, suffixes from `suffixes`. Bad input (a code
    /// or escape cut short, an unknown suffix) ends the text there; a run value too large
    /// for its length is written modulo its power of ten. Never traps.
    static func decode(_ coded: UnsafeBufferPointer<UInt8>, suffixes: SuffixTable, into text: inout [UInt8]) {
        var at = 0
        while at < coded.count {
            let byte = coded[at]
            at += 1
            if byte == suffixCode {
                var number: UInt64 = 0, shift: UInt64 = 0
                while at < coded.count && shift < 64 {
                    let next = coded[at]
                    at += 1
                    number |= UInt64(next & 0x7F) << shift
                    if next < 0x80 { break }
                    shift += 7
                }
                guard number < UInt64(suffixes.count) else { return }
                suffixes.withSuffix(Int(number)) { text.append(contentsOf: $0) }
                return
            } else if byte < escape {
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
    static func string(_ coded: UnsafeBufferPointer<UInt8>, suffixes: SuffixTable) -> String {
        // Nothing coded: straight from the bytes.
        if !coded.contains(where: { $0 >= escape || $0 == suffixCode }) { return String(decoding: coded, as: UTF8.self) }
        var text: [UInt8] = []
        text.reserveCapacity(coded.count * 2)
        decode(coded, suffixes: suffixes, into: &text)
        return String(decoding: text, as: UTF8.self)
    }
}

/// Text suffixes from a last `@` on (mail domains: `@relay165.example.net>`, `@example.com`),
/// each kept once per ``MessageTable`` and written in envelopes as its number (``DigitRuns``
/// code 0xC0 and a varint). Suffixes are only ever added, so a text's coding never changes
/// once it was first written: equal texts still have equal codings. At most
/// ``maxSuffixes`` suffixes of ``shortest`` to ``longest`` bytes (past that, texts keep
/// their suffix inline): about 300 KiB at most, a few KiB for real traffic, whose domains
/// repeat. Lookups hash the bytes in place and allocate nothing.
struct SuffixTable: Sendable {
    static let maxSuffixes = 4096
    static let shortest = 4
    static let longest = 64

    /// The suffixes' bytes, one after the other; suffix `n` ends at `ends[n]`.
    private var bytes: [UInt8] = []
    private var ends: [Int] = []
    /// Suffix number + 1 per bucket (0: empty); a power of two in size, at most half used.
    private var buckets: [UInt32] = []
    /// A table that never adds a suffix (texts are then coded without any).
    private let adds: Bool

    init(adding: Bool = true) { adds = adding }

    var count: Int { ends.count }

    /// Suffix `number`'s bytes; empty for a number never given.
    func withSuffix<R>(_ number: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        guard number >= 0 && number < ends.count else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
        let start = number == 0 ? 0 : ends[number - 1]
        return bytes.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[start..<ends[number]])) }
    }

    /// Where the suffix of `text` starts and its number (added if new and there is room);
    /// nil when the text keeps all its bytes inline.
    mutating func suffix(of text: UnsafeBufferPointer<UInt8>) -> (start: Int, number: Int)? {
        guard adds, let at = text.lastIndex(of: 0x40) else { return nil }
        let length = text.count - at
        guard length >= Self.shortest && length <= Self.longest else { return nil }
        let suffix = UnsafeBufferPointer(rebasing: text[at...])
        let hash = Self.hash(suffix)
        if !buckets.isEmpty {
            let mask = buckets.count - 1
            var bucket = Int(truncatingIfNeeded: hash) & mask
            while buckets[bucket] != 0 {
                let number = Int(buckets[bucket]) - 1
                if withSuffix(number, { $0.elementsEqual(suffix) }) { return (at, number) }
                bucket = (bucket + 1) & mask
            }
        }
        guard adds && ends.count < Self.maxSuffixes else { return nil }
        bytes.append(contentsOf: suffix)
        ends.append(bytes.count)
        file(ends.count - 1, hash: hash)
        return (at, ends.count - 1)
    }

    private mutating func file(_ number: Int, hash: UInt32) {
        if ends.count * 2 > buckets.count {
            buckets = [UInt32](repeating: 0, count: max(64, buckets.count * 2))
            for old in 0..<ends.count - 1 { place(old, hash: withSuffix(old, Self.hash)) }
        }
        place(number, hash: hash)
    }

    private mutating func place(_ number: Int, hash: UInt32) {
        let mask = buckets.count - 1
        var bucket = Int(truncatingIfNeeded: hash) & mask
        while buckets[bucket] != 0 { bucket = (bucket + 1) & mask }
        buckets[bucket] = UInt32(truncatingIfNeeded: number + 1)
    }

    /// FNV-1a.
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in bytes { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return hash
    }
}
