import SMTP

/// How a ``MessageTable`` entry is packed into its byte arena: one record per identity,
///
///     varint  length of the rest
///     varint  views << 1 | 1 when `first` is stored (it is lower than every view kept)
///     varint  envelopes            (only with two or more views; else one)
///     signed  first capture, flow, transaction          (only when stored)
///     views:  varint envelope      (only with two or more envelopes)
///             code byte, signed capture and transaction (unless both 0), flow, start
///             from the table's epoch (``appendView(_:epoch:to:)``)
///     envelopes, each self-delimiting:
///             flags (Message-ID, fingerprint, fingerprint as 8 bytes, MAIL FROM present,
///             MAIL FROM ends as the Message-ID does, and with its whole `@…` part, one RCPT TO)
///             varint length + UTF-8 of each present field, digit runs and `@…` suffix coded
///             (``DigitRuns``, ``SuffixTable``) (a 16-digit lowercase hex
///             fingerprint as its 8 bytes instead; a MAIL FROM that shares 2 or more last
///             bytes with the Message-ID before its `>`, as in `<…@relay.example.net>` and
///             `news@relay.example.net`, as a varint count of them and the rest);
///             varint RCPT TO count (unless one), each as a field
///
/// Integers of any value round-trip (zigzag varints: indices below 64 take one byte), and
/// so does text of any content (empty, NUL bytes, any length), byte for byte. The identity
/// string is never stored: any envelope of the entry reproduces it.
enum EntryCoding {
    static let outcomes = Outcome.allCases
    static let diagnoses = Diagnosis.allCases

    static let hasMessageID: UInt8 = 1
    static let hasFingerprint: UInt8 = 2
    static let packedFingerprint: UInt8 = 4
    static let hasMailFrom: UInt8 = 8
    static let sharedMailFrom: UInt8 = 16
    /// The MAIL FROM shares the Message-ID's whole `@…` part (the count is then not written).
    static let sharedWholeDomain: UInt8 = 32
    /// Exactly one RCPT TO (the count is then not written).
    static let oneRecipient: UInt8 = 64

    /// Bytes from the last `@` to the end of the Message-ID without its closing `>`; 0 without an `@`.
    static func domainLength(_ id: UnsafeBufferPointer<UInt8>) -> Int {
        let core = id.last == 0x3E ? id.count - 1 : id.count
        guard let at = EnvelopeBytes.lastIndex(of: 0x40, in: UnsafeBufferPointer(rebasing: id[..<core])) else { return 0 }
        return core - at
    }

    /// Appends the envelope of `record` (what ``Correlator`` derives its identity from).
    /// (Without suffix numbers: as a table whose ``SuffixTable`` is empty codes it.)
    static func appendEnvelope(of record: TransactionRecord, to bytes: inout [UInt8]) {
        var none = SuffixTable(adding: false)
        withUnsafePointer(to: record) { appendEnvelope(of: $0, suffixes: &none, to: &bytes) }
    }

    /// ``appendEnvelope(of:to:)`` of a record read where it is, suffixes of its texts
    /// written as their numbers in `suffixes` (added there when new).
    static func appendEnvelope(of record: UnsafePointer<TransactionRecord>, suffixes: inout SuffixTable, to bytes: inout [UInt8]) {
        // The usual record (Message-ID, fingerprint and MAIL FROM, all ASCII): each text's
        // bytes borrowed once, the envelope's size known before one reserve.
        // Read where they lie (``SMTPText/withBytes(of:_:)``): bound by `if let`, each text
        // was copied out of the record (a retain and release of its store).
        if let idText = record.pointer(to: \.messageIDText), let printText = record.pointer(to: \.fingerprintText),
            let fromText = record.pointer(to: \.mailFromText)
        {
            let done = SMTPText.withBytes(of: idText) { id in
                SMTPText.withBytes(of: printText) { print in
                    SMTPText.withBytes(of: fromText) { from in
                        appendASCIIEnvelope(id: id, fingerprint: print, mailFrom: from, rcptTo: record.pointee.rcptToList, suffixes: &suffixes,
                                            to: &bytes)
                    } ?? false
                } ?? false
            } ?? false
            if done { return }
        }
        appendEnvelopeInGeneral(of: record.pointee, suffixes: &suffixes, to: &bytes)
    }

