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

    /// `add(_:cap:)` for each byte of `chunk[range]`, a line at a time: only a `\n` can end
    /// the block, so the bytes before it are copied in one go (up to the cap).
    mutating func add(_ chunk: UnsafeRawBufferPointer, _ range: Range<Int>, cap: Int) {
        var i = range.lowerBound
        let end = range.upperBound
        while i < end && collecting {
            var k = i
            while k < end && chunk[k] != 0x0A { k += 1 }
            if k > i {
                let room = max(0, cap - bytes.count)
                if k - i > room {
                    // The byte after the room would find the block full.
                    bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[i..<(i + room)]))
                    truncated = true
                    collecting = false
                    return
                }
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[i..<k]))
                last2 = k - i >= 2 ? chunk[k - 2] : last1
                last1 = chunk[k - 1]
            }
            guard k < end else { return }
            add(chunk[k], cap: cap)
            i = k + 1
        }
    }

    /// The fields smtpscope reports, each from its first occurrence. Lines split at `\n` (a
    /// `\r` before it dropped); a line starting with a space or tab continues the field before
    /// it (unfolding, RFC 5322 §2.2.3, removes only the line break). Names match ASCII
    /// case-insensitively; only the values of wanted fields are gathered.
    func parse(maxValueLength: Int) -> HeaderFields {
        var fields = HeaderFields()
        var value: [UInt8] = []
        // The field whose value is being gathered (nil: not wanted, already set, or none).
        var current: WantedField?

        func finish() {
            guard let field = current else { return }
            current = nil
            var v = value[...]
            while let f = v.first, f == 0x20 || f == 0x09 { v = v.dropFirst() }
            while let l = v.last, l == 0x20 || l == 0x09 { v = v.dropLast() }
            let text = String(decoding: v.prefix(maxValueLength), as: UTF8.self)
            switch field {
            case .messageID: fields.messageID = text
            case .subject: fields.subject = text
            case .date: fields.date = text
            case .from: fields.from = text
            case .to: fields.to = text
            }
            value.removeAll(keepingCapacity: true)
        }

        bytes.withUnsafeBytes { block in
            var start = 0
            let n = block.count
            while start < n {
                var stop = start
                while stop < n && block[stop] != 0x0A { stop += 1 }
                var lineEnd = stop
                if stop < n && lineEnd > start && block[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let line = UnsafeRawBufferPointer(rebasing: block[start..<lineEnd])
                start = stop + 1
                if let first = line.first, first == 0x20 || first == 0x09 {
                    if current != nil && value.count < maxValueLength { value.append(contentsOf: line) }
                    continue
                }
                finish()
                guard let colon = line.firstIndex(of: 0x3A) else { continue }
                var nameEnd = colon
                while nameEnd > 0, line[nameEnd - 1] == 0x20 || line[nameEnd - 1] == 0x09 { nameEnd -= 1 }
                guard let field = WantedField(name: UnsafeRawBufferPointer(rebasing: line[0..<nameEnd])),
                    !field.isSet(in: fields)
                else { continue }
                current = field
                let valueStart = colon + 1
                value.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[valueStart..<min(line.count, valueStart + maxValueLength)]))
            }
        }
        finish()
        return fields
    }

    /// A header field smtpscope reports.
    private enum WantedField {
        case messageID, subject, date, from, to

        /// The field named by `name` (ASCII, any case), or nil.
        init?(name: UnsafeRawBufferPointer) {
            for (spelling, field) in WantedField.spellings where spelling.count == name.count {
                var equal = true
                for i in 0..<name.count where Parsing.lower(name[i]) != spelling[i] {
                    equal = false
                    break
                }
                if equal {
                    self = field
                    return
                }
            }
            return nil
        }

        func isSet(in fields: HeaderFields) -> Bool {
            switch self {
            case .messageID: fields.messageID != nil
            case .subject: fields.subject != nil
            case .date: fields.date != nil
            case .from: fields.from != nil
            case .to: fields.to != nil
            }
        }

        private static let spellings: [([UInt8], WantedField)] = [
            (Array("message-id".utf8), .messageID), (Array("subject".utf8), .subject), (Array("date".utf8), .date),
            (Array("from".utf8), .from), (Array("to".utf8), .to),
        ]
    }
}
