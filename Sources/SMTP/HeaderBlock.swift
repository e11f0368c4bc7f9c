/// The message header fields smtpscope reports.
struct HeaderFields: Sendable, Hashable {
    var messageID: SMTPText?
    var subject: SMTPText?
    var date: SMTPText?
    var from: SMTPText?
    var to: SMTPText?
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
            reserve(cap: cap)
            bytes.append(byte)
        } else {
            truncated = true
            collecting = false
        }
    }

    /// Room for a usual header block at once (a larger one doubles it, up to the cap).
    @inline(__always)
    private mutating func reserve(cap: Int) {
        if bytes.capacity == 0 { bytes.reserveCapacity(min(max(cap, 0), Self.initialCapacity)) }
    }

    /// What a block gets at first: a usual one fits (the generated mix's blocks are 0.5-0.7 KB,
    /// ten header lines). Every open connection and every pooled session holds this much once
    /// it has sent a message, so it is not sized for the rare large block, which grows it.
    static let initialCapacity = 1024

    /// Storage kept from one message to the next of a session (and of the sessions that reuse
    /// it): a usual block fits, so a steady stream of messages allocates nothing for it; a
    /// larger block's storage is let go, so an open connection holds at most this much.
    static let keptCapacity = 2048

    /// Starts a new header block, keeping the storage unless a larger block grew it past
    /// ``keptCapacity`` (the allocator may round the reserved room up a little).
    mutating func restart() {
        if bytes.capacity < 2 * Self.keptCapacity {
            bytes.removeAll(keepingCapacity: true)
        } else {
            bytes = []
        }
        collecting = true
        truncated = false
        last1 = 0x0A
        last2 = 0
    }

    /// `add(_:cap:)` for each byte of `chunk[range]`: only a `\n` can end the block, so the
    /// line ends are found (eight bytes at a time) and each checked against the bytes before
    /// it; the bytes up to the block's end (or the range's) are then copied in one go, up to
    /// the cap.
    mutating func add(_ chunk: UnsafeRawBufferPointer, _ range: Range<Int>, cap: Int) {
        guard collecting, !range.isEmpty, range.lowerBound >= 0, range.upperBound <= chunk.count else { return }
        reserve(cap: cap)
        let lower = range.lowerBound
        let end = range.upperBound
        var stop = end  // the `\n` that ends the block, or the range's end
        var k = Self.lineFeed(in: chunk, from: lower)
        while k < end {
            // The two bytes before this `\n`, from the chunk or, at its start, from before it.
            let before1 = k > lower ? chunk[k - 1] : last1
            let before2 = k > lower + 1 ? chunk[k - 2] : (k > lower ? last1 : last2)
            if before1 == 0x0A || (before1 == 0x0D && before2 == 0x0A) {
                stop = k
                break
            }
            k = Self.lineFeed(in: chunk, from: k + 1)
        }
        let count = stop - lower
        guard fitsOrTruncates(chunk, lower, count, cap: cap) else { return }
        if count > 0 {
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[lower..<stop]))
            last2 = count >= 2 ? chunk[stop - 2] : last1
            last1 = chunk[stop - 1]
        }
        if stop < end { collecting = false }
    }

    /// ``add(_:_:cap:)`` for a plain run of message text (see `MessageScanner.scan`): each `\n`
    /// in such a run ends a `\r\n` whose `\r` is in the run and follows a byte other than `\n`,
    /// so no line in it is empty and the block does not end in it; only the copy remains. The
    /// bytes before it could make its first `\r\n` end the block: after a `\r` or `\n` the
    /// general path reads it.
    mutating func addRun(_ chunk: UnsafeRawBufferPointer, _ range: Range<Int>, cap: Int) {
        guard last1 != 0x0A && last1 != 0x0D else { return add(chunk, range, cap: cap) }
        guard collecting, !range.isEmpty, range.lowerBound >= 0, range.upperBound <= chunk.count else { return }
        reserve(cap: cap)
        guard fitsOrTruncates(chunk, range.lowerBound, range.count, cap: cap) else { return }
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[range]))
        last2 = range.count >= 2 ? chunk[range.upperBound - 2] : last1
        last1 = chunk[range.upperBound - 1]
    }

    /// True when `count` bytes from `lower` fit the block; otherwise copies what fits and
    /// stops collecting: the byte after the room would find the block full.
    private mutating func fitsOrTruncates(_ chunk: UnsafeRawBufferPointer, _ lower: Int, _ count: Int, cap: Int) -> Bool {
        let room = max(0, cap - bytes.count)
        guard count > room else { return true }
        if room > 0 { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[lower..<(lower + room)])) }
        truncated = true
        collecting = false
        return false
    }

    /// The fields smtpscope reports, each from its first occurrence. Lines split at `\n` (a
    /// `\r` before it dropped); a line starting with a space or tab continues the field before
    /// it (unfolding, RFC 5322 §2.2.3, removes only the line break). Names match ASCII
    /// case-insensitively; only the values of wanted fields are gathered.
    /// Values are kept in `arena` (strings are made from them only when read).
    func parse(maxValueLength: Int, addressFields: Bool = true, arena: inout TextArena) -> HeaderFields {
        // The reader holds the arena (its only reference meanwhile), moved in and out by swaps:
        // neither it nor the fields are copied.
        var reader = FieldReader(maxValueLength: maxValueLength, arena: TextArena(initialCapacity: 0))
        reader.addressFields = addressFields
        reader.unset = addressFields ? 5 : 2
        swap(&reader.arena, &arena)
        bytes.withUnsafeBytes { block in
            var start = 0
            let n = block.count
            // Once every wanted field is set and none is being gathered, no later line changes
            // anything (a continuation has no field to join, a wanted name is set already).
            while start < n && !reader.isDone {
                let stop = Self.lineFeed(in: block, from: start)
                var lineEnd = stop
                if stop < n && lineEnd > start && block[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                reader.line(UnsafeRawBufferPointer(rebasing: block[start..<lineEnd]))
                start = stop + 1
            }
        }
        reader.finish()
        swap(&arena, &reader.arena)
        var fields = HeaderFields()
        swap(&fields, &reader.fields)
        return fields
    }

    /// Index of the first `\n` in `bytes[start...]`, or `bytes.count`: 16 bytes a step with a
    /// vector compare (header lines are some 60 bytes), then byte by byte.
    @inline(__always)
    static func lineFeed(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        let n = bytes.count
        var j = max(0, start)
        // `j` stays in 0...n: the index arithmetic cannot overflow.
        if let base = bytes.baseAddress, n >= 16 {
            while j <= n &- 16 {
                let v = (base + j).loadUnaligned(as: SIMD16<UInt8>.self)
                let isLF: SIMDMask<SIMD16<Int8>> = v .== SIMD16<UInt8>(repeating: 0x0A)
                let halves = unsafeBitCast(isLF, to: SIMD2<UInt64>.self)
                let lanes = (low: UInt64(littleEndian: halves[0]), high: UInt64(littleEndian: halves[1]))
                if lanes.low | lanes.high != 0 { return j &+ LineBreakSearch.lane(lanes) }
                j &+= 16
            }
        }
        while j < n {
            if bytes[j] == 0x0A { return j }
            j &+= 1
        }
        return n
    }

    /// Reads header lines one by one into ``HeaderFields``.
    private struct FieldReader {
        let maxValueLength: Int
        var fields = HeaderFields()
        var arena: TextArena
        /// The value gathered so far for `current`: bytes at the tail of the arena's store.
        var valueStart = 0
        var valueCount = 0
        /// The field whose value is being gathered (nil: not wanted, already set, or none).
        var current: WantedField?
        /// `Date`, `From` and `To` are wanted too.
        var addressFields = true
        /// Wanted fields not set yet.
        var unset = 5

        /// Every wanted field is set, and no value is being gathered.
        var isDone: Bool { unset <= 0 && current == nil }

        init(maxValueLength: Int, arena: TextArena) {
            self.maxValueLength = maxValueLength
            self.arena = arena
        }

        mutating func line(_ line: UnsafeRawBufferPointer) {
            if let first = line.first, first == 0x20 || first == 0x09 {
                if current != nil && valueCount < maxValueLength { append(line) }
                return
            }
            if current != nil { finish() }
            // The wanted name, spaces or tabs, then the colon: the name before the line's first
            // colon, spaces and tabs trimmed, is the wanted one. Most lines stop at the name.
            guard let (field, colon) = WantedField.named(in: line), !field.isSet(in: fields),
                addressFields || field == .messageID || field == .subject
            else { return }
            current = field
            let valueStart = colon + 1
            let valueEnd = line.count - valueStart > maxValueLength ? valueStart + maxValueLength : line.count
            self.valueCount = 0
            append(UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd]))
        }

        /// Adds bytes to the value being gathered (moved along if the store runs out of room).
        private mutating func append(_ bytes: UnsafeRawBufferPointer) {
            // Nearly always the store has room: the value (if begun) is its tail, written on.
            if let store = arena.current, store.room >= bytes.count,
                valueCount == 0 || valueStart &+ valueCount == store.used
            {
                let start = store.append(bytes)
                if valueCount == 0 { valueStart = start }
                valueCount += bytes.count
                return
            }
            let growing = valueCount > 0 ? (start: valueStart, count: valueCount) : nil
            let (store, keptStart) = arena.storeWithRoom(bytes.count, keeping: growing)
            valueStart = growing == nil ? store.used : keptStart
            _ = store.append(bytes)
            valueCount += bytes.count
        }

        /// Ends the current field: its value, spaces and tabs trimmed, cut to the cap.
        mutating func finish() {
            guard let field = current else { return }
            current = nil
            // The value was written to the current store (a value always makes one).
            let store: TextStore
            if let current = arena.current { store = current } else { (store, _) = arena.storeWithRoom(0, keeping: nil) }
            let (lower, upper) = store.withBytes(valueStart, valueCount) { value -> (Int, Int) in
                var lower = 0
                var upper = value.count
                while lower < upper, value[lower] == 0x20 || value[lower] == 0x09 { lower += 1 }
                while upper > lower, value[upper - 1] == 0x20 || value[upper - 1] == 0x09 { upper -= 1 }
                return (lower, min(upper, lower + max(0, maxValueLength)))
            }
            let text = SMTPText(store: store, start: valueStart + lower, count: upper - lower)
            switch field {
            case .messageID: fields.messageID = text
            case .subject: fields.subject = text
            case .date: fields.date = text
            case .from: fields.from = text
            case .to: fields.to = text
            }
            valueCount = 0
            unset -= 1
        }
    }

    /// A header field smtpscope reports.
    private enum WantedField {
        case messageID, subject, date, from, to

        /// The field whose name starts `line`, followed by spaces or tabs and a colon (the
        /// name ``init(name:)`` reads before the first colon), and where that colon is; nil
        /// for any other line. The name is compared a word at a time: each byte ORed with 0x20
        /// where the name has a letter (an ASCII letter in either case then equals it, and no
        /// other byte does), compared as it is elsewhere.
        @inline(__always)
        static func named(in line: UnsafeRawBufferPointer) -> (WantedField, colon: Int)? {
            let n = line.count
            guard n >= 3, let p = line.baseAddress else { return nil }
            let field: WantedField
            let length: Int
            func word32(_ at: Int) -> UInt32 { UInt32(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
            switch p.load(as: UInt8.self) | 0x20 {
            case UInt8(ascii: "m"):
                // "message-" as a word, "id" as two bytes.
                guard n >= 11,
                    UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) | 0x0020_2020_2020_2020 == 0x2D65_6761_7373_656D,
                    p.load(fromByteOffset: 8, as: UInt8.self) | 0x20 == UInt8(ascii: "i"),
                    p.load(fromByteOffset: 9, as: UInt8.self) | 0x20 == UInt8(ascii: "d")
                else { return nil }
                (field, length) = (.messageID, 10)
            case UInt8(ascii: "s"):
                // "subj" and "ject" (overlapping words).
                guard n >= 8, word32(0) | 0x2020_2020 == 0x6A62_7573, word32(3) | 0x2020_2020 == 0x7463_656A else { return nil }
                (field, length) = (.subject, 7)
            case UInt8(ascii: "d"):
                guard n >= 5, word32(0) | 0x2020_2020 == 0x6574_6164 else { return nil }
                (field, length) = (.date, 4)
            case UInt8(ascii: "f"):
                guard n >= 5, word32(0) | 0x2020_2020 == 0x6D6F_7266 else { return nil }
                (field, length) = (.from, 4)
            case UInt8(ascii: "t"):
                guard p.load(fromByteOffset: 1, as: UInt8.self) | 0x20 == UInt8(ascii: "o") else { return nil }
                (field, length) = (.to, 2)
            default:
                return nil
            }
            var colon = length
            while colon < n {
                let b = p.load(fromByteOffset: colon, as: UInt8.self)
                if b == 0x3A { return (field, colon) }
                guard b == 0x20 || b == 0x09 else { return nil }
                colon &+= 1
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
    }
}
