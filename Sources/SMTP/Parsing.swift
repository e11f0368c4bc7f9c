/// Small parsers over one line's bytes (line ending excluded). Nothing here traps on any input.
enum Parsing {
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    static func upper(_ b: UInt8) -> UInt8 { (b >= 0x61 && b <= 0x7A) ? b &- 0x20 : b }

    static func lower(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b &+ 0x20 : b }

    /// The upper-cased keyword of an EHLO reply line: the text before its first space. An
    /// ASCII line (as RFC 5321 keywords are) is read on its bytes; any other goes through
    /// `Character`s and Unicode upper-casing, as before.
    static func ehloKeyword(_ line: String) -> String {
        var line = line
        return line.withUTF8 { ehloKeyword(UnsafeRawBufferPointer($0)) }
    }

    /// ``ehloKeyword(_:)`` over the line's bytes.
    static func ehloKeyword(_ bytes: UnsafeRawBufferPointer) -> String {
        var end = 0
        var ascii = true
        while end < bytes.count && bytes[end] != 0x20 {
            if bytes[end] >= 0x80 { ascii = false }
            end += 1
        }
        if ascii {
            for i in end..<bytes.count where bytes[i] >= 0x80 {
                ascii = false
                break
            }
        }
        guard ascii else {
            let line = String(decoding: bytes, as: UTF8.self)
            return String(line.prefix { $0 != " " }).uppercased()
        }
        return String(unsafeUninitializedCapacity: end) { out in
            for i in 0..<end { out[i] = upper(bytes[i]) }
            return end
        }
    }

    /// The index of the first `byte` in `bytes[from...]`, or `bytes.count` (``ByteScan``).
    @inline(__always)
    static func index(of byte: UInt8, in bytes: UnsafeRawBufferPointer, from: Int) -> Int {
        ByteScan.index(of: byte, in: bytes, from: from)
    }

    static func string<C: Collection>(_ bytes: C, cap: Int) -> String where C.Element == UInt8 {
        String(decoding: bytes.prefix(cap), as: UTF8.self)
    }

    /// Splits a command line into its upper-cased verb (and which known verb it is) and the
    /// argument after one space (its first `maxArgument` bytes, borrowed from `line`).
    static func command(_ line: UnsafeRawBufferPointer, maxArgument: Int)
        -> (verb: String, known: SMTPVerb?, argument: UnsafeRawBufferPointer)
    {
        let (other, known, argument) = commandParts(line, maxArgument: maxArgument)
        return (known?.text ?? other ?? "", known, argument)
    }

    /// ``command(_:maxArgument:)`` with the verb as the session keeps it: the known verb, or
    /// else the upper-cased text of one it does not know (nil for a known verb).
    @inline(__always)
    static func commandParts(_ line: UnsafeRawBufferPointer, maxArgument: Int)
        -> (other: String?, known: SMTPVerb?, argument: UnsafeRawBufferPointer)
    {
        let space = index(of: 0x20, in: line, from: 0)
        let verbBytes = UnsafeRawBufferPointer(rebasing: line[0..<min(space, 64)])
        let known = SMTPVerb.matching(verbBytes, caseInsensitive: true)
        let other: String? = known == nil ? verb(verbBytes) : nil
        let argStart = min(space + 1, line.count)
        let argEnd = argStart + min(line.count - argStart, max(0, maxArgument))
        return (other, known, UnsafeRawBufferPointer(rebasing: line[argStart..<argEnd]))
    }

    /// The upper-cased verb: a known verb is its static string (no allocation), any other is
    /// built from the bytes.
    static func verb(_ bytes: UnsafeRawBufferPointer) -> String {
        if let known = SMTPVerb.matching(bytes, caseInsensitive: true) { return known.text }
        return String(unsafeUninitializedCapacity: bytes.count) { out in
            for i in 0..<bytes.count { out[i] = upper(bytes[i]) }
            return bytes.count
        }
    }

    /// `FROM:<a@b> SIZE=1` → `a@b` (`prefix` is `FROM:` or `TO:`); nil when it does not match.
    static func address(_ argument: String, prefix: StaticString) -> String? {
        var argument = argument
        return argument.withUTF8 { address(UnsafeRawBufferPointer($0), prefix: prefix) }
    }

