/// The message header fields smtpscope reports.
struct HeaderFields: Sendable, Hashable {
    var messageID: String?
    var subject: String?
    var date: String?
    var from: String?
    var to: String?
}

/// Collects the header block of a message (bytes up to the first empty line), bounded by
/// `maxHeaderBytes`, and parses it once it is complete.
struct HeaderCollector {
    private var bytes: [UInt8] = []
    /// Still inside the header block.
    private(set) var collecting = true
    /// The block went past the cap before its empty line.
    private(set) var truncated = false
    /// Last two content bytes, to find the empty line (`\n\n` or `\n\r\n`).
    private var last1: UInt8 = 0x0A  // a message starting with an empty line has no headers
    private var last2: UInt8 = 0

    mutating func add(_ byte: UInt8, cap: Int) {
        guard collecting else { return }
        if byte == 0x0A && (last1 == 0x0A || (last1 == 0x0D && last2 == 0x0A)) {
            collecting = false
            return
        }
        last2 = last1
        last1 = byte
        if bytes.count < cap {
            bytes.append(byte)
        } else {
            truncated = true
            collecting = false
        }
    }

    mutating func add(_ chunk: UnsafeRawBufferPointer, _ range: Range<Int>, cap: Int) {
        for i in range {
            guard collecting else { return }
            add(chunk[i], cap: cap)
        }
    }

    func parse(maxValueLength: Int) -> HeaderFields {
        var fields = HeaderFields()
        var name: [UInt8] = []
        var value: [UInt8] = []
        var inField = false

        func finish() {
            guard inField else { return }
            let key = String(decoding: name, as: UTF8.self).lowercased()
            var v = value[...]
            while let f = v.first, f == 0x20 || f == 0x09 { v = v.dropFirst() }
            while let l = v.last, l == 0x20 || l == 0x09 { v = v.dropLast() }
            let text = String(decoding: v.prefix(maxValueLength), as: UTF8.self)
            switch key {
            case "message-id": if fields.messageID == nil { fields.messageID = text }
            case "subject": if fields.subject == nil { fields.subject = text }
            case "date": if fields.date == nil { fields.date = text }
            case "from": if fields.from == nil { fields.from = text }
            case "to": if fields.to == nil { fields.to = text }
            default: break
            }
            name.removeAll(keepingCapacity: true)
            value.removeAll(keepingCapacity: true)
            inField = false
        }

        for line in HeaderCollector.lines(bytes) {
            if let first = line.first, first == 0x20 || first == 0x09 {
                // Folded continuation (RFC 5322 §2.2.3): unfolding removes only the line break.
                if inField && value.count < maxValueLength { value.append(contentsOf: line) }
                continue
            }
            finish()
            guard let colon = line.firstIndex(of: 0x3A) else { continue }
            name.append(contentsOf: line[line.startIndex..<colon])
            while let l = name.last, l == 0x20 || l == 0x09 { name.removeLast() }
            value.append(contentsOf: line[(colon + 1)...].prefix(maxValueLength))
            inField = true
        }
        finish()
        return fields
    }

    /// Lines of the block split at `\n`, a `\r` before it dropped.
    private static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var start = 0
        for i in bytes.indices where bytes[i] == 0x0A {
            var end = i
            if end > start && bytes[end - 1] == 0x0D { end -= 1 }
            out.append(bytes[start..<end])
            start = i + 1
        }
        if start < bytes.count { out.append(bytes[start...]) }
        return out
    }
}
