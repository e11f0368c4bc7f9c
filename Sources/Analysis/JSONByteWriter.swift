import SMTP

/// Compact JSON written as UTF-8 straight into one reused byte buffer: no value tree, no
/// intermediate `String`s. Text matches ``JSONValue/serialized`` byte for byte (same string
/// escapes, integers in decimal, times and durations as ``TimeText/seconds(_:)``).
///
/// Commas are placed from the buffer itself: a key or array element needs one unless the
/// last byte written opened its object or array, or ended a key (a JSON value never ends in
/// `{`, `[` or `:`). So one writer holds one record at a time: ``reset()`` between records.
///
/// Each field reserves room for itself once and is then stored through a pointer (about 2
/// instructions a byte for keys, digits and text that needs no escape): a flow line costs a
/// few thousand instructions, not one array append per byte.
struct JSONByteWriter {
    /// The buffer. Shared only by copies of a writer; ``reset()`` gives a copy its own.
    private(set) var storage: JSONByteStorage
    /// The digits of the whole seconds ``seconds(_:)`` wrote last (see ``SecondsCache``).
    var secondsCache = SecondsCache()

    init(capacity: Int = 4096) {
        storage = JSONByteStorage(capacity: capacity)
    }

    /// The text written since the last ``reset()``, copied out (tests, rare callers).
    var bytes: [UInt8] { withBytes { Array($0.bindMemory(to: UInt8.self)) } }

    /// Number of bytes written since the last ``reset()``.
    var count: Int { storage.count }