    /// ``address(_:prefix:)`` over the argument's bytes.
    static func address(_ bytes: UnsafeRawBufferPointer, prefix: StaticString) -> String? {
        addressRange(bytes, prefix: prefix).map { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
    }

    /// Where ``address(_:prefix:)``'s bytes lie in `bytes`.
    static func addressRange(_ bytes: UnsafeRawBufferPointer, prefix: StaticString) -> Range<Int>? {
        var i = 0
        let p = UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        for b in p {
            guard i < bytes.count, upper(bytes[i]) == b else { return nil }
            i += 1
        }
        while i < bytes.count && bytes[i] == 0x20 { i += 1 }
        if i < bytes.count && bytes[i] == 0x3C {  // <
            let start = i + 1
            return start..<index(of: 0x3E, in: bytes, from: start)
        }
        var end = i
        while end < bytes.count && bytes[end] != 0x20 { end += 1 }
        return i..<end
    }

    /// `BDAT` argument: chunk size and LAST (RFC 3030 §2); nil when malformed.
    static func bdat(_ argument: String) -> (size: UInt64, last: Bool)? {
        let words = argument.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 1 || words.count == 2 else { return nil }
        var size: UInt64 = 0
        for b in words[0].utf8 {
            guard isDigit(b) else { return nil }
            let (m, o1) = size.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(b &- 0x30))
            if o1 || o2 { return nil }
            size = s
        }
        if words.count == 2 {
            guard words[1].utf8.elementsEqual("LAST".utf8, by: { upper($0) == $1 }) else { return nil }
            return (size, true)
        }
        return (size, false)
    }

    /// A reply line: its code (nil if it does not start with 3 digits), whether it continues
    /// (`250-`), and where its text starts.
    static func replyLine(_ line: UnsafeRawBufferPointer) -> (code: Int?, continues: Bool, textStart: Int) {
        guard line.count >= 3, isDigit(line[0]), isDigit(line[1]), isDigit(line[2]) else {
            return (nil, false, 0)
        }
        let code = Int(line[0] &- 0x30) * 100 + Int(line[1] &- 0x30) * 10 + Int(line[2] &- 0x30)
        if line.count == 3 { return (code, false, 3) }
        switch line[3] {
        case 0x2D: return (code, true, 4)  // -
        case 0x20: return (code, false, 4)
        default: return (code, false, 3)  // "220****" as masked banners look
        }
    }

    /// Cisco PIX/ASA banner masking: only `*`, digits and spaces, with some asterisks.
    static func isMaskedBanner(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { isMaskedBanner(UnsafeRawBufferPointer($0)) }
    }

    static func isMaskedBanner(_ text: UnsafeRawBufferPointer) -> Bool {
        var stars = 0
        for b in text {
            if b == 0x2A {
                stars += 1
            } else if !(isDigit(b) || b == 0x20) {
                return false
            }
        }
        return stars >= 3
    }

    /// A verb made of `X` only, as ASA inspection rewrites commands it refuses.
    static func isMaskedVerb(_ line: UnsafeRawBufferPointer) -> Bool {
        var n = 0
        for b in line {
            if b == 0x20 { break }
            guard b == 0x58 else { return false }
            n += 1
        }
        return n >= 3
    }

    /// `isMaskedKeyword(ehloKeyword(line))` on the line's bytes (an ASCII line; any other
    /// through the strings).
    static func isMaskedKeyword(_ line: UnsafeRawBufferPointer) -> Bool {
        // Most lines decide on their first byte: an ASCII one whose upper case is no `X`
        // starts a keyword that is no run of `X`s (upper-casing keeps ASCII ASCII).
        guard let first = line.first else { return false }
        if first < 0x80 && upper(first) != 0x58 { return false }
        var end = 0
        for b in line {
            if b >= 0x80 { return isMaskedKeyword(ehloKeyword(line)) }
            if b == 0x20 { break }
            end += 1
        }
        for i in end..<line.count where line[i] >= 0x80 { return isMaskedKeyword(ehloKeyword(line)) }
        guard end >= 4 else { return false }
        let bodyEnd = upper(line[end - 1]) == 0x41 ? end - 1 : end
        for i in 0..<bodyEnd where upper(line[i]) != 0x58 { return false }
        return true
    }

