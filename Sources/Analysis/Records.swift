import Reassembly
import SMTP
import Wire

/// One side of a connection as printed: address text and port.
public struct EndpointRecord: Sendable, Hashable {
    /// The address as kept: its text, or an IPv6 address whose text is written where it is
    /// printed (``withIPBytes(_:)``): longer than a small string, it would be a heap
    /// allocation per flow record.
    enum Address: Sendable {
        case text(String)
        /// An IPv4 address, its text written where it is printed (no string at all).
        case ipv4(UInt32)
        case ipv6(IPAddress)
    }
    var address: Address
    public var ip: String {
        get {
            switch address {
            case .text(let text): return text
            case .ipv4(let value): return Self.dottedQuad(value)
            case .ipv6(let address): return address.description
            }
        }
        set { address = .text(newValue) }
    }
    public var port: UInt16
    public init(ip: String, port: UInt16) {
        self.address = .text(ip)
        self.port = port
    }
    public init(_ endpoint: Endpoint) {
        if case .v4(let value) = endpoint.address {
            self.address = .ipv4(value)
        } else {
            self.address = .ipv6(endpoint.address)
        }
        self.port = endpoint.port
    }

    /// `IPAddress.description` of an IPv4 address, as a small string written in place (at
    /// most 15 bytes: no allocation, no interpolation).
    static func dottedQuad(_ value: UInt32) -> String {
        String(unsafeUninitializedCapacity: 15) { buffer in
            guard let base = buffer.baseAddress, buffer.count >= 15 else { return 0 }
            return writeDottedQuad(value, at: base)
        }
    }

    /// Writes the dotted quad of `value` (at most 15 bytes) at `base`; returns its length.
    static func writeDottedQuad(_ value: UInt32, at base: UnsafeMutablePointer<UInt8>) -> Int {
        var at = writeOctet(UInt8(truncatingIfNeeded: value >> 24), at: base)
        at.pointee = UInt8(ascii: ".")
        at = writeOctet(UInt8(truncatingIfNeeded: value >> 16), at: at + 1)
        at.pointee = UInt8(ascii: ".")
        at = writeOctet(UInt8(truncatingIfNeeded: value >> 8), at: at + 1)
        at.pointee = UInt8(ascii: ".")
        at = writeOctet(UInt8(truncatingIfNeeded: value), at: at + 1)
        return at - base
    }

    /// The decimal digits of `octet` (no leading zeros), from a table of three digits per
    /// value; returns the end.
    @inline(__always)
    private static func writeOctet(_ octet: UInt8, at: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        let digits: StaticString = "000001002003004005006007008009010011012013014015016017018019020021022023024025026027028029030031032033034035036037038039040041042043044045046047048049050051052053054055056057058059060061062063064065066067068069070071072073074075076077078079080081082083084085086087088089090091092093094095096097098099100101102103104105106107108109110111112113114115116117118119120121122123124125126127128129130131132133134135136137138139140141142143144145146147148149150151152153154155156157158159160161162163164165166167168169170171172173174175176177178179180181182183184185186187188189190191192193194195196197198199200201202203204205206207208209210211212213214215216217218219220221222223224225226227228229230231232233234235236237238239240241242243244245246247248249250251252253254255"
        let from = digits.utf8Start + Int(octet) * 3
        if octet >= 100 {
            at[0] = from[0]
            at[1] = from[1]
            at[2] = from[2]
            return at + 3
        }
        if octet >= 10 {
            at[0] = from[1]
            at[1] = from[2]
            return at + 2
        }
        at[0] = from[2]
        return at + 1
    }

    /// Calls `body` with ``ip``'s UTF-8 bytes (valid only during the call).
    func withIPBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        switch address {
        case .text(var text): return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        case .ipv4(let value):
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { buffer in
                guard let base = buffer.baseAddress else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
                return body(UnsafeRawBufferPointer(start: base, count: Self.writeDottedQuad(value, at: base)))
            }
        case .ipv6(let address): return address.withTextBytes(body)
        }
    }

    // Equal and hashed as the text and the port they print as.
    public static func == (a: EndpointRecord, b: EndpointRecord) -> Bool {
        guard a.port == b.port else { return false }
        if case .ipv6(let x) = a.address, case .ipv6(let y) = b.address { return x == y }  // the text is canonical
        return a.ip == b.ip
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ip)
        hasher.combine(port)
    }
}