    /// The text written since the last ``reset()``, borrowed for the call only.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.base, count: storage.count))
    }

    /// Empties the buffer, keeping its memory for the next record.
    mutating func reset() {
        if !isKnownUniquelyReferenced(&storage) { storage = JSONByteStorage(capacity: storage.capacity) }
        storage.count = 0
    }

    /// Ends a record's line. Only before handing the line out: the next record starts after ``reset()``.
    mutating func newline() { byte(UInt8(ascii: "\n")) }

    // MARK: the buffer

    /// Room for `extra` more bytes; returns where the next byte goes. Bytes written there
    /// count once ``commit(_:)`` marks them (a run of a record written in one go).
    @inline(__always)
    func reserve(_ extra: Int) -> UnsafeMutablePointer<UInt8> {
        let storage = self.storage
        if storage.capacity - storage.count < extra { storage.grow(toHold: storage.count + extra) }
        return storage.base + storage.count
    }

    /// Marks the bytes up to `end` (a pointer from ``reserve(_:)``) as written.
    @inline(__always)
    func commit(_ end: UnsafeMutablePointer<UInt8>) {
        storage.count = end - storage.base
    }

    /// Copies `text` to `at` (room reserved by the caller); returns the end.
    @inline(__always)
    static func put(_ text: StaticString, at: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        let length = text.utf8CodeUnitCount
        at.update(from: text.utf8Start, count: length)
        return at + length
    }

    /// Where the written text starts (valid until the next write that may grow the buffer).
    var base: UnsafeMutablePointer<UInt8> { storage.base }

    /// Whether a key or array element written now needs a comma before it.
    @inline(__always)
    var needsComma: Bool {
        let storage = self.storage
        guard storage.count > 0 else { return false }
        let last = storage.base[storage.count - 1]
        // `:` first: most values follow their key.
        return last != UInt8(ascii: ":") && last != UInt8(ascii: "{") && last != UInt8(ascii: "[")
    }

    // MARK: structure

    @inline(__always)
    mutating func beginObject() { opening(UInt8(ascii: "{")) }
    @inline(__always)
    mutating func endObject() { byte(UInt8(ascii: "}")) }
    @inline(__always)
    mutating func beginArray() { opening(UInt8(ascii: "[")) }
    @inline(__always)
    mutating func endArray() { byte(UInt8(ascii: "]")) }

    @inline(__always)
    private mutating func opening(_ bracket: UInt8) {
        let comma = needsComma
        var at = reserve(2)
        if comma { at.pointee = UInt8(ascii: ","); at += 1 }
        at.pointee = bracket
        commit(at + 1)
    }

    /// `"name":`, after a comma unless it is the first key of its object. Keys are the
    /// contract's own ASCII names, which need no escaping. Inlined: the name's length is
    /// then a constant and its copy a few moves, not a `memmove` call.
    @inline(__always)
    mutating func key(_ name: StaticString) {
        let comma = needsComma
        let length = name.utf8CodeUnitCount
        var at = reserve(length + 4)
        if comma { at.pointee = UInt8(ascii: ","); at += 1 }
        at.pointee = UInt8(ascii: "\"")
        (at + 1).update(from: name.utf8Start, count: length)
        at += 1 + length
        at[0] = UInt8(ascii: "\"")
        at[1] = UInt8(ascii: ":")
        commit(at + 2)
    }

    /// One byte of a fragment (a quote, a space).
    @inline(__always)
    mutating func byte(_ value: UInt8) {
        let at = reserve(1)
        at.pointee = value
        commit(at + 1)
    }

    /// A key that is not a literal (e.g. an enum's raw value), escaped like any string.
    mutating func dynamicKey(_ name: String) {
        separate()
        quoted(name)
        byte(UInt8(ascii: ":"))
    }

    /// Text copied as it is (keys, fixed fragments).
    @inline(__always)
    mutating func raw(_ text: StaticString) {
        let length = text.utf8CodeUnitCount
        let at = reserve(length)
        at.update(from: text.utf8Start, count: length)
        commit(at + length)
    }

    /// A comma before an array element or key, unless the enclosing `{`/`[` or the value's
    /// key was just written, or nothing at all was (a top-level value).
    @inline(__always)
    mutating func separate() {
        if needsComma { byte(UInt8(ascii: ",")) }
    }

    // MARK: values (each may stand as an array element: it separates itself)

    @inline(__always)
    mutating func null() { separate(); raw("null") }

    @inline(__always)
    mutating func bool(_ value: Bool) {
        separate()
        if value { raw("true") } else { raw("false") }
    }

    mutating func string(_ text: String) {
        let comma = needsComma
        if let done = text.utf8.withContiguousStorageIfAvailable({ plainString($0, comma: comma) }), done { return }
        if comma { byte(UInt8(ascii: ",")) }
        quoted(text)
    }

    /// The common case of ``string(_:)`` in one step: text that needs no escape, copied with
    /// its comma and quotes. False (nothing written) when some byte needs an escape.
    @inline(__always)
    private mutating func plainString(_ utf8: UnsafeBufferPointer<UInt8>, comma: Bool) -> Bool {
        let length = utf8.count
        guard Self.firstEscape(utf8) == length else { return false }
        copyQuoted(utf8, comma: comma)
        return true
    }

    /// `"text"` (with a comma first when `comma`), copied as it is.
    @inline(__always)
    private mutating func copyQuoted(_ utf8: UnsafeBufferPointer<UInt8>, comma: Bool) {
        let length = utf8.count
        var at = reserve(length + 3)
        if comma { at.pointee = UInt8(ascii: ","); at += 1 }
        at.pointee = UInt8(ascii: "\"")
        if let source = utf8.baseAddress { (at + 1).update(from: source, count: length) }
        at += 1 + length
        at.pointee = UInt8(ascii: "\"")
        commit(at + 1)
    }

    /// No byte is past ASCII or ``needsEscape(_:)``: 8 bytes at a time (the last 8
    /// overlapping the ones before), text shorter than 8 byte by byte.
    @inline(__always)
    static func isPlainASCII(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let source = utf8.baseAddress else { return true }
        let count = utf8.count
        guard count >= 8 else {
            var index = 0
            while index < count {
                let byte = source[index]
                if byte >= 0x80 || needsEscape(byte) { return false }
                index += 1
            }
            return true
        }
        var index = 0
        while index + 8 <= count {
            if anyNeedsEscapeOrHigh(UnsafeRawPointer(source + index).loadUnaligned(as: UInt64.self)) { return false }
            index += 8
        }
        return index == count || !anyNeedsEscapeOrHigh(UnsafeRawPointer(source + count - 8).loadUnaligned(as: UInt64.self))
    }

    /// The position of the first byte that ``needsEscape(_:)``, or the count when none does:
    /// 8 bytes at a time (the last 8 overlapping the ones before), short text byte by byte.
    @inline(__always)
    static func firstEscape(_ utf8: UnsafeBufferPointer<UInt8>) -> Int {
        guard let source = utf8.baseAddress else { return 0 }
        let count = utf8.count
        var index = 0
        if count >= 8 {
            while index + 8 <= count {
                if anyNeedsEscape(UnsafeRawPointer(source + index).loadUnaligned(as: UInt64.self)) { break }
                index += 8
            }
            if index + 8 > count {
                // Every whole word was clean: the rest is settled by the last 8 bytes.
                guard index < count, anyNeedsEscape(UnsafeRawPointer(source + count - 8).loadUnaligned(as: UInt64.self)) else {
                    return count
                }
                index = count - 8
            }
        }
        while index < count && !needsEscape(source[index]) { index += 1 }
        return index
    }

    /// A string known to need no escape (a contract word such as an enum's raw value).
    @inline(__always)
    mutating func literal(_ text: StaticString) {
        let comma = needsComma
        let length = text.utf8CodeUnitCount
        var at = reserve(length + 3)
        if comma { at.pointee = UInt8(ascii: ","); at += 1 }
        at.pointee = UInt8(ascii: "\"")
        (at + 1).update(from: text.utf8Start, count: length)
        at += 1 + length
        at.pointee = UInt8(ascii: "\"")
        commit(at + 1)
    }

    mutating func string(_ text: String?) {
        if let text { string(text) } else { null() }
    }

    /// ``string(_:)`` of `text.string`, written from the text's bytes when they are ASCII
    /// (then they are that string's UTF-8), so kept text needs no `String`.
    mutating func text(_ text: SMTPText?) {
        guard let text else { return null() }
        let written = text.withBytes { raw in asciiString(raw) }
        if !written { string(text.string) }
    }

    /// ``text(_:)`` of a value right after its key (where no comma is due): plain ASCII text
    /// (the usual) copied and checked in one pass by the buffer itself, other text through
    /// ``text(_:)``.
    @inline(__always)
    mutating func keyedText(_ text: SMTPText?) {
        let storage = self.storage
        // On the optional itself: a text bound by `if let` is one more copy (retain, release).
        switch text?.withBytes({ storage.appendQuotedIfPlain($0, comma: false) }) {
        case true?: return
        case false?: self.text(text)
        case nil: raw("null")
        }
    }

    /// ``keyedText(_:)`` of a record's text field, read where it lies (see
    /// ``SMTPText/withBytes(of:_:)``).
    @inline(__always)
    mutating func keyedText<Record>(of record: UnsafePointer<Record>, _ field: KeyPath<Record, SMTPText?>) {
        guard let text = record.pointer(to: field) else { return keyedText(record.pointee[keyPath: field]) }
        let storage = self.storage
        switch SMTPText.withBytes(of: text, { storage.appendQuotedIfPlain($0, comma: false) }) {
        case true?: return
        case false?: self.text(text.pointee)
        case nil: raw("null")
        }
    }

    /// ``lines(_:)`` with plain ASCII lines copied and checked in one pass each (see
    /// ``keyedText(_:)``), other lines through ``lines(_:)``'s own path.
    mutating func keyedLines(_ lines: ReplyLines) {
        byte(UInt8(ascii: "["))
        let storage = self.storage
        var first = true
        lines.forEachLine(while: { (line: UnsafeRawBufferPointer) -> Bool in
            if !storage.appendQuotedIfPlain(line, comma: !first) {
                if !asciiString(line) { string(String(decoding: line, as: UTF8.self)) }
            }
            first = false
            return true
        })
        byte(UInt8(ascii: "]"))
    }

    /// ``string(_:)`` of the string `bytes` decode to (written from them when they are ASCII
    /// or valid UTF-8).
    mutating func text(bytes: UnsafeRawBufferPointer) {
        if !asciiString(bytes) { string(String(decoding: bytes, as: UTF8.self)) }
    }

    /// ``string(_:)`` of an IPv4 address's dotted quad, written in place.
    mutating func dottedQuad(_ value: UInt32) {
        let comma = needsComma
        var at = reserve(18)
        if comma { at.pointee = UInt8(ascii: ","); at += 1 }
        at.pointee = UInt8(ascii: "\"")
        at += 1 + EndpointRecord.writeDottedQuad(value, at: at + 1)
        at.pointee = UInt8(ascii: "\"")
        commit(at + 1)
    }

    /// ``string(_:)`` of each line's string, in an array.
    mutating func lines(_ lines: ReplyLines) {
        beginArray()
        lines.forEachLine { (line: UnsafeRawBufferPointer) -> Void in
            if !asciiString(line) { string(String(decoding: line, as: UTF8.self)) }
        }
        endArray()
    }

    /// ASCII or valid UTF-8 `raw` as a JSON string (with its comma): those bytes are the
    /// UTF-8 of the string they decode to. False (nothing written) for other bytes, which
    /// decoding repairs.
    private mutating func asciiString(_ raw: UnsafeRawBufferPointer) -> Bool {
        let utf8 = UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
        let comma = needsComma
        // Most text is ASCII with nothing to escape: copied and checked in one pass.
        if copyQuotedIfPlain(utf8, comma: comma) { return true }
        guard Self.isASCII(utf8) || Self.isValidUTF8(utf8) else { return false }
        if plainString(utf8, comma: comma) { return true }
        if comma { byte(UInt8(ascii: ",")) }
        byte(UInt8(ascii: "\""))
        escaped(utf8)
        byte(UInt8(ascii: "\""))
        return true
    }

    /// ``copyQuoted(_:comma:)`` of text that ``isPlainASCII(_:)``, checking each 8 bytes as it
    /// copies them (past the end of the written text until it is committed); false, nothing
    /// written, for any other text.
    @inline(__always)
    private mutating func copyQuotedIfPlain(_ utf8: UnsafeBufferPointer<UInt8>, comma: Bool) -> Bool {
        let count = utf8.count
        guard count >= 8, let source = utf8.baseAddress else {
            guard Self.isPlainASCII(utf8) else { return false }
            copyQuoted(utf8, comma: comma)
            return true
        }
        var at = reserve(count + 3)
        if comma { at.pointee = UInt8(ascii: ","); at += 1 }
        at.pointee = UInt8(ascii: "\"")
        at += 1
        guard Self.copyWordsFlagging(UnsafeRawPointer(source), to: UnsafeMutableRawPointer(at), count: count) == 0 else { return false }
        at += count
        at.pointee = UInt8(ascii: "\"")
        commit(at + 1)
        return true
    }

    /// Well-formed UTF-8 (Unicode Table 3-7: no overlong forms, surrogates or values past
    /// U+10FFFF), which `String(decoding:as:)` keeps byte for byte.
    static func isValidUTF8(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = utf8.count
        var index = 0
        func continuation(_ at: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            at < count && utf8[at] >= low && utf8[at] <= high
        }
        while index < count {
            let lead = utf8[index]
            switch lead {
            case 0x00...0x7F:
                index += 1
            case 0xC2...0xDF:
                guard continuation(index + 1) else { return false }
                index += 2
            case 0xE0...0xEF:
                let low: UInt8 = lead == 0xE0 ? 0xA0 : 0x80
                let high: UInt8 = lead == 0xED ? 0x9F : 0xBF
                guard continuation(index + 1, low, high), continuation(index + 2) else { return false }
                index += 3
            case 0xF0...0xF4:
                let low: UInt8 = lead == 0xF0 ? 0x90 : 0x80
                let high: UInt8 = lead == 0xF4 ? 0x8F : 0xBF
                guard continuation(index + 1, low, high), continuation(index + 2), continuation(index + 3) else { return false }
                index += 4
            default:
                return false
            }
        }
        return true
    }

    /// No byte has its high bit set (8 bytes at a time).
    static func isASCII(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let source = utf8.baseAddress else { return true }
        let count = utf8.count
        var index = 0
        while index + 8 <= count {
            if UnsafeRawPointer(source + index).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            index += 8
        }
        while index < count {
            if source[index] >= 0x80 { return false }
            index += 1
        }
        return true
    }

    @inline(__always)
    mutating func int(_ value: Int) { int(Int64(value)) }

    @inline(__always)
    mutating func int(_ value: Int64) {
        let comma = needsComma
        var at = reserve(22)
        if comma { at.pointee = UInt8(ascii: ","); at += 1 }
        if value < 0 { at.pointee = UInt8(ascii: "-"); at += 1 }
        commit(Self.writeDigits(value.magnitude, at: at))
    }

    @inline(__always)
    mutating func uint(_ value: UInt64) {
        let comma = needsComma
        var at = reserve(21)
        if comma { at.pointee = UInt8(ascii: ","); at += 1 }
        commit(Self.writeDigits(value, at: at))
    }

    mutating func uint(_ value: UInt64?) {
        if let value { uint(value) } else { null() }
    }

    /// Epoch seconds, or a duration in seconds, with exactly 6 decimals (``TimeText/seconds(_:)``):
    /// rounded to the nearest microsecond, `-` for any negative value, any `Int64` included.
    mutating func seconds(_ nanoseconds: Int64?) {
        guard let nanoseconds else { return null() }
        let comma = needsComma
        // ",", "-", up to 14 whole digits (2^63 ns / 10^9), ".", 6 decimals.
        var at = reserve(24)
        if comma { at.pointee = UInt8(ascii: ","); at += 1 }
        // Through a local: the writer itself is not changed while the buffer is written.
        var cache = secondsCache
        let end = Self.putSeconds(nanoseconds, at: at, cache: &cache)
        secondsCache = cache
        commit(end)
    }

    /// The whole seconds of the last time written but for their last two digits (1 or more;
    /// `UInt64.max`: none), and their digits: the times of a run mostly fall in the same 100
    /// seconds, so most times write only their last two whole digits.
    struct SecondsCache {
        var hundreds = UInt64.max
        var digits: (UInt64, UInt64) = (0, 0)
        var count = 0
    }

    /// The text of ``seconds(_:)`` (no comma) at `start`, which has room for 23 bytes; returns the end.
    static func putSeconds(_ nanoseconds: Int64, at start: UnsafeMutablePointer<UInt8>, cache: inout SecondsCache) -> UnsafeMutablePointer<UInt8> {
        var at = start
        if nanoseconds < 0 { at.pointee = UInt8(ascii: "-"); at += 1 }
        // magnitude ≤ 2^63: adding 500 cannot overflow a UInt64.
        let micros = (nanoseconds.magnitude + 500) / 1000
        let whole = micros / 1_000_000
        if whole < 100 {
            // Durations: no cache.
            at = writeDigits(whole, at: at)
        } else {
            let hundreds = whole / 100
            // At most 8 digits before the last two (2^63 ns): 16 bytes copied stay within the 23.
            if hundreds != cache.hundreds {
                let end = writeDigits(hundreds, at: at)
                cache.hundreds = hundreds
                cache.count = end - at
                let count = cache.count
                cache.digits = (0, 0)
                withUnsafeMutableBytes(of: &cache.digits) { $0.copyMemory(from: UnsafeRawBufferPointer(start: at, count: count)) }
            } else {
                UnsafeMutableRawPointer(at).storeBytes(of: cache.digits, as: (UInt64, UInt64).self)
            }
            at += cache.count
            writePair(whole &- hundreds &* 100, at: at)
            at += 2
        }
        at.pointee = UInt8(ascii: ".")
        let fraction = micros % 1_000_000
        writePair(fraction / 10_000, at: at + 1)
        writePair(fraction / 100 % 100, at: at + 3)
        writePair(fraction % 100, at: at + 5)
        return at + 7
    }

    /// ``putSeconds(_:at:cache:)``, or `null`.
    @inline(__always)
    static func putSeconds(_ nanoseconds: Int64?, at: UnsafeMutablePointer<UInt8>, cache: inout SecondsCache) -> UnsafeMutablePointer<UInt8> {
        guard let nanoseconds else { return put("null", at: at) }
        return putSeconds(nanoseconds, at: at, cache: &cache)
    }

    /// The decimal digits of `value`, or `null` (room for 20 bytes).
    @inline(__always)
    static func putDigits(_ value: UInt64?, at: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        guard let value else { return put("null", at: at) }
        return writeDigits(value, at: at)
    }

    /// `value` in decimal with its sign (room for 20 bytes).
    @inline(__always)
    static func putInt(_ value: Int, at start: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var at = start
        if value < 0 { at.pointee = UInt8(ascii: "-"); at += 1 }
        return writeDigits(UInt64(value.magnitude), at: at)
    }

    /// `true` or `false`.
    @inline(__always)
    static func putBool(_ value: Bool, at: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        value ? put("true", at: at) : put("false", at: at)
    }

    /// A finite double as Swift prints it (`String(describing:)`), else `null`. Rare (once
    /// per summary), so it goes through `String`.
    mutating func double(_ value: Double?) {
        guard let value, value.isFinite else { return null() }
        separate()
        var text = String(describing: value)
        text.withUTF8 { append($0) }
    }

    // MARK: text

    /// The decimal digits of `value`.
    mutating func digits(_ value: UInt64) {
        let at = reserve(20)
        commit(Self.writeDigits(value, at: at))
    }

    /// Decimal digits in `value` (1…20), by a few comparisons.
    @inline(__always)
    static func digitCount(_ value: UInt64) -> Int {
        if value < 10_000_000_000 {
            if value < 100_000 {
                if value < 100 { return value < 10 ? 1 : 2 }
                if value < 10_000 { return value < 1_000 ? 3 : 4 }
                return 5
            }
            if value < 10_000_000 { return value < 1_000_000 ? 6 : 7 }
            if value < 1_000_000_000 { return value < 100_000_000 ? 8 : 9 }
            return 10
        }
        if value < 1_000_000_000_000_000 {
            if value < 1_000_000_000_000 { return value < 100_000_000_000 ? 11 : 12 }
            if value < 100_000_000_000_000 { return value < 10_000_000_000_000 ? 13 : 14 }
            return 15
        }
        if value < 100_000_000_000_000_000 { return value < 10_000_000_000_000_000 ? 16 : 17 }
        if value < 10_000_000_000_000_000_000 { return value < 1_000_000_000_000_000_000 ? 18 : 19 }
        return 20
    }

    /// Two digits of `value` (below 100), from a table.
    @inline(__always)
    static func writePair(_ value: UInt64, at: UnsafeMutablePointer<UInt8>) {
        let pairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
        let from = pairs.utf8Start + Int(truncatingIfNeeded: value) * 2
        at[0] = from[0]
        at[1] = from[1]
    }

    /// Writes the decimal digits of `value` (at most 20) at `start`; returns the end.
    @inline(__always)
    static func writeDigits(_ value: UInt64, at start: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        if value < 10 {
            start.pointee = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value)
            return start + 1
        }
        let count = digitCount(value)
        var at = start + count
        var rest = value
        while rest >= 100 {
            at -= 2
            writePair(rest % 100, at: at)
            rest /= 100
        }
        if rest >= 10 {
            writePair(rest, at: at - 2)
        } else {
            (at - 1).pointee = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest)
        }
        return start + count
    }

    /// `text` as a JSON string in quotes: runs of bytes that need no escape are copied whole
    /// (UTF-8 as it is); only `"`, `\\`, C0 controls and DEL are escaped.
    mutating func quoted(_ text: String) {
        byte(UInt8(ascii: "\""))
        escapedContent(text)
        byte(UInt8(ascii: "\""))
    }

    /// The inside of a JSON string, for strings written in parts.
    mutating func escapedContent(_ text: String) {
        var text = text
        text.withUTF8 { escaped($0) }
    }

    /// Bytes already written at `range` (from an earlier ``mark``), written again at the end.
    mutating func repeatBytes(_ range: Range<Int>) {
        guard range.lowerBound >= 0 && range.upperBound <= storage.count && !range.isEmpty else { return }
        let at = reserve(range.count)
        at.update(from: storage.base + range.lowerBound, count: range.count)
        commit(at + range.count)
    }

    /// Whether the bytes at `range` hold `byte`; nil when some byte is not ASCII.
    func asciiBytes(_ range: Range<Int>, contain byte: UInt8) -> Bool? {
        guard range.lowerBound >= 0 && range.upperBound <= storage.count else { return nil }
        var found = false
        for index in range {
            let value = storage.base[index]
            if value >= 0x80 { return nil }
            if value == byte { found = true }
        }
        return found
    }

    /// Bytes copied as they are.
    private mutating func append(_ run: UnsafeBufferPointer<UInt8>) {
        guard let source = run.baseAddress, !run.isEmpty else { return }
        let at = reserve(run.count)
        at.update(from: source, count: run.count)
        commit(at + run.count)
    }

    private mutating func escaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        guard let source = utf8.baseAddress else { return }
        let count = utf8.count
        // Up to the first byte to escape in one copy (often the whole text), then byte by byte.
        var index = Self.firstEscape(utf8)
        append(UnsafeBufferPointer(start: source, count: index))
        var runStart = index
        while index < count {
            let byte = source[index]
            if Self.needsEscape(byte) {
                if runStart < index { append(UnsafeBufferPointer(start: source + runStart, count: index - runStart)) }
                escape(byte)
                runStart = index + 1
            }
            index += 1
        }
        if runStart < count { append(UnsafeBufferPointer(start: source + runStart, count: count - runStart)) }
    }

    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x7F
    }

    /// Whether any of the 8 bytes of `word` ``needsEscape(_:)``: exact for the word as a
    /// whole (the classic "has a zero byte" and "has a byte below n" tests, n ≤ 128).
    @inline(__always)
    static func anyNeedsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let delete = word ^ (ones &* 0x7F)
        let below = (word &- ones &* 0x20) & ~word
        let zeros = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((delete &- ones) & ~delete)
        return (below | zeros) & highs != 0
    }

    /// Whether any of the 8 bytes of `word` ``needsEscape(_:)`` or has its high bit set.
    @inline(__always)
    static func anyNeedsEscapeOrHigh(_ word: UInt64) -> Bool { escapeOrHighBits(word) != 0 }

    /// Copies `count` (at least 8) bytes a word at a time: whole words up to the last 8 bytes,
    /// then those 8, overlapping the ones before. Returns the ``escapeOrHighBits(_:)`` of every
    /// word copied (zero when the text is plain ASCII with nothing to escape).
    @inline(__always)
    static func copyWordsFlagging(_ from: UnsafeRawPointer, to: UnsafeMutableRawPointer, count: Int) -> UInt64 {
        var flagged: UInt64 = 0
        var index = 0
        let lastWord = count &- 8
        while index < lastWord {
            let word = from.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            to.storeBytes(of: word, toByteOffset: index, as: UInt64.self)
            flagged |= escapeOrHighBits(word)
            index &+= 8
        }
        let word = from.loadUnaligned(fromByteOffset: lastWord, as: UInt64.self)
        to.storeBytes(of: word, toByteOffset: lastWord, as: UInt64.self)
        return flagged | escapeOrHighBits(word)
    }

    /// Nonzero exactly when ``anyNeedsEscapeOrHigh(_:)``: high bits flagging bytes that may
    /// need an escape or are past ASCII (never zero when some byte is).
    @inline(__always)
    static func escapeOrHighBits(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let delete = word ^ (ones &* 0x7F)
        // Without `& ~word`: a byte with its high bit set counts anyway.
        let below = word &- ones &* 0x20
        let zeros = (quote &- ones) | (backslash &- ones) | (delete &- ones)
        return (below | zeros | word) & highs
    }

    private mutating func escape(_ byte: UInt8) {
        switch byte {
        case 0x22: raw("\\\"")
        case 0x5C: raw("\\\\")
        case 0x0A: raw("\\n")
        case 0x0D: raw("\\r")
        case 0x09: raw("\\t")
        default:
            // Only C0 controls and DEL get here: \u00XX in lowercase hex.
            raw("\\u00")
            self.byte(Self.hexDigit(byte >> 4))
            self.byte(Self.hexDigit(byte & 0x0F))
        }
    }

    @inline(__always)
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ (nibble &- 10)
    }
}