    /// An EHLO keyword of `X`s with an optional last `A` (`XXXXXXXA`: STARTTLS masked).
    static func isMaskedKeyword(_ keyword: String) -> Bool {
        let bytes = keyword.utf8
        guard bytes.count >= 4 else { return false }
        let body = bytes.last == 0x41 ? bytes.dropLast() : bytes[...]
        return body.allSatisfy { $0 == 0x58 }
    }

    static let knownVerbList: [String] = [
        "HELO", "EHLO", "LHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP",
        "AUTH", "STARTTLS", "TURN", "ETRN", "ATRN", "XCLIENT", "XFORWARD",
    ]
    static let knownVerbs: Set<String> = Set(knownVerbList)

    /// MAIL FROM, RCPT TO and Message-ID in text a lenient server read as commands.
    static func smuggledEnvelope(_ bytes: [UInt8], maxRecipients: Int, cap: Int) -> SmuggledEnvelope {
        var envelope = SmuggledEnvelope(mailFrom: nil, rcptTo: [], messageID: nil)
        var start = 0
        func line(_ slice: ArraySlice<UInt8>) {
            let text = String(decoding: slice.prefix(cap), as: UTF8.self)
            let upperText = text.uppercased()
            if upperText.hasPrefix("MAIL ") && envelope.mailFrom == nil {
                envelope.mailFrom = address(String(text.dropFirst(5)), prefix: "FROM:")
            } else if upperText.hasPrefix("RCPT ") && envelope.rcptTo.count < maxRecipients {
                if let a = address(String(text.dropFirst(5)), prefix: "TO:") { envelope.rcptTo.append(a) }
            } else if upperText.hasPrefix("MESSAGE-ID:") && envelope.messageID == nil {
                envelope.messageID = String(text.dropFirst(11)).trimmingSpaces
            }
        }
        for i in bytes.indices where bytes[i] == 0x0A || bytes[i] == 0x0D {
            if i > start { line(bytes[start..<i]) }
            start = i + 1
        }
        if start < bytes.count { line(bytes[start...]) }
        return envelope
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}

/// Byte searches over borrowed bytes, eight bytes at a time.
public enum ByteScan {
    /// The index of the first `byte` in `bytes[from...]`, or `bytes.count` when there is none.
    /// A byte equal to `byte` is a zero byte of the word XORed with it, and the lowest zero
    /// byte of a word is found exactly by the borrow trick (only bytes above it can be
    /// misreported).
    public static func index(of byte: UInt8, in bytes: UnsafeRawBufferPointer, from: Int) -> Int {
        let n = bytes.count
        var i = max(0, from)
        guard i < n, let base = bytes.baseAddress else { return n }
        let pattern = UInt64(byte) &* 0x0101_0101_0101_0101
        while i &+ 8 <= n {
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian ^ pattern
            let zeros = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
            if zeros != 0 { return i &+ zeros.trailingZeroBitCount >> 3 }
            i &+= 8
        }
        while i < n {
            if base.load(fromByteOffset: i, as: UInt8.self) == byte { return i }
            i &+= 1
        }
        return n
    }

    /// Whether `bytes` hold the ASCII letter `letter` in either case (`letter` lower case).
    /// A byte ORed with 0x20 equals a lower-case letter only when it is that letter in
    /// either case.
    public static func containsLetter(_ letter: UInt8, in bytes: UnsafeRawBufferPointer) -> Bool {
        let n = bytes.count
        guard n > 0, let base = bytes.baseAddress else { return false }
        let pattern = UInt64(letter) &* 0x0101_0101_0101_0101
        var i = 0
        while i &+ 8 <= n {
            let word = (base.loadUnaligned(fromByteOffset: i, as: UInt64.self) | 0x2020_2020_2020_2020) ^ pattern
            if (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080 != 0 { return true }
            i &+= 8
        }
        while i < n {
            if base.load(fromByteOffset: i, as: UInt8.self) | 0x20 == letter { return true }
            i &+= 1
        }
        return false
    }
}