/// Frame numbers in order: up to six kept in place (a terminator's frames, at most five for
/// its five bytes, and a finding's usual evidence, so a record needs no array for them),
/// more in an array.
public struct FrameList: Sendable, Hashable, RandomAccessCollection {
    static let inlineCapacity = 6
    // One form per content: up to six frames in `inline` with `spill` empty, more all in
    // `spill` with `inlineCount` zero.
    private var inline: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
    private var inlineCount = 0
    private var spill: [UInt64] = []

    public init() {}

    public init(_ frame: UInt64) {
        inline.0 = frame
        inlineCount = 1
    }

    public init<S: Sequence>(_ frames: S) where S.Element == UInt64 {
        for frame in frames { append(frame) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { spill.isEmpty ? inlineCount : spill.count }

    public subscript(index: Int) -> UInt64 {
        guard spill.isEmpty else { return spill[index] }
        precondition(index >= 0 && index < inlineCount, "FrameList index out of range")
        var frames = inline
        return withUnsafeBytes(of: &frames) { $0.load(fromByteOffset: index &* 8, as: UInt64.self) }
    }

    public mutating func append(_ frame: UInt64) {
        guard spill.isEmpty else { return spill.append(frame) }
        guard inlineCount < Self.inlineCapacity else {
            spill = Array(self)
            spill.append(frame)
            inline = (0, 0, 0, 0, 0, 0)
            inlineCount = 0
            return
        }
        let at = inlineCount
        withUnsafeMutableBytes(of: &inline) { $0.storeBytes(of: frame, toByteOffset: at &* 8, as: UInt64.self) }
        inlineCount += 1
    }

    /// Inserts `frame` where it keeps an ascending list ascending, unless it is there already.
    mutating func insertSorted(_ frame: UInt64) {
        var at = count
        while at > 0 && self[at - 1] > frame { at -= 1 }
        if at > 0 && self[at - 1] == frame { return }
        guard spill.isEmpty, inlineCount < Self.inlineCapacity else {
            if spill.isEmpty { spill = Array(self) }
            spill.insert(frame, at: at)
            inline = (0, 0, 0, 0, 0, 0)
            inlineCount = 0
            return
        }
        let n = inlineCount
        withUnsafeMutableBytes(of: &inline) { raw in
            var i = n
            while i > at {
                raw.storeBytes(of: raw.load(fromByteOffset: (i - 1) &* 8, as: UInt64.self), toByteOffset: i &* 8, as: UInt64.self)
                i -= 1
            }
            raw.storeBytes(of: frame, toByteOffset: at &* 8, as: UInt64.self)
        }
        inlineCount += 1
    }

    /// Each frame is greater than the one before (an ascending list of distinct frames).
    var isStrictlyAscending: Bool {
        var index = 1
        while index < count {
            if self[index - 1] >= self[index] { return false }
            index += 1
        }
        return true
    }

    /// Keeps the first `limit` frames.
    mutating func keepFirst(_ limit: Int) {
        guard count > limit else { return }
        let kept = Swift.max(0, limit)
        if spill.isEmpty {
            withUnsafeMutableBytes(of: &inline) { raw in
                for i in kept..<inlineCount { raw.storeBytes(of: 0, toByteOffset: i &* 8, as: UInt64.self) }
            }
            inlineCount = kept
        } else if kept > Self.inlineCapacity {
            spill.removeLast(spill.count - kept)
        } else {
            let frames = spill
            spill = []
            inlineCount = 0
            for frame in frames.prefix(kept) { append(frame) }
        }
    }

    public static func == (a: FrameList, b: FrameList) -> Bool { a.elementsEqual(b) }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for frame in self { hasher.combine(frame) }
    }
}

/// Byte positions after which a segment boundary falls in a terminator (1…4 for the five
/// bytes of `\r\n.\r\n`): ascending positions below 64 kept as bits, any other list as it is.
public struct SplitPositions: Sendable, Hashable, Sequence {
    // One form per content: `mask` alone, or `spill` alone.
    private var mask: UInt64 = 0
    private var spill: [Int] = []

