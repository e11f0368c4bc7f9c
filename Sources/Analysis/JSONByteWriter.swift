/// Compact JSON written as UTF-8 straight into one reused byte buffer: no value tree, no
/// intermediate `String`s. Text matches ``JSONValue/serialized`` byte for byte (same string
/// escapes, integers in decimal, times and durations as ``TimeText/seconds(_:)``).
///
/// Commas are placed from the buffer itself: a key or array element needs one unless the
/// last byte written opened its object or array, or ended a key (a JSON value never ends in
/// `{`, `[` or `:`). So one writer holds one record at a time: ``reset()`` between records.
struct JSONByteWriter {
    /// The text written since the last ``reset()``.
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 4096) {
        bytes.reserveCapacity(capacity)
    }

    /// Empties the buffer, keeping its memory for the next record.
    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
    }

    /// Ends a record's line. Only before handing the line out: the next record starts after ``reset()``.
    mutating func newline() { bytes.append(UInt8(ascii: "\n")) }

    // MARK: structure

    mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")) }
    mutating func endObject() { bytes.append(UInt8(ascii: "}")) }
    mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")) }
    mutating func endArray() { bytes.append(UInt8(ascii: "]")) }

    /// `"name":`, after a comma unless it is the first key of its object. Keys are the
    /// contract's own ASCII names, which need no escaping.
    mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// One byte of a fragment (a quote, a space).
    @inline(__always)
    mutating func byte(_ value: UInt8) { bytes.append(value) }

    /// A key that is not a literal (e.g. an enum's raw value), escaped like any string.
    mutating func dynamicKey(_ name: String) {
        separate()
        quoted(name)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Text copied as it is (keys, fixed fragments).
    @inline(__always)
    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// A comma before an array element or key, unless the enclosing `{`/`[` or the value's
    /// key was just written, or nothing at all was (a top-level value).
    @inline(__always)
    mutating func separate() {
        guard let last = bytes.last, last != UInt8(ascii: "{"), last != UInt8(ascii: "["), last != UInt8(ascii: ":") else { return }
        bytes.append(UInt8(ascii: ","))
    }

    // MARK: values (each may stand as an array element: it separates itself)

    mutating func null() { separate(); raw("null") }

    mutating func bool(_ value: Bool) {
        separate()
        if value { raw("true") } else { raw("false") }
    }

    mutating func string(_ text: String) {
        separate()
        quoted(text)
    }

    mutating func string(_ text: String?) {
        if let text { string(text) } else { null() }
    }

    mutating func int(_ value: Int) { int(Int64(value)) }

    mutating func int(_ value: Int64) {
        separate()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        digits(value.magnitude)
    }

    mutating func uint(_ value: UInt64) {
        separate()
        digits(value)
    }

    mutating func uint(_ value: UInt64?) {
        if let value { uint(value) } else { null() }
    }

    /// Epoch seconds, or a duration in seconds, with exactly 6 decimals (``TimeText/seconds(_:)``):
    /// rounded to the nearest microsecond, `-` for any negative value, any `Int64` included.
    mutating func seconds(_ nanoseconds: Int64?) {
        guard let nanoseconds else { return null() }
        separate()
        if nanoseconds < 0 { bytes.append(UInt8(ascii: "-")) }
        // magnitude ≤ 2^63: adding 500 cannot overflow a UInt64.
        let micros = (nanoseconds.magnitude + 500) / 1000
        digits(micros / 1_000_000)
        bytes.append(UInt8(ascii: "."))
        var fraction = micros % 1_000_000
        var divisor: UInt64 = 100_000
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: fraction / divisor))
            fraction %= divisor
            divisor /= 10
        }
    }

    /// A finite double as Swift prints it (`String(describing:)`), else `null`. Rare (once
    /// per summary), so it goes through `String`.
    mutating func double(_ value: Double?) {
        guard let value, value.isFinite else { return null() }
        separate()
        bytes.append(contentsOf: String(describing: value).utf8)
    }

    // MARK: text

    /// The decimal digits of `value`, written in place from the right.
    mutating func digits(_ value: UInt64) {
        if value < 10 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value))
            return
        }
        var count = 1
        var rest = value / 10
        while rest > 0 {
            count += 1
            rest /= 10
        }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: count))
        bytes.withUnsafeMutableBufferPointer { buffer in
            var index = start + count
            var rest = value
            while rest > 0 {
                index -= 1
                buffer[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            }
        }
    }

    /// `text` as a JSON string in quotes: runs of bytes that need no escape are copied whole
    /// (UTF-8 as it is); only `"`, `\\`, C0 controls and DEL are escaped.
    mutating func quoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        escapedContent(text)
        bytes.append(UInt8(ascii: "\""))
    }

    /// The inside of a JSON string, for strings written in parts.
    mutating func escapedContent(_ text: String) {
        var text = text
        if text.utf8.withContiguousStorageIfAvailable({ escaped($0) }) == nil {
            text.makeContiguousUTF8()
            text.utf8.withContiguousStorageIfAvailable { escaped($0) }
        }
    }

    private mutating func escaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        for index in utf8.indices {
            let byte = utf8[index]
            guard Self.needsEscape(byte) else { continue }
            if runStart < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
            escape(byte)
            runStart = index + 1
        }
        if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
    }

    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x7F
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
            bytes.append(Self.hexDigit(byte >> 4))
            bytes.append(Self.hexDigit(byte & 0x0F))
        }
    }

    @inline(__always)
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ (nibble &- 10)
    }
}
