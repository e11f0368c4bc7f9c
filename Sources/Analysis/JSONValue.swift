/// A JSON value whose objects keep their keys in the order written, so the output
/// follows the contract's field order byte for byte on every run.
public indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    /// A number already formatted as JSON (e.g. epoch seconds with 6 decimals).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.serialized == b.serialized }
    public func hash(into hasher: inout Hasher) { hasher.combine(serialized) }

    /// Compact JSON text, no whitespace.
    public var serialized: String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .number(let text): out += text
        case .string(let text): Self.writeString(text, to: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (index, (key, value)) in fields.enumerated() {
                if index > 0 { out += "," }
                Self.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    /// Writes `text` as a JSON string: runs of bytes that need no escape are appended whole
    /// (UTF-8 is copied as it is); only `"`, `\\`, C0 controls and DEL are escaped.
    static func writeString(_ text: String, to out: inout String) {
        out += "\""
        var text = text
        text.makeContiguousUTF8()
        let utf8 = text.utf8
        // One pass over the bytes first: almost no string holds anything to escape.
        let clean = utf8.withContiguousStorageIfAvailable { bytes in !bytes.contains(where: needsEscape) } ?? false
        if clean {
            out += text
        } else {
            var runStart = utf8.startIndex
            var index = runStart
            while index != utf8.endIndex {
                let byte = utf8[index]
                let next = utf8.index(after: index)
                if needsEscape(byte) {
                    if runStart != index { out += text[runStart..<index] }
                    appendEscape(byte, to: &out)
                    runStart = next
                }
                index = next
            }
            if runStart != utf8.endIndex { out += text[runStart..<utf8.endIndex] }
        }
        out += "\""
    }

    @inline(__always)
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x7F
    }

    private static func appendEscape(_ byte: UInt8, to out: inout String) {
        switch byte {
        case 0x22: out += "\\\""
        case 0x5C: out += "\\\\"
        case 0x0A: out += "\\n"
        case 0x0D: out += "\\r"
        case 0x09: out += "\\t"
        default:
            // Only C0 controls and DEL get here: \u00XX.
            out += byte < 0x10 ? "\\u000" : "\\u00"
            out += String(byte, radix: 16)
        }
    }
}

extension JSONValue {
    static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    static func optional(_ value: Int64?) -> JSONValue { value.map(JSONValue.int) ?? .null }
    static func uint(_ value: UInt64) -> JSONValue { .number(String(value)) }
    static func optionalUInt(_ value: UInt64?) -> JSONValue { value.map(JSONValue.uint) ?? .null }
    /// Epoch seconds with microsecond precision.
    static func time(_ nanoseconds: Int64?) -> JSONValue { nanoseconds.map { .number(TimeText.seconds($0)) } ?? .null }
    /// A duration in seconds with microsecond precision.
    static func seconds(_ nanoseconds: Int64?) -> JSONValue { time(nanoseconds) }
    static func double(_ value: Double?) -> JSONValue {
        guard let value, value.isFinite else { return .null }
        return .number(String(describing: value))
    }
}