    public init() {}

    public init<S: Sequence>(_ positions: S) where S.Element == Int {
        for position in positions { append(position) }
    }

    /// Adds a position after the others.
    public mutating func append(_ position: Int) {
        let highest = mask == 0 ? -1 : 63 - mask.leadingZeroBitCount
        guard spill.isEmpty, position > highest, position < 64 else {
            if spill.isEmpty { spill = Array(self) }
            spill.append(position)
            mask = 0
            return
        }
        mask |= 1 << UInt64(position)
    }

    public var isEmpty: Bool { mask == 0 && spill.isEmpty }
    public var underestimatedCount: Int { spill.isEmpty ? mask.nonzeroBitCount : spill.count }

    public func makeIterator() -> Iterator { Iterator(mask: mask, spill: spill) }

    public struct Iterator: IteratorProtocol {
        var mask: UInt64
        let spill: [Int]
        var at = 0

        public mutating func next() -> Int? {
            guard spill.isEmpty else {
                guard at < spill.count else { return nil }
                defer { at += 1 }
                return spill[at]
            }
            guard mask != 0 else { return nil }
            let position = mask.trailingZeroBitCount
            mask &= mask &- 1
            return position
        }
    }
}

/// Where the end-of-data sequence fell across TCP segments.
public struct TerminatorRecord: Sendable, Hashable {
    public var seen: Bool
    /// `crlf`, a near-miss variant, or `bdat` for BDAT LAST; nil when not seen.
    public var style: String?
    /// ``frames`` as kept (no array for one or two frames).
    public var frameList: FrameList
    /// Distinct frames that carried the terminator bytes, in byte order.
    public var frames: [UInt64] {
        get { Array(frameList) }
        set { frameList = FrameList(newValue) }
    }
    /// Byte positions (1…length-1) after which a segment boundary falls; empty = one segment.
    public var splitAfter: [Int] {
        get { Array(splitPositions) }
        set { splitPositions = SplitPositions(newValue) }
    }
    /// ``splitAfter`` as kept (in place, no array).
    public var splitPositions: SplitPositions
    /// Capture time the last terminator byte arrived (ns since the epoch).
    public var timeNanoseconds: Int64?
    /// Time between the first and the last segment of the terminator.
    public var spreadNanoseconds: Int64?
    /// Frames that retransmitted terminator bytes.
    public var retransmissionFrames: [UInt64]
    /// Client stream offset of the terminator's first byte.
    public var offset: UInt64?

    public init(
        seen: Bool = false, style: String? = nil, frames: [UInt64] = [], splitAfter: [Int] = [],
        timeNanoseconds: Int64? = nil, spreadNanoseconds: Int64? = nil, retransmissionFrames: [UInt64] = [],
        offset: UInt64? = nil
    ) {
        self.seen = seen
        self.style = style
        self.frameList = FrameList(frames)
        self.splitPositions = SplitPositions(splitAfter)
        self.timeNanoseconds = timeNanoseconds
        self.spreadNanoseconds = spreadNanoseconds
        self.retransmissionFrames = retransmissionFrames
        self.offset = offset
    }

    public var isSplit: Bool { !splitPositions.isEmpty }
}

/// The reply to end-of-data (or to DATA/BDAT when that was refused).
public struct ReplyRecord: Sendable, Hashable {
    public var code: Int
    /// ``text`` as kept (bytes in the tracker's recycled text store; a `String` when read).
    public var textValue: SMTPText
    /// The reply's lines joined by one space.
    public var text: String {
        get { textValue.string }
        set { textValue = SMTPText(newValue) }
    }
    public var frame: UInt64
    public var timeNanoseconds: Int64
    /// From terminator completion to the reply; nil when there was no terminator.
    public var latencyNanoseconds: Int64?

