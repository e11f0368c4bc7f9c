#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// `printf`-style text for the report's numbers (`%02d`, `%.1f`, `%.3g`), through the C library:
/// the report needs no Foundation, which would add its start-up to every `smtpscope` run.
/// Formats are the report's own literals (never input); the result is at most 127 bytes.
func cFormat(_ format: String, _ arguments: CVarArg...) -> String {
    cFormat(format, arguments)
}

/// ``cFormat(_:_:)-(_,CVarArg...)`` with the arguments in an array.
func cFormat(_ format: String, _ arguments: [CVarArg]) -> String {
    withVaList(arguments) { list in
        var buffer = [CChar](repeating: 0, count: 128)
        let written = buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, format, list) }
        guard written >= 0 else { return "" }
        let count = min(Int(written), buffer.count - 1)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The last component of a path, as `NSString.lastPathComponent` gives it for the names a report
/// reads: trailing slashes dropped, then what follows the last `/` (`/` itself stays `/`).
func lastPathComponent(_ path: String) -> String {
    var trimmed = Substring(path)
    while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
    guard trimmed != "/", let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
    return String(trimmed[trimmed.index(after: slash)...])
}
