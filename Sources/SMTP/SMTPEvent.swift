/// The two sides of an SMTP conversation.
public enum SMTPSide: Sendable, Hashable {
    /// Sends commands and message data.
    case client
    /// Sends the greeting and replies.
    case server
}

/// One client command line.
public struct SMTPCommand: Sendable, Hashable {
    /// The verb, upper-cased as written (`MAIL`, `EHLO`, `XXXX` …).
    public var verb: String {
        get { knownVerb?.text ?? otherVerb ?? "" }
        set {
            knownVerb = SMTPVerb(newValue)
            otherVerb = knownVerb == nil ? newValue : nil
        }
    }
    /// ``verb`` when the session does not know it (nil for a known verb, which is
    /// ``knownVerb`` alone: no string to copy, retain or release with the command).
    private var otherVerb: String?
    /// ``verb`` when it is one of the verbs the session knows (matched without comparing strings).
    public private(set) var knownVerb: SMTPVerb?
    /// The rest of the line after the verb and one space, without the line ending (capped),
    /// as the session holds it: a `String` is made only when ``argument`` is read.
    public var argumentText: SMTPText
    /// Client stream offset of the line's first byte.
    public var offset: UInt64
    /// Line length including its line ending.
    public var length: Int

    /// The rest of the line after the verb and one space, without the line ending (capped).
    public var argument: String {
        get { argumentText.string }
        set { argumentText = SMTPText(newValue) }
    }
}

// The initializers are in an extension so that the struct keeps its memberwise initializer:
// an initializer that assigns the stored properties one by one built the value in a
// temporary and copied it out (a copy and a release of its texts per command); one that
// hands them all to the memberwise initializer builds it in place.
extension SMTPCommand {
    public init(verb: String, argument: String, offset: UInt64, length: Int) {
        self.init(verb: verb, argumentText: SMTPText(argument), offset: offset, length: length)
    }

    public init(verb: String, argumentText: SMTPText, offset: UInt64, length: Int) {
        let known = SMTPVerb(verb)
        self.init(other: known == nil ? verb : nil, known: known, argumentText: argumentText, offset: offset, length: length)
    }

    /// A copy of `other`, field by field.
    @inline(__always)
    init(fieldsOf other: borrowing SMTPCommand) {
        self.init(
            otherVerb: other.otherVerb, knownVerb: other.knownVerb, argumentText: other.argumentText, offset: other.offset,
            length: other.length)
    }

    /// `known`, or else `other` (the verb's text) when the verb is none the session knows.
    init(other: String?, known: SMTPVerb?, argumentText: SMTPText, offset: UInt64, length: Int) {
        self.init(
            otherVerb: known == nil ? (other ?? "") : nil, knownVerb: known, argumentText: argumentText, offset: offset,
            length: length)
    }
}

/// The command verbs a session knows (RFC 5321 and extensions it follows).
public enum SMTPVerb: UInt8, Sendable, Hashable, CaseIterable {
    case helo, ehlo, lhlo, mail, rcpt, data, bdat, rset, noop, quit, vrfy, expn, help, auth, starttls, turn, etrn, atrn
    case xclient, xforward

    /// The verb spelled exactly `text` (upper case), or nil.
    public init?(_ text: String) {
        var text = text
        guard let verb = text.withUTF8({ Self.matching(UnsafeRawBufferPointer($0), caseInsensitive: false) }) else {
            return nil
        }
        self = verb
    }

    /// The verb as written in upper case.
    public var text: String {
        switch self {
        case .helo: "HELO"
        case .ehlo: "EHLO"
        case .lhlo: "LHLO"
        case .mail: "MAIL"
        case .rcpt: "RCPT"
        case .data: "DATA"
        case .bdat: "BDAT"
        case .rset: "RSET"
        case .noop: "NOOP"
        case .quit: "QUIT"
        case .vrfy: "VRFY"
        case .expn: "EXPN"
        case .help: "HELP"
        case .auth: "AUTH"
        case .starttls: "STARTTLS"
        case .turn: "TURN"
        case .etrn: "ETRN"
        case .atrn: "ATRN"
        case .xclient: "XCLIENT"
        case .xforward: "XFORWARD"
        }
    }