    public init(code: Int, text: String, frame: UInt64, timeNanoseconds: Int64, latencyNanoseconds: Int64?) {
        self.init(code: code, textValue: SMTPText(text), frame: frame, timeNanoseconds: timeNanoseconds, latencyNanoseconds: latencyNanoseconds)
    }

    /// A reply record whose text is kept as `textValue`.
    public init(code: Int, textValue: SMTPText, frame: UInt64, timeNanoseconds: Int64, latencyNanoseconds: Int64?) {
        self.code = code
        self.textValue = textValue
        self.frame = frame
        self.timeNanoseconds = timeNanoseconds
        self.latencyNanoseconds = latencyNanoseconds
    }
}

/// How and when the client stopped waiting for a reply.
public struct GiveUpRecord: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable { case quit, rset, fin, rst, timeout }
    public var kind: Kind
    public var frame: UInt64?
    public var timeNanoseconds: Int64
    /// How long the client had waited since the terminator completed.
    public var waitedNanoseconds: Int64?

    public init(kind: Kind, frame: UInt64?, timeNanoseconds: Int64, waitedNanoseconds: Int64?) {
        self.kind = kind
        self.frame = frame
        self.timeNanoseconds = timeNanoseconds
        self.waitedNanoseconds = waitedNanoseconds
    }
}

/// One MAIL…DATA/BDAT attempt. Cross-flow correlation reads only these records.
public struct TransactionRecord: Sendable, Hashable {
    /// 0-based index of the capture in the run.
    public var capture: Int
    /// 0-based flow index within the capture.
    public var flow: Int
    public var client: EndpointRecord
    public var server: EndpointRecord
    /// 0-based index of the transaction in the flow.
    public var index: Int
    /// The envelope and message texts as kept: bytes in the recycled text store of the
    /// tracker that made the record (it is reused only once no record refers to it), made
    /// into `String`s only when read through ``mailFrom``, ``rcptTo``, ``messageID``,
    /// ``subject`` and ``fingerprint``.
    public var mailFromText: SMTPText?
    public var rcptToList: ReplyLines
    public var messageIDText: SMTPText?
    public var subjectText: SMTPText?
    public var fingerprintText: SMTPText?
    public var mailFrom: String? {
        get { mailFromText?.string }
        set { mailFromText = newValue.map(SMTPText.init) }
    }
    public var rcptTo: [String] {
        get { rcptToList.strings }
        set { rcptToList = ReplyLines(newValue) }
    }
    public var messageID: String? {
        get { messageIDText?.string }
        set { messageIDText = newValue.map(SMTPText.init) }
    }
    public var subject: String? {
        get { subjectText?.string }
        set { subjectText = newValue.map(SMTPText.init) }
    }
    public var size: UInt64?
    public var fingerprint: String? {
        get { fingerprintText?.string }
        set { fingerprintText = newValue.map(SMTPText.init) }
    }
    /// Capture time the transaction began (MAIL FROM, or DATA/BDAT without it).
    public var startNanoseconds: Int64
    /// Frame that carried the DATA (or first BDAT) command.
    public var dataFrame: UInt64?
    public var terminator: TerminatorRecord
    public var reply: ReplyRecord?
    /// When the client stopped waiting for the reply, if it did.
    public var gaveUp: GiveUpRecord?
    public var outcome: Outcome
    public var diagnosis: Diagnosis

}

