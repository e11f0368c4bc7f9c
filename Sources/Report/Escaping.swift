/// Text from a capture is untrusted: everything that reaches the page goes through `escape`, which makes it
/// safe as HTML text and attribute values and keeps the page well-formed XML (characters XML 1.0 forbids,
/// even as references, are shown as `\xNN`).
func escape(_ text: String, limit: Int = 10_000) -> String {
    var output = ""
    output.reserveCapacity(min(text.utf8.count, limit) + 16)
    var count = 0
    for scalar in text.unicodeScalars {
        if count >= limit {
            output += "…"
            break
        }
        count += 1
        switch scalar {
        case "&": output += "&amp;"
        case "<": output += "&lt;"
        case ">": output += "&gt;"
        case "\"": output += "&quot;"
        case "'": output += "&#39;"
        case "\t", "\n": output.unicodeScalars.append(scalar)
        case "\r": output += "\\r"
        default:
            let value = scalar.value
            if value < 0x20 || (0x7F...0x9F).contains(value) || value == 0xFFFE || value == 0xFFFF {
                output += "\\x" + hex(value)
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
    }
    return output
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return digits.count < 2 ? "0" + digits : digits
}

/// A token safe inside a `class` attribute: lower-case letters, digits, `_` and `-` only.
func classToken(_ text: String) -> String {
    let kept = text.lowercased().unicodeScalars.map { scalar -> Character in
        let allowed = ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-"
        return allowed ? Character(scalar) : "_"
    }
    return kept.isEmpty ? "unknown" : String(kept.prefix(40))
}