    /// The verb whose spelling is `bytes` (ASCII letters in any case when `caseInsensitive`).
    /// Read four bytes at a time: every verb is ASCII letters, and a byte ANDed with 0xDF is an
    /// upper-case letter only when it is that letter in either case, so one masked compare
    /// per four bytes decides (no byte-by-byte loop, no call per verb tried).
    static func matching(_ bytes: UnsafeRawBufferPointer, caseInsensitive: Bool) -> SMTPVerb? {
        let n = bytes.count
        guard n >= 4, n <= 8, let base = bytes.baseAddress else { return nil }
        let mask: UInt32 = caseInsensitive ? 0xDFDF_DFDF : 0xFFFF_FFFF
        let head = UInt32(littleEndian: base.loadUnaligned(as: UInt32.self)) & mask
        if n == 4 {
            switch head {
            case word("MAIL"): return .mail
            case word("RCPT"): return .rcpt
            case word("DATA"): return .data
            case word("EHLO"): return .ehlo
            case word("QUIT"): return .quit
            case word("RSET"): return .rset
            case word("HELO"): return .helo
            case word("NOOP"): return .noop
            case word("BDAT"): return .bdat
            case word("AUTH"): return .auth
            case word("LHLO"): return .lhlo
            case word("VRFY"): return .vrfy
            case word("EXPN"): return .expn
            case word("HELP"): return .help
            case word("TURN"): return .turn
            case word("ETRN"): return .etrn
            case word("ATRN"): return .atrn
            default: return nil
            }
        }
        // The last four bytes (overlapping the first four for seven).
        let tail = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)) & mask
        switch (n, head, tail) {
        case (8, word("STAR"), word("TTLS")): return .starttls
        case (7, word("XCLI"), word("IENT")): return .xclient
        case (8, word("XFOR"), word("WARD")): return .xforward
        default: return nil
        }
    }

    /// The four ASCII bytes of `spelling` as a little-endian word (folded to a constant).
    @inline(__always)
    private static func word(_ spelling: StaticString) -> UInt32 {
        let p = spelling.utf8Start
        return UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
    }
}

/// One complete (possibly multi-line) server reply.
public struct SMTPReply: Sendable, Hashable {
    /// The 3-digit code; 0 when the reply did not start with one.
    public var code: Int
    /// The lines' text, as the session holds it (see ``ReplyLines``).
    public var text: ReplyLines
    /// Server stream offset of the first line's first byte.
    public var offset: UInt64
    /// Server stream offset just past the final line's line ending.
    public var endOffset: UInt64

    /// The text of each line after `250-` / `250 ` (capped).
    public var lines: [String] {
        get { text.strings }
        set { text = ReplyLines(newValue) }
    }

    public init(code: Int, lines: [String], offset: UInt64, endOffset: UInt64) {
        self.init(code: code, text: ReplyLines(lines), offset: offset, endOffset: endOffset)
    }

    public init(code: Int, text: ReplyLines, offset: UInt64, endOffset: UInt64) {
        self.code = code
        self.text = text
        self.offset = offset
        self.endOffset = endOffset
    }
}

/// What a reply answers, found through the pipelining FIFO (RFC 2920).
public enum ReplyContext: Sendable, Hashable {
    /// The 220 (or 554) greeting.
    case greeting
    /// A command line (MAIL, RCPT, DATA before its 354, EHLO, BDAT without LAST, …).
    case command(SMTPCommand)
    /// The end of message data of transaction `transaction` (after CRLF.CRLF or BDAT … LAST).
    case endOfData(transaction: Int)
    /// No command was waiting for it.
    case unsolicited
}

/// End-of-data sequences: the strict one and the near misses used for SMTP smuggling.
public enum TerminatorStyle: String, Sendable, Hashable, CaseIterable {
    /// `\r\n.\r\n`, the only RFC 5321 §4.1.1.4 terminator.
    case crlf
    case lfLf = "lf.lf"  // \n.\n
    case crlfLf = "crlf.lf"  // \r\n.\n
    case lfCrlf = "lf.crlf"  // \n.\r\n
    case crCr = "cr.cr"  // \r.\r
    case crLf = "cr.lf"  // \r.\n
    case lfCr = "lf.cr"  // \n.\r
    case crlfCr = "crlf.cr"  // \r\n.\r
    case crCrlf = "cr.crlf"  // \r.\r\n
    case nullBefore = "crlf.nul"  // \r\n\0.\r\n
}

/// Where an end-of-data sequence lay in the client stream.
public struct TerminatorInfo: Sendable, Hashable {
    public var style: TerminatorStyle
    /// Client stream offset of the sequence's first byte.
    public var offset: UInt64
    /// Bytes in the sequence (5 for `crlf`).
    public var length: Int

    public init(style: TerminatorStyle, offset: UInt64, length: Int) {
        self.style = style
        self.offset = offset
        self.length = length
    }
}