// Initialisers in an extension: the struct keeps its memberwise initialiser.
extension TransactionRecord {
    public init(
        capture: Int, flow: Int, client: EndpointRecord, server: EndpointRecord, index: Int, mailFrom: String? = nil,
        rcptTo: [String] = [], messageID: String? = nil, subject: String? = nil, size: UInt64? = nil,
        fingerprint: String? = nil, startNanoseconds: Int64, dataFrame: UInt64? = nil,
        terminator: TerminatorRecord = TerminatorRecord(), reply: ReplyRecord? = nil, gaveUp: GiveUpRecord? = nil,
        outcome: Outcome, diagnosis: Diagnosis
    ) {
        self.init(
            capture: capture, flow: flow, client: client, server: server, index: index,
            mailFromText: mailFrom.map(SMTPText.init), rcptToList: ReplyLines(rcptTo),
            messageIDText: messageID.map(SMTPText.init), subjectText: subject.map(SMTPText.init), size: size,
            fingerprintText: fingerprint.map(SMTPText.init), startNanoseconds: startNanoseconds, dataFrame: dataFrame,
            terminator: terminator, reply: reply, gaveUp: gaveUp, outcome: outcome, diagnosis: diagnosis)
    }

    /// With the kept text as it is (the tracker's records: no strings made, nothing set twice).
    /// Delegates to the memberwise initialiser: one that sets each field itself compiles to
    /// a copy of the whole record and a destroy of its arguments (retains and releases of
    /// every text), where the memberwise one moves them.
    init(
        capture: Int, flow: Int, client: EndpointRecord, server: EndpointRecord, index: Int, mailFromText: SMTPText?,
        rcptToList: ReplyLines, messageIDText: SMTPText?, subjectText: SMTPText?, size: UInt64?, fingerprintText: SMTPText?,
        startNanoseconds: Int64, dataFrame: UInt64?, terminator: TerminatorRecord, reply: ReplyRecord?, gaveUp: GiveUpRecord?,
        outcome: Outcome, diagnosis: Diagnosis
    ) {
        self.init(
            capture: capture, flow: flow, client: client, server: server, index: index, mailFromText: mailFromText,
            rcptToList: rcptToList, messageIDText: messageIDText, subjectText: subjectText, fingerprintText: fingerprintText,
            size: size, startNanoseconds: startNanoseconds, dataFrame: dataFrame, terminator: terminator, reply: reply,
            gaveUp: gaveUp, outcome: outcome, diagnosis: diagnosis)
    }
}

/// One finding of a flow: a code from the closed vocabulary with its evidence.
public struct Finding: Sendable, Hashable {
    public var code: FindingCode
    public var severity: Severity { code.severity }
    /// ``frames`` as kept (in place up to six: no array for the usual evidence).
    public var frameList: FrameList
    /// Evidence frames, ascending.
    public var frames: [UInt64] {
        get { Array(frameList) }
        set { frameList = FrameList(newValue) }
    }
    /// ``message`` as kept (see ``TransactionRecord/mailFromText``).
    public var messageText: SMTPText
    /// What was seen, in words, with numbers.
    public var message: String {
        get { messageText.string }
        set { messageText = SMTPText(newValue) }
    }
    /// How many times the trigger fired in the flow (reported once).
    public var occurrences: Int

    public init(code: FindingCode, frames: [UInt64], message: String, occurrences: Int = 1) {
        self.init(code: code, frameList: FrameList(frames), messageText: SMTPText(message), occurrences: occurrences)
    }

    /// A finding whose frames and message are kept as given.
    public init(code: FindingCode, frameList: FrameList, messageText: SMTPText, occurrences: Int = 1) {
        self.code = code
        self.frameList = frameList
        self.messageText = messageText
        self.occurrences = occurrences
    }
}

/// How a connection ended.
public enum EndReason: String, Sendable, Hashable {
    case quit, fin, rst, open
}

/// One TCP connection on an SMTP port.
public struct FlowRecord: Sendable, Hashable {
    public var capture: Int
    public var flow: Int
    /// ``communityID`` and ``banner`` as kept (see ``TransactionRecord/mailFromText``).
    public var communityIDText: SMTPText
    public var bannerText: SMTPText?
    public var communityID: String {
        get { communityIDText.string }
        set { communityIDText = SMTPText(newValue) }
    }
    public var client: EndpointRecord
    public var server: EndpointRecord
    public var startNanoseconds: Int64
    public var endNanoseconds: Int64
    public var firstFrame: UInt64
    public var lastFrame: UInt64
    public var packets: UInt64
    public var endReason: EndReason
    public var closedBy: SMTPSideName?
    public var banner: String? {
        get { bannerText?.string }
        set { bannerText = newValue.map(SMTPText.init) }
    }
    public var tls: Bool
    public var midstream: Bool
    public var transactions: [TransactionRecord]
    public var findings: [Finding]

