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
    /// Bytes that hold any run of `length` digits (1 to 13), i.e. 10^length - 1: the
    /// length times log₂10 / 8 (0.4152…) rounded up; 53/128 is close enough for these.
    @inline(__always)
    static func valueByteCount(_ length: Int) -> Int { (length * 53 + 127) >> 7 }

    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool { byte >= escape || byte & 0xFE == suffixCode }

    /// Appends `text` with its length, coded; its suffix as a number when `suffixes` has
    /// it or takes it. One pass through pointers into room on the stack.
    static func appendText(_ text: UnsafeBufferPointer<UInt8>, suffixes: inout SuffixTable, to bytes: inout [UInt8]) {
        let split = suffixes.suffix(of: text)
        let head = split.map { UnsafeBufferPointer(rebasing: text[..<$0.start]) } ?? text
        // Each byte at most 2 coded; a suffix number at most 1 + 10.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 * head.count + 12) { room in
            guard let out = room.baseAddress else { return }
            var at = code(head, into: out)
            if let split {
                out[at] = suffixCode
                at += 1
                var rest = UInt64(split.number)
                while rest >= 0x80 {
                    out[at] = UInt8(truncatingIfNeeded: rest) | 0x80
                    at += 1
                    rest >>= 7
                }
                out[at] = UInt8(truncatingIfNeeded: rest)
                at += 1
            }
            bytes.appendVarint(UInt64(at))
            bytes.append(contentsOf: UnsafeBufferPointer(start: out, count: at))
        }
    }

    /// Room ``write(_:suffixes:at:)`` may take for a text of `count` bytes: a length varint,
    /// each byte escaped, a suffix number.
    static func bound(_ count: Int) -> Int { 2 * count + 24 }

    /// ``appendText(_:suffixes:to:)`` written at `at` (room: ``bound(_:)``), which moves past it.
    static func write(_ text: UnsafeBufferPointer<UInt8>, suffixes: inout SuffixTable, at: inout UnsafeMutablePointer<UInt8>) {
        let split = suffixes.suffix(of: text)
        let head = split.map { UnsafeBufferPointer(rebasing: text[..<$0.start]) } ?? text
        // Coded after one byte left for the length, moved on in the rare case it needs more.
        var end = at + 1
        end += code(head, into: end)
        if let split {
            end.pointee = suffixCode
            end += 1
            writeVarint(UInt64(split.number), at: &end)
        }
        let length = end - (at + 1)
        if length < 0x80 {
            at.pointee = UInt8(truncatingIfNeeded: length)
            at = end
            return
        }
        var lengthBytes = 1
        var rest = length >> 7
        while rest > 0 { lengthBytes += 1; rest >>= 7 }
        // Moved right by the extra length bytes (the regions overlap: last byte first).
        var index = length - 1
        while index >= 0 {
            at[lengthBytes + index] = at[1 + index]
            index -= 1
        }
        writeVarint(UInt64(length), at: &at)
        at += length
    }

    static func writeVarint(_ value: UInt64, at: inout UnsafeMutablePointer<UInt8>) {
        var rest = value
        while rest >= 0x80 {
            at.pointee = UInt8(truncatingIfNeeded: rest) | 0x80
            at += 1
            rest >>= 7
        }
        at.pointee = UInt8(truncatingIfNeeded: rest)
        at += 1
    }

    /// Writes `text` coded (no suffix number) at `out` (room for 2 bytes per byte of
    /// text); returns the coded size.
    private static func code(_ text: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) -> Int {
        guard let base = text.baseAddress else { return 0 }
        let count = text.count
        var at = 0, written = 0
        while at < count {
            let byte = base[at]
            let digit = byte &- 0x30
            if digit < 10 {
                // The run's value read as it is measured (at most `longest` digits).
                var end = at &+ 1
                var value = UInt64(digit)
                while end < count && end &- at < longest {
                    let next = base[end] &- 0x30
                    guard next < 10 else { break }
                    value = value &* 10 &+ UInt64(next)
                    end &+= 1
                }
                let length = end &- at
                if length >= shortest {
                    out[written] = firstCode &+ UInt8(truncatingIfNeeded: length &- shortest)
                    // All 8 bytes stored, `valueByteCount` of them kept (the rest is written over):
                    // the room holds 2 bytes for each text byte, so past a run of 4 or more digits
                    // there are 8 bytes of room at least.
                    UnsafeMutableRawPointer(out + (written &+ 1)).storeBytes(of: value.littleEndian, as: UInt64.self)
                    written &+= 1 &+ valueByteCount(length)
                } else {
                    // Fewer than `shortest` digits: as they are.
                    for n in at..<end {
                        out[written] = base[n]
                        written &+= 1
                    }
                }
                at = end
            } else if needsEscape(byte) {
                out[written] = escape
                out[written &+ 1] = byte
                written &+= 2
                at &+= 1
            } else {
                out[written] = byte
                written &+= 1
                at &+= 1
            }
        }
        return written
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
                let size = valueByteCount(length)
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
/// their suffix inline): under 600 KiB at most, a few tens of KiB for real traffic, whose
/// domains repeat.
///
/// Lookups run once per envelope text while the capture streams through the caches, so
/// each is one 64-byte line of a table that holds the suffix's hash, number, length and
/// bytes (one cache miss, not one each for a bucket, an offset and the bytes); they hash
/// and compare 8 bytes at a time and allocate nothing.
struct SuffixTable: Sendable {
    static let maxSuffixes = 4096
    static let shortest = 4
    static let longest = 56
    /// Words per lookup line: a head (hash, number + 1, length) and 7 words of suffix.
    private static let lineWords = 8

    /// The suffixes' bytes by number (for decoding), one after the other; suffix `n` ends at `ends[n]`.
    private var bytes: [UInt8] = []
    private var ends: [Int] = []
    /// Lookup lines (``lineWords`` words each; head 0: empty), a power of two of them, at
    /// most 3/4 used. Head: hash in bits 0-31, number + 1 in 32-47, length in 48-55.
    private var lines: [UInt64] = []
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
        guard adds, let base = text.baseAddress, let at = EnvelopeBytes.lastIndex(of: 0x40, in: text) else { return nil }
        let length = text.count - at
        guard length >= Self.shortest && length <= Self.longest else { return nil }
        // The suffix as 7 little-endian words, zero past its end, and their hash.
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
        let hash = withUnsafeMutableBytes(of: &words) { raw -> UInt32 in
            raw.baseAddress?.copyMemory(from: base + at, byteCount: length)
            var mixed = UInt64(length) &* 0x9E37_79B9_7F4A_7C15
            for word in raw.bindMemory(to: UInt64.self).prefix((length + 7) >> 3) {
                mixed = (mixed ^ word) &* 0xFF51_AFD7_ED55_8CCD
                mixed ^= mixed >> 29
            }
            return UInt32(truncatingIfNeeded: mixed ^ mixed >> 32)
        }
        let head = UInt64(hash) | UInt64(length) << 48
        let found: Int? = withUnsafeBytes(of: &words) { raw in
            lines.withUnsafeBufferPointer { lines in
                guard let suffix = raw.baseAddress, let table = lines.baseAddress, !lines.isEmpty else { return nil }
                let mask = lines.count / Self.lineWords - 1
                var line = Int(truncatingIfNeeded: hash) & mask
                while true {
                    let entry = table + line * Self.lineWords
                    let stored = entry[0]
                    if stored == 0 { return nil }
                    if stored & 0x00FF_0000_FFFF_FFFF == head
                        && memoryEqual(UnsafeRawPointer(entry + 1), suffix, words: (length + 7) >> 3) {
                        return Int(truncatingIfNeeded: stored >> 32 & 0xFFFF) - 1
                    }
                    line = (line + 1) & mask
                }
            }
        }
        if let found { return (at, found) }
        guard ends.count < Self.maxSuffixes else { return nil }
        let number = ends.count
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[at...]))
        ends.append(bytes.count)
        if (number + 1) * 4 > lines.count / Self.lineWords * 3 { grow() }
        withUnsafeBytes(of: &words) { raw in
            place(head | UInt64(number + 1) << 32, raw.bindMemory(to: UInt64.self))
        }
        return (at, number)
    }

    /// Files a line (head and 7 words) at the first free line from its hash's.
    private mutating func place(_ head: UInt64, _ words: UnsafeBufferPointer<UInt64>) {
        let mask = lines.count / Self.lineWords - 1
        var line = Int(truncatingIfNeeded: head & 0xFFFF_FFFF) & mask
        while lines[line * Self.lineWords] != 0 { line = (line + 1) & mask }
        lines[line * Self.lineWords] = head
        for n in 0..<min(words.count, Self.lineWords - 1) { lines[line * Self.lineWords + 1 + n] = words[n] }
    }

    /// Twice the lines (64 at first), each filed again from its stored hash.
    private mutating func grow() {
        let old = lines
        lines = [UInt64](repeating: 0, count: max(64, 2 * old.count / Self.lineWords) * Self.lineWords)
        old.withUnsafeBufferPointer { old in
            for line in stride(from: 0, to: old.count, by: Self.lineWords) where old[line] != 0 {
                place(old[line], UnsafeBufferPointer(rebasing: old[(line + 1)..<(line + Self.lineWords)]))
            }
        }
    }

    /// Whether `words` 8-byte words at `a` and `b` are equal.
    @inline(__always)
    private func memoryEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, words: Int) -> Bool {
        for n in 0..<words where a.loadUnaligned(fromByteOffset: 8 * n, as: UInt64.self) != b.loadUnaligned(fromByteOffset: 8 * n, as: UInt64.self) {
            return false
        }
        return true
    }
}