/// What was learnt about one message (a MAIL … DATA/BDAT transaction's content).
public struct MessageSummary: Sendable, Hashable {
    /// 0-based index of the transaction in the connection.
    public var transaction: Int
    /// ``mailFrom`` and ``rcptTo`` as the session holds them (strings are made when read).
    public var mailFromText: SMTPText?
    public var rcptToList: ReplyLines
    /// The MAIL FROM address (inside `<>`), nil when the transaction began without MAIL.
    public var mailFrom: String? {
        get { mailFromText?.string }
        set { mailFromText = newValue.map(SMTPText.init) }
    }
    /// RCPT TO addresses, without those the server refused (4xx/5xx).
    public var rcptTo: [String] {
        get { rcptToList.strings }
        set { rcptToList = ReplyLines(newValue) }
    }
    /// Client stream offset of the first message byte.
    public var dataOffset: UInt64
    /// Message size in bytes, as MTAs log it (Postfix `size=`).
    ///
    /// DATA: the bytes after the DATA line, dot-unstuffed (RFC 5321 §4.5.2), up to and
    /// including the CRLF that ends the last line. In `\r\n.\r\n` "the first <CRLF> is
    /// actually the terminator of the previous line" (§4.1.1.4), so it is content and only
    /// `.\r\n` is not: `abc\r\n.\r\n` has size 5 (`abc\r\n`); `DATA\r\n` then `.\r\n` has
    /// size 0 (that CRLF ends the DATA line). `TerminatorInfo` still spans all 5 bytes.
    /// BDAT: the chunk bytes as they are.
    /// Message ended early (`.messageIncomplete`): every content byte read, but for a held
    /// line-start dot (and a `\r` right after it) whose meaning the next byte would have told.
    /// A near miss ended the message (`.smugglingAccepted`): the content before the near-miss
    /// sequence's first byte, so the line break that begins it is not counted
    /// (`abc\r\n.\nMAIL…` has size 3, `abc`; `abc\n.\n…` too).
    public var size: UInt64
    /// The header fields as the session holds them (strings are made when read).
    public var messageIDText: SMTPText? {
        get { fields.messageID }
        set { fields.messageID = newValue }
    }
    public var subjectText: SMTPText? {
        get { fields.subject }
        set { fields.subject = newValue }
    }
    public var dateText: SMTPText? {
        get { fields.date }
        set { fields.date = newValue }
    }
    public var fromText: SMTPText? {
        get { fields.from }
        set { fields.from = newValue }
    }
    public var toText: SMTPText? {
        get { fields.to }
        set { fields.to = newValue }
    }
    /// Stable hex digest (XXH64, seed 0, 16 lower-case hex digits) of exactly the bytes `size` counts; identical messages in
    /// different connections have identical fingerprints.
    public var fingerprint: String {
        get { fingerprintText.string }
        set { fingerprintText = SMTPText(newValue) }
    }
    /// ``fingerprint`` as the session holds it (a string is made when read).
    public var fingerprintText: SMTPText
    /// The header block exceeded its cap; header fields after the cap are unknown.
    public var headersTruncated: Bool
    /// The header fields, kept as the session's parser made them (moved in, not copied field
    /// by field); read through ``messageIDText`` … ``toText``.
    var fields: HeaderFields

    public var messageID: String? {
        get { messageIDText?.string }
        set { messageIDText = newValue.map(SMTPText.init) }
    }
    public var subject: String? {
        get { subjectText?.string }
        set { subjectText = newValue.map(SMTPText.init) }
    }
    public var date: String? {
        get { dateText?.string }
        set { dateText = newValue.map(SMTPText.init) }
    }
    public var from: String? {
        get { fromText?.string }
        set { fromText = newValue.map(SMTPText.init) }
    }
    public var to: String? {
        get { toText?.string }
        set { toText = newValue.map(SMTPText.init) }
    }
}

// The initializers are in an extension so that the struct keeps its memberwise initializer
// (see the same note on ``SMTPCommand``: no copy of the summary per message).
extension MessageSummary {
    public init(
        transaction: Int, mailFrom: String?, rcptTo: [String], dataOffset: UInt64, size: UInt64, messageID: String?,
        subject: String?, date: String?, from: String?, to: String?, fingerprint: String, headersTruncated: Bool
    ) {
        let fields = HeaderFields(
            messageID: messageID.map(SMTPText.init), subject: subject.map(SMTPText.init), date: date.map(SMTPText.init),
            from: from.map(SMTPText.init), to: to.map(SMTPText.init))
        self.init(
            transaction: transaction, mailFrom: mailFrom.map(SMTPText.init), rcptTo: ReplyLines(rcptTo), dataOffset: dataOffset,
            size: size, fields: fields,
            fingerprint: SMTPText(fingerprint), headersTruncated: headersTruncated)
    }