    /// ``appendEnvelope(of:to:)`` of a record with all three texts, when they and every
    /// recipient are ASCII (then their bytes are their strings' UTF-8). False, nothing
    /// written, otherwise.
    static func appendASCIIEnvelope(
        id: UnsafeRawBufferPointer, fingerprint: UnsafeRawBufferPointer, mailFrom: UnsafeRawBufferPointer,
        rcptTo: ReplyLines, suffixes: inout SuffixTable, to bytes: inout [UInt8]
    ) -> Bool {
        let id = utf8(id), print = utf8(fingerprint), from = utf8(mailFrom)
        guard JSONByteWriter.isASCII(id) && JSONByteWriter.isASCII(print) && JSONByteWriter.isASCII(from) else { return false }
        let packed = packedHex(print)
        let shared = sharedEnd(from, id)
        var flags = hasMessageID | hasFingerprint | hasMailFrom
        if packed != nil { flags |= packedFingerprint }
        if shared >= 2 { flags |= sharedMailFrom }
        if shared >= 2 && shared == domainLength(id) { flags |= sharedWholeDomain }
        if rcptTo.count == 1 { flags |= oneRecipient }
        // Recipients checked first (one that is not ASCII sends the record the general way)
        // and measured: the envelope is written through a pointer into room on the stack,
        // then appended in one step.
        var asciiRecipients = true
        var room = 1 + DigitRuns.bound(id.count) + DigitRuns.bound(print.count) + 8 + 10 + DigitRuns.bound(from.count) + 10
        rcptTo.forEachLine(while: { line in
            asciiRecipients = JSONByteWriter.isASCII(utf8(line))
            room += DigitRuns.bound(line.count)
            return asciiRecipients
        })
        guard asciiRecipients else { return false }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: room) { room in
            guard let start = room.baseAddress else { return }
            var at = start
            at.pointee = flags
            at += 1
            DigitRuns.write(id, suffixes: &suffixes, at: &at)
            if let packed {
                UnsafeMutableRawPointer(at).storeBytes(of: packed.bigEndian, as: UInt64.self)
                at += 8
            } else {
                DigitRuns.write(print, suffixes: &suffixes, at: &at)
            }
            if shared >= 2 {
                if flags & sharedWholeDomain == 0 { DigitRuns.writeVarint(UInt64(shared), at: &at) }
                DigitRuns.write(UnsafeBufferPointer(rebasing: from.dropLast(shared)), suffixes: &suffixes, at: &at)
            } else {
                DigitRuns.write(from, suffixes: &suffixes, at: &at)
            }
            if flags & oneRecipient == 0 { DigitRuns.writeVarint(UInt64(rcptTo.count), at: &at) }
            rcptTo.forEachLine { line in DigitRuns.write(utf8(line), suffixes: &suffixes, at: &at) }
            bytes.append(contentsOf: UnsafeBufferPointer(start: start, count: at - start))
        }
        return true
    }

    @inline(__always)
    private static func utf8(_ raw: UnsafeRawBufferPointer) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
    }

    /// ``appendEnvelope(of:to:)`` of any record.
    static func appendEnvelopeInGeneral(of record: TransactionRecord, to bytes: inout [UInt8]) {
        var none = SuffixTable(adding: false)
        appendEnvelopeInGeneral(of: record, suffixes: &none, to: &bytes)
    }

    static func appendEnvelopeInGeneral(of record: TransactionRecord, suffixes: inout SuffixTable, to bytes: inout [UInt8]) {
        // Read from the record's kept text (no strings made for ASCII text).
        var flags: UInt8 = 0
        if record.messageIDText != nil { flags |= hasMessageID }
        let packed = record.fingerprintText.flatMap { withBytes($0, packedHex) }
        if record.fingerprintText != nil {
            flags |= hasFingerprint
            if packed != nil { flags |= packedFingerprint }
        }
        var shared = 0
        if let mailFrom = record.mailFromText {
            flags |= hasMailFrom
            shared = record.messageIDText.map { id in withBytes(mailFrom) { from in withBytes(id) { sharedEnd(from, $0) } } } ?? 0
            if shared >= 2 { flags |= sharedMailFrom }
            if shared >= 2 && shared == record.messageIDText.map({ withBytes($0, domainLength) }) { flags |= sharedWholeDomain }
        }
        if record.rcptToList.count == 1 { flags |= oneRecipient }
        bytes.append(flags)
        if let messageID = record.messageIDText { withBytes(messageID) { bytes.appendText(suffixes: &suffixes, $0) } }
        if let fingerprint = record.fingerprintText {
            if let packed {
                for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: packed >> UInt64(shift))) }
            } else {
                withBytes(fingerprint) { bytes.appendText(suffixes: &suffixes, $0) }
            }
        }
        if let mailFrom = record.mailFromText {
            if flags & sharedMailFrom != 0 {
                if flags & sharedWholeDomain == 0 { bytes.appendVarint(UInt64(shared)) }
                withBytes(mailFrom) { bytes.appendText(suffixes: &suffixes, UnsafeBufferPointer(rebasing: $0.dropLast(shared))) }
            } else {
                withBytes(mailFrom) { bytes.appendText(suffixes: &suffixes, $0) }
            }
        }
        if flags & oneRecipient == 0 { bytes.appendVarint(UInt64(record.rcptToList.count)) }
        record.rcptToList.forEachLine { (line: UnsafeRawBufferPointer) -> Void in
            let utf8 = UnsafeBufferPointer(start: line.baseAddress?.assumingMemoryBound(to: UInt8.self), count: line.count)
            if JSONByteWriter.isASCII(utf8) {
                bytes.appendText(suffixes: &suffixes, utf8)
            } else {
                bytes.appendText(suffixes: &suffixes, String(decoding: line, as: UTF8.self))
            }
        }
    }

    /// `text.string`'s UTF-8, read in place when the text's bytes are ASCII (then they are it).
    static func withBytes<R>(_ text: SMTPText, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var result: R?
        text.withBytes { raw in
            let utf8 = UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
            if JSONByteWriter.isASCII(utf8) { result = body(utf8) }
        }
        if let result { return result }
        return withBytes(text.string, body)
    }

    /// Reads one envelope; its text only when `decode` is set, else just steps over it.
    static func readEnvelope(_ reader: inout ByteReader, decode: Bool) -> Envelope? {
        readEnvelope(&reader, decode: decode, suffixes: SuffixTable())
    }

    /// ``readEnvelope(_:decode:)`` of an envelope whose suffixes are numbers in `suffixes`.
    static func readEnvelope(_ reader: inout ByteReader, decode: Bool, suffixes: SuffixTable) -> Envelope? {
        let flags = reader.byte()
        var envelope = Envelope()
        var messageID: [UInt8] = []
        if flags & hasMessageID != 0 {
            let coded = reader.take(reader.varint())
            if decode {
                DigitRuns.decode(coded, suffixes: suffixes, into: &messageID)
                envelope.messageID = String(decoding: messageID, as: UTF8.self)
            }
        }
        if flags & hasFingerprint != 0 {
            envelope.fingerprint = flags & packedFingerprint != 0 ? reader.packedHex(decode: decode) : reader.text(decode: decode, suffixes: suffixes)
        }
        if flags & hasMailFrom != 0 {
            if flags & sharedMailFrom != 0 {
                let written = flags & sharedWholeDomain == 0 ? reader.varint() : nil
                let rest = reader.take(reader.varint())
                if decode {
                    var from: [UInt8] = []
                    DigitRuns.decode(rest, suffixes: suffixes, into: &from)
                    let shared = written ?? UInt64(messageID.withUnsafeBufferPointer(domainLength))
                    let core = messageID.last == 0x3E ? messageID.dropLast() : messageID[...]
                    envelope.mailFrom = String(decoding: from + core.suffix(Int(clamping: shared)), as: UTF8.self)
                }
            } else {
                envelope.mailFrom = reader.text(decode: decode, suffixes: suffixes)
            }
        }
        let recipients = flags & oneRecipient != 0 ? 1 : reader.varint()
        var index: UInt64 = 0
        while index < recipients && !reader.failed {
            let recipient = reader.text(decode: decode, suffixes: suffixes)
            if decode { envelope.rcptTo.append(recipient) }
            index += 1
        }
        return decode ? envelope : nil
    }

    /// Code byte bits beside outcome << 3 | diagnosis.
    static let startInMicroseconds: UInt8 = 0x40
    static let zeroCaptureAndTransaction: UInt8 = 0x80

    /// A code byte (outcome << 3 | diagnosis, start in whole microseconds, capture and
    /// transaction both 0), then signed varints: capture and transaction (unless both 0),
    /// flow, and the start's distance from `epoch` (in microseconds when whole ones).
    /// At most 41 bytes, gathered on the stack and appended in one step.
    static func appendView(_ view: AttemptView, epoch: Int64, to bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { buffer in
            guard let base = buffer.baseAddress else { return }
            var at = base
            // Zigzag: small negative distances stay short.
            func varint(_ wide: Int64) { DigitRuns.writeVarint(UInt64(bitPattern: (wide << 1) ^ (wide >> 63)), at: &at) }
            // Wrapping: any start round-trips as `epoch &+ distance`.
            let distance = view.startNanoseconds &- epoch
            let micro = distance % 1000 == 0
            let zero = view.capture == 0 && view.transaction == 0
            // `countSlot` is the case's place in `allCases` (what `readView` reads back).
            var code = UInt8(truncatingIfNeeded: view.outcome.countSlot << 3 | view.diagnosis.countSlot)
            if micro { code |= startInMicroseconds }
            if zero { code |= zeroCaptureAndTransaction }
            at.pointee = code
            at += 1
            if !zero {
                varint(Int64(view.capture))
                varint(Int64(view.transaction))
            }
            varint(Int64(view.flow))
            varint(micro ? distance / 1000 : distance)
            bytes.append(contentsOf: UnsafeBufferPointer(start: base, count: at - base))
        }
    }

    static func readView(_ reader: inout ByteReader, epoch: Int64) -> AttemptView {
        let code = reader.byte()
        let zero = code & zeroCaptureAndTransaction != 0
        let capture = zero ? 0 : reader.signed()
        let transaction = zero ? 0 : reader.signed()
        let flow = reader.signed()
        let distance = Int64(reader.signed())
        let start = epoch &+ (code & startInMicroseconds != 0 ? distance &* 1000 : distance)
        let outcome = Int(code >> 3 & 7), diagnosis = Int(code & 7)
        return AttemptView(capture: capture, flow: flow, transaction: transaction, startNanoseconds: start,
                           outcome: outcome < outcomes.count ? outcomes[outcome] : .incomplete,
                           diagnosis: diagnosis < diagnoses.count ? diagnoses[diagnosis] : .incompleteCapture)
    }

    /// How many last bytes `mailFrom` shares with `messageID` without its closing `>`.
    static func sharedEnd(_ mailFrom: String, _ messageID: String) -> Int {
        withBytes(mailFrom) { from in withBytes(messageID) { id in sharedEnd(from, id) } }
    }

    static func sharedEnd(_ from: UnsafeBufferPointer<UInt8>, _ id: UnsafeBufferPointer<UInt8>) -> Int {
        let core = id.last == 0x3E ? id.count - 1 : id.count
        var shared = 0
        // 8 bytes at a time from the ends: the first differing byte from the end is the
        // highest differing byte of the little-endian words.
        if let a = from.baseAddress, let b = id.baseAddress {
            while shared + 8 <= min(from.count, core) {
                let x = UnsafeRawPointer(a + from.count - shared - 8).loadUnaligned(as: UInt64.self)
                let y = UnsafeRawPointer(b + core - shared - 8).loadUnaligned(as: UInt64.self)
                let diff = UInt64(littleEndian: x ^ y)
                if diff != 0 { return shared + diff.leadingZeroBitCount >> 3 }
                shared += 8
            }
        }
        while shared < from.count && shared < core && from[from.count - 1 - shared] == id[core - 1 - shared] { shared += 1 }
        return shared
    }

    /// The UTF-8 of `text` in place (native strings), or of a contiguous copy.
    static func withBytes<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = text
        return copy.withUTF8(body)
    }

    /// 16 lowercase hex digits, as ``Fingerprint`` writes them: stored as their 8 bytes.
    static func isPackable(_ text: String) -> Bool { packedHex(text) != nil }

    /// The 8 bytes (first digit highest) of 16 lowercase hex digits; nil for any other text.
    static func packedHex(_ text: String) -> UInt64? {
        withBytes(text, packedHex)
    }

    static func packedHex(_ digits: UnsafeBufferPointer<UInt8>) -> UInt64? {
        EnvelopeBytes.hex16(digits)
    }

    /// ``packedHex(_:)`` a digit at a time (the reference the word-at-a-time parse is tested against).
    static func packedHexByDigit(_ digits: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard digits.count == 16 else { return nil }
        var value: UInt64 = 0
        for digit in digits {
            let nibble: UInt8
            switch digit {
            case 0x30...0x39: nibble = digit &- 0x30
            case 0x61...0x66: nibble = digit &- 0x61 &+ 10
            default: return nil
            }
            value = value << 4 | UInt64(nibble)
        }
        return value
    }

    /// Header fields a view came with, as text.
    struct Envelope: Sendable {
        var messageID: String?
        var fingerprint: String?
        var mailFrom: String?
        var rcptTo: [String] = []

        /// ``Correlator``'s identity of a transaction with this envelope.
        var identity: String? {
            Correlator.identity(messageID: messageID, fingerprint: fingerprint, mailFrom: mailFrom, rcptTo: rcptTo)
        }
    }
}