    /// A Wireshark display filter showing this connection (frame range guards against port reuse).
    public var wiresharkFilter: String {
        WiresharkFilter.flow(client: client, server: server, firstFrame: firstFrame, lastFrame: lastFrame)
    }

    /// True when a transaction did not end `ok` or a finding is a warning or worse. A transaction
    /// inside TLS (`encrypted`) is not a problem by itself: most mail today goes over STARTTLS,
    /// and a clean encrypted delivery must not make `analyze` exit 1.
    public var hasProblems: Bool {
        // By index: each record is read in place, not copied out (with all its text).
        for index in transactions.indices {
            let diagnosis = transactions[index].diagnosis
            if diagnosis != .ok && diagnosis != .encrypted { return true }
        }
        for index in findings.indices where findings[index].severity >= .warning { return true }
        return false
    }
}

// Initialisers in an extension: the struct keeps its memberwise initialiser.
extension FlowRecord {
    public init(
        capture: Int, flow: Int, communityID: String, client: EndpointRecord, server: EndpointRecord,
        startNanoseconds: Int64, endNanoseconds: Int64, firstFrame: UInt64, lastFrame: UInt64, packets: UInt64,
        endReason: EndReason, closedBy: SMTPSideName?, banner: String?, tls: Bool, midstream: Bool,
        transactions: [TransactionRecord], findings: [Finding]
    ) {
        self.init(
            capture: capture, flow: flow, communityIDText: SMTPText(communityID), client: client, server: server,
            startNanoseconds: startNanoseconds, endNanoseconds: endNanoseconds, firstFrame: firstFrame,
            lastFrame: lastFrame, packets: packets, endReason: endReason, closedBy: closedBy,
            bannerText: banner.map(SMTPText.init), tls: tls, midstream: midstream, transactions: transactions,
            findings: findings)
    }

    /// With the kept text as it is (the tracker's records). Delegates to the memberwise
    /// initialiser (see ``TransactionRecord``'s: the record is then made where it is returned).
    init(
        capture: Int, flow: Int, communityIDText: SMTPText, client: EndpointRecord, server: EndpointRecord,
        startNanoseconds: Int64, endNanoseconds: Int64, firstFrame: UInt64, lastFrame: UInt64, packets: UInt64,
        endReason: EndReason, closedBy: SMTPSideName?, bannerText: SMTPText?, tls: Bool, midstream: Bool,
        transactions: [TransactionRecord], findings: [Finding]
    ) {
        self.init(
            capture: capture, flow: flow, communityIDText: communityIDText, bannerText: bannerText, client: client,
            server: server, startNanoseconds: startNanoseconds, endNanoseconds: endNanoseconds, firstFrame: firstFrame,
            lastFrame: lastFrame, packets: packets, endReason: endReason, closedBy: closedBy, tls: tls,
            midstream: midstream, transactions: transactions, findings: findings)
    }
}

/// `client` or `server`, as JSON prints a side.
public enum SMTPSideName: String, Sendable, Hashable {
    case client, server
}

extension MessageFacts {
    /// The texts, moved out (this is left with none): for a record made from a transaction's
    /// state that nothing reads again (``FlowTracker``'s close), without a retain for each.
    mutating func takeTexts() -> (messageID: SMTPText?, subject: SMTPText?, fingerprint: SMTPText) {
        var messageID: SMTPText?
        swap(&messageID, &self.messageID)
        var subject: SMTPText?
        swap(&subject, &self.subject)
        var fingerprint = SMTPText("")
        swap(&fingerprint, &self.fingerprint)
        return (messageID, subject, fingerprint)
    }
}
