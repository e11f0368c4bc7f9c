#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON value decoded without a schema, so that records can be read leniently:
/// unknown fields are ignored, missing optional fields read as `nil`.
enum JSONValue: Sendable, Hashable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    /// The first present, non-null field among `keys` (for fields with accepted alternative names).
    func first(_ keys: String...) -> JSONValue? {
        for key in keys {
            if let value = self[key], !value.isNull { return value }
        }
        return nil
    }

    var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    var string: String? {
        switch self {
        case .string(let value): return value
        case .number(let value): return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
        case .bool(let value): return value ? "true" : "false"
        default: return nil
        }
    }

    var double: Double? {
        switch self {
        case .number(let value): return value.isFinite ? value : nil
        case .string(let value): return Double(value)
        default: return nil
        }
    }

    /// An integer, only when the number is integral and in a safe range (no trapping conversion).
    var int: Int? {
        guard let value = double, value == value.rounded(), abs(value) < 9e15 else { return nil }
        return Int(value)
    }

    var bool: Bool? {
        switch self {
        case .bool(let value): return value
        case .number(let value): return value != 0
        default: return nil
        }
    }

    var array: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    var object: [String: JSONValue]? {
        if case .object(let fields) = self { return fields }
        return nil
    }

    var ints: [Int] { array?.compactMap(\.int) ?? [] }
    var strings: [String] { array?.compactMap(\.string) ?? [] }

    /// A flat, human-readable rendering of any value (evidence may be a string, a list or an object).
    var plainText: String {
        switch self {
        case .null: return ""
        case .bool, .number, .string: return string ?? ""
        case .array(let values): return values.map(\.plainText).filter { !$0.isEmpty }.joined(separator: "; ")
        case .object(let fields):
            return fields.keys.sorted().compactMap { key in
                guard let value = fields[key], !value.isNull else { return nil }
                return "\(key): \(value.plainText)"
            }.joined(separator: ", ")
        }
    }
}