extension AttemptView {
    init(capture: Int, flow: Int, transaction: Int, startNanoseconds: Int64, outcome: Outcome, diagnosis: Diagnosis) {
        self.capture = capture
        self.flow = flow
        self.transaction = transaction
        self.startNanoseconds = startNanoseconds
        self.outcome = outcome
        self.diagnosis = diagnosis
    }
}

extension [UInt8] {
    mutating func appendVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        append(UInt8(truncatingIfNeeded: rest))
    }

    /// Zigzag: small magnitudes of either sign take few bytes.
    mutating func appendSigned(_ value: Int) {
        let wide = Int64(value)
        appendVarint(UInt64(bitPattern: (wide << 1) ^ (wide >> 63)))
    }

    /// The 8 bytes of `value`, lowest first.
    mutating func appendFixed(_ value: Int64) {
        Swift.withUnsafeBytes(of: UInt64(bitPattern: value).littleEndian) { append(contentsOf: $0) }
    }


    /// The 8 bytes of `value`, highest first.
    mutating func appendBigEndian(_ value: UInt64) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    /// Length and text, digit runs and suffix coded (``DigitRuns``).
    mutating func appendText(suffixes: inout SuffixTable, _ utf8: UnsafeBufferPointer<UInt8>) {
        DigitRuns.appendText(utf8, suffixes: &suffixes, to: &self)
    }

    mutating func appendText(suffixes: inout SuffixTable, _ text: String) {
        EntryCoding.withBytes(text) { appendText(suffixes: &suffixes, $0) }
    }
}