/// The bytes behind a ``JSONByteWriter``: one allocation, doubled when a record outgrows it.
final class JSONByteStorage {
    // Touched for every field, by one writer at a time: no dynamic exclusivity checks.
    @exclusivity(unchecked) private(set) var base: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) var count = 0
    @exclusivity(unchecked) private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// `"text"` of `raw` (after a comma when `comma`) when it ``JSONByteWriter/isPlainASCII(_:)``,
    /// each 8 bytes checked as they are copied (past the written text until it is
    /// committed); false, nothing written, for any other text.
    @inline(__always)
    func appendQuotedIfPlain(_ raw: UnsafeRawBufferPointer, comma: Bool) -> Bool {
        let length = raw.count
        guard length >= 8, let from = raw.baseAddress else { return appendShortQuotedIfPlain(raw, comma: comma) }
        if capacity &- count < length &+ 3 { grow(toHold: count &+ length &+ 3) }
        var at = base + count
        if comma { at.pointee = UInt8(ascii: ","); at += 1 }
        at.pointee = UInt8(ascii: "\"")
        guard JSONByteWriter.copyWordsFlagging(from, to: UnsafeMutableRawPointer(at + 1), count: length) == 0 else { return false }
        at += 1 &+ length
        at.pointee = UInt8(ascii: "\"")
        count = at + 1 - base
        return true
    }

    /// ``appendQuotedIfPlain(_:comma:)`` of text shorter than 8 bytes, byte by byte.
    private func appendShortQuotedIfPlain(_ raw: UnsafeRawBufferPointer, comma: Bool) -> Bool {
        let utf8 = UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
        guard JSONByteWriter.isPlainASCII(utf8) else { return false }
        let length = utf8.count
        if capacity &- count < length &+ 3 { grow(toHold: count &+ length &+ 3) }
        var at = base + count
        if comma { at.pointee = UInt8(ascii: ","); at += 1 }
        at.pointee = UInt8(ascii: "\"")
        if let source = utf8.baseAddress { (at + 1).update(from: source, count: length) }
        at += 1 &+ length
        at.pointee = UInt8(ascii: "\"")
        count = at + 1 - base
        return true
    }

    /// Room for at least `needed` bytes, the written ones kept.
    func grow(toHold needed: Int) {
        var newCapacity = capacity
        while newCapacity < needed { newCapacity *= 2 }
        let new = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        new.update(from: base, count: count)
        base.deallocate()
        base = new
        capacity = newCapacity
    }
}