    init(
        transaction: Int, mailFrom: SMTPText?, rcptTo: ReplyLines, dataOffset: UInt64, size: UInt64, fields: HeaderFields,
        fingerprint: SMTPText, headersTruncated: Bool
    ) {
        self.init(
            transaction: transaction, mailFromText: mailFrom, rcptToList: rcptTo, dataOffset: dataOffset, size: size,
            fingerprintText: fingerprint, headersTruncated: headersTruncated, fields: fields)
    }
}

/// Protocol irregularities worth a finding; the vocabulary Analysis maps to finding codes.
public enum SMTPAnomaly: String, Sendable, Hashable, CaseIterable {
    case lineTooLong = "line_too_long"
    case bareLF = "bare_lf"
    case bareCR = "bare_cr"
    case unsolicitedReply = "unsolicited_reply"
    case malformedReply = "malformed_reply"
    case tooManyPendingCommands = "too_many_pending_commands"
    case bannerMasked = "banner_masked"
    case ehloRejected = "ehlo_rejected"
    case commandMasked = "command_masked"
    case starttlsMasked = "starttls_masked"
    case malformedBDAT = "malformed_bdat"
    case dataAfterGap = "resync_after_gap"
}

/// What the SMTP machine reports, in stream order per side. Every event
/// carries stream offsets so the caller can map it to frames and times.
///
/// Ordering guarantees:
/// - `.transactionStarted` comes just before the MAIL (or mid-way DATA/BDAT) `.command` that began it.
/// - A reply is reported after the event it answers: `.command` before `.reply(_, answering: .command)`,
///   `.endOfData` before `.reply(_, answering: .endOfData)`.
/// - `.messageStarted` follows the 354 `.reply` (DATA) or the first BDAT `.command`; with BDAT,
///   `.bdatChunk` follows each BDAT `.command`.
/// - `.extensions` follows the EHLO `.reply`; `.tlsStarted` follows the 220 `.reply` to STARTTLS.
/// - `.smugglingAccepted`, then `.endOfData` (its terminator the near miss), then the `.reply` that
///   answers it; the client text after the near miss is then read again as commands.
/// - Client bytes after DATA, STARTTLS, AUTH or an AUTH response line are held (bounded by
///   `SMTPOptions.maxHeldBytes`) until the server's reply says how to read them, so their events
///   follow that reply even when the client stream was fed first.
public enum SMTPEvent: Sendable, Hashable {
    case command(SMTPCommand)
    case reply(SMTPReply, answering: ReplyContext)
    /// EHLO reply keywords offered (PIPELINING, CHUNKING, STARTTLS, SIZE, 8BITMIME, SMTPUTF8, …).
    case extensions([String])
    /// A new transaction began (MAIL FROM, or DATA/BDAT seen without one).
    case transactionStarted(transaction: Int, offset: UInt64)
    /// Message mode began (after 354, or at the first BDAT chunk); bytes from client `offset` on are message data.
    case messageStarted(transaction: Int, offset: UInt64)
    /// The strict terminator (or BDAT LAST's final byte) ended the message.
    case endOfData(MessageSummary, terminator: TerminatorInfo?)
    /// A non-standard end-of-data sequence inside the message (the message goes on: strict reading).
    case nearMissTerminator(transaction: Int, terminator: TerminatorInfo)
    /// The server replied after a near miss and before the strict terminator: it took the near miss as end of data.
    case smugglingAccepted(transaction: Int, terminator: TerminatorInfo, smuggled: SmuggledEnvelope)
    /// A BDAT chunk header; `size` bytes from client `offset` on belong to the message.
    case bdatChunk(transaction: Int, size: UInt64, last: Bool, offset: UInt64)
    /// The message ended without a terminator (client stream gap or end while in message mode).
    case messageIncomplete(MessageSummary, reason: IncompleteReason)
    /// The server accepted STARTTLS; from these offsets on both streams are opaque.
    case tlsStarted(clientOffset: UInt64, serverOffset: UInt64)
    case anomaly(SMTPAnomaly, side: SMTPSide, offset: UInt64)
}

/// The envelope of a transaction hidden in message text after a near-miss terminator.
public struct SmuggledEnvelope: Sendable, Hashable {
    public var mailFrom: String?
    public var rcptTo: [String]
    public var messageID: String?
    public init(mailFrom: String?, rcptTo: [String], messageID: String?) {
        self.mailFrom = mailFrom
        self.rcptTo = rcptTo
        self.messageID = messageID
    }
}

/// Why a message ended without its terminator.
public enum IncompleteReason: String, Sendable, Hashable {
    case gap
    case end
}