/// Reads what the `append…` functions wrote, never past its buffer: a read beyond the end
/// yields zeros and sets `failed` (only a bug could cause it; it must not trap).
struct ByteReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var at: Int
    private(set) var failed = false

    init(_ bytes: UnsafeBufferPointer<UInt8>, at: Int) {
        self.bytes = bytes
        self.at = at
    }

    mutating func byte() -> UInt8 {
        guard at >= 0 && at < bytes.count else {
            failed = true
            return 0
        }
        defer { at += 1 }
        return bytes[at]
    }

    mutating func varint() -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 64 {
            let next = byte()
            value |= UInt64(next & 0x7F) << shift
            if next < 0x80 { break }
            shift += 7
        }
        return value
    }

    mutating func signed() -> Int {
        let bits = varint()
        return Int(truncatingIfNeeded: Int64(bitPattern: (bits >> 1) ^ (0 &- (bits & 1))))
    }

    mutating func fixed() -> Int64 {
        var bits: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 8) { bits |= UInt64(byte()) << UInt64(shift) }
        return Int64(bitPattern: bits)
    }

    /// The next `count` bytes, clamped to the buffer.
    mutating func take(_ count: UInt64) -> UnsafeBufferPointer<UInt8> {
        guard at >= 0 && at <= bytes.count else {
            failed = true
            return UnsafeBufferPointer(start: nil, count: 0)
        }
        let available = bytes.count - at
        let length = count <= UInt64(available) ? Int(count) : available
        if UInt64(length) < count { failed = true }
        defer { at += length }
        return UnsafeBufferPointer(rebasing: bytes[at..<at + length])
    }

    /// A length-prefixed text field (``DigitRuns``); "" when only stepping over it.
    mutating func text(decode: Bool, suffixes: SuffixTable) -> String {
        let run = take(varint())
        return decode ? DigitRuns.string(run, suffixes: suffixes) : ""
    }

    mutating func packedHex(decode: Bool) -> String {
        let run = take(8)
        guard decode else { return "" }
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(16)
        for byte in run {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 15)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}
