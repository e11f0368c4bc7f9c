import CByteMask

/// What stopped `MessageScanner.scan`.
enum ScanStop: Sendable, Hashable {
    /// All bytes read; the message goes on.
    case needMore
    /// A near-miss terminator ended just before the returned index; the message goes on.
    case nearMiss(TerminatorInfo)
    /// The strict `\r\n.\r\n` ended at the returned index; the message is over.
    case terminator(TerminatorInfo)
}

/// Reads message bytes: after DATA, a DFA finds the strict terminator (RFC 5321 §4.1.1.4)
/// and, alongside, the near-miss sequences a lenient receiver takes for one; dot-stuffing is
/// removed (§4.5.2). After BDAT, chunk bytes are taken as they are. Both feed the size, the
/// fingerprint and the header block. Every state survives chunk boundaries; memory is bounded.
struct MessageScanner {
    private enum Strict: UInt8 { case text, cr, crlf, dot, dotCr }
    private enum Near: UInt8 { case text, cr, crlf, lf, nul, dot, dotCr }
    /// What came just before the dot of a candidate terminator.
    private enum Prefix: UInt8 { case cr, crlf, lf, nul }

    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A
    private static let dot: UInt8 = 0x2E

    /// At `.crlf` the scanner is at a line start; at the very start that `\r\n` ended the DATA
    /// line and is no content.
    private var strict: Strict
    private var near: Near
    private var prefix: Prefix = .crlf
    private var dotOffset: UInt64 = 0

    private(set) var size: UInt64 = 0
    private var digest = Fingerprint()
    private var headers = HeaderCollector()

    /// Content read before each of the last few `\r`/`\n` bytes, to know the message as it was
    /// just before a near miss began (its prefix starts at one of them).
    private var breaks = BreakRing()

    /// First near miss of the message, with size and fingerprint of the content before it.
    private(set) var firstNearMiss: (terminator: TerminatorInfo, size: UInt64, fingerprint: String)?
    private(set) var nearMissCount = 0
    /// Raw bytes after the first near miss (bounded), and whether they are all there.
    private(set) var afterNearMiss: [UInt8] = []
    private(set) var afterNearMissComplete = true
    private(set) var afterNearMissOffset: UInt64 = 0
    /// The session's limits this scanner reads, kept here (set once per session, kept by
    /// ``reset(afterCRLF:)``) rather than passed with every chunk.
    var limits = ScanLimits(SMTPOptions())
    /// Nothing read since the scanner started for a message that starts as `freshAfterCRLF`
    /// says: starting it again that way has nothing to undo (a session starts it at the end
    /// of a message, at the next MAIL and at DATA's 354, reading nothing in between).
    private var fresh = true
    private var freshAfterCRLF: Bool

    /// A scanner for DATA content; `afterCRLF` says whether the DATA line ended with `\r\n`
    /// (then `.\r\n` right away is an empty message) or with a bare `\n`.
    init(afterCRLF: Bool) {
        strict = afterCRLF ? .crlf : .text
        near = afterCRLF ? .crlf : .lf
        freshAfterCRLF = afterCRLF
    }

    /// Starts a new message as `init(afterCRLF:)` would, keeping the header block's storage
    /// when it is small (``HeaderCollector/keptCapacity``): one allocation per message fewer,
    /// for at most 2 KiB per connection that has sent a message.
    /// Written field by field, in place: a scanner holds a few hundred bytes of state, and
    /// building a new one to copy over it cost more than the rest of a small message.
    mutating func reset(afterCRLF: Bool) {
        if fresh && freshAfterCRLF == afterCRLF { return }
        fresh = true
        freshAfterCRLF = afterCRLF
        strict = afterCRLF ? .crlf : .text
        near = afterCRLF ? .crlf : .lf
        prefix = .crlf
        dotOffset = 0
        size = 0
        digest = Fingerprint()
        headers.restart()
        breaks.removeAll()
        if firstNearMiss != nil { firstNearMiss = nil }
        nearMissCount = 0
        if afterNearMiss.capacity > 0 { afterNearMiss = [] }
        afterNearMissComplete = true
        afterNearMissOffset = 0
    }

    var fingerprint: String { digest.hex }
    /// The XXH64 digest ``fingerprint`` spells out.
    var fingerprintValue: UInt64 { digest.value }
    var headersTruncated: Bool { headers.truncated }
    func headerFields(maxValueLength: Int, addressFields: Bool = true, arena: inout TextArena) -> HeaderFields {
        headers.parse(maxValueLength: maxValueLength, addressFields: addressFields, arena: &arena)
    }

    /// BDAT chunk bytes: content as they are.
    mutating func addRaw(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        guard !range.isEmpty else { return }
        fresh = false
        size &+= UInt64(range.count)
        digest.add(bytes, range)
        if headers.collecting { headers.add(bytes, range, cap: limits.maxHeaderBytes) }
    }

    /// The start of a chunk of message text taken at once, before ``scan(_:from:base:)`` is
    /// called for the rest (and only if there is a rest): from inside a line, with no near
    /// miss to retain text after, the first plain run (the whole chunk, most of the time), as
    /// the scan's own first step takes it. Returns the index reached (0: nothing taken).
    @inline(__always)
    mutating func scanPlainStart(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard strict == .text && near == .text, firstNearMiss == nil else { return 0 }
        fresh = false
        let j = Self.plainRun(in: bytes, from: 0, hashingInto: &digest)
        if j > 0 {
            size &+= UInt64(j)
            if headers.collecting { headers.addRun(bytes, 0..<j, cap: limits.maxHeaderBytes) }
        }
        return j
    }

    /// Reads DATA bytes from `bytes[start...]` (`bytes[0]` at stream offset `base`) until the
    /// strict terminator, a near miss to report, or the chunk's end. Returns the index reached.
    @inline(never)  // one body per message chunk; its own frame keeps the caller's small
    mutating func scan(
        _ bytes: UnsafeRawBufferPointer, from start: Int, base: UInt64
    ) -> (end: Int, stop: ScanStop) {
        fresh = false
        let n = bytes.count
        let retainFrom = start
        var i = start
        while i < n {
            if strict == .text && near == .text {
                // Fast path: a run of ordinary line bytes is plain content, and so is a `\r\n`
                // followed by a byte that is no `\r`, `\n`, dot or NUL: after it both machines
                // are back in `.text`, and no terminator or near miss can begin at that `\r`
                // (so its break needs no note).
                let j = Self.plainRun(in: bytes, from: i, hashingInto: &digest)
                if j > i {
                    size &+= UInt64(j - i)
                    if headers.collecting { headers.addRun(bytes, i..<j, cap: limits.maxHeaderBytes) }
                    i = j
                    continue
                }
            }
            if let next = stepLineStart(bytes, at: i, base: base) {
                i = next
                continue
            }
            let b = bytes[i]
            let offset = base &+ UInt64(i)
            if b == MessageScanner.cr || b == MessageScanner.lf { noteBreak(at: offset) }
            if stepStrict(b) {
                i += 1
                retain(bytes, retainFrom..<i, base: base)
                return (i, .terminator(TerminatorInfo(style: .crlf, offset: offset &- 4, length: 5)))
            }
            // Outside a candidate only a line break can begin one (a dot or NUL counts only after one).
            if near == .text && b != MessageScanner.cr && b != MessageScanner.lf {
                i += 1
                continue
            }
            if let (found, _) = stepNear(b, offset) {
                i += 1
                if recordNearMiss(found) {
                    // The retained text starts at the near miss's end (for the `…\r` variants,
                    // the byte that revealed them lies after it and is kept).
                    retain(bytes, retainFrom..<i, base: base)
                    return (i, .nearMiss(found))
                }
                continue
            }
            i += 1
        }
        retain(bytes, retainFrom..<i, base: base)
        return (i, .needMore)
    }

    /// End of the plain run from `start`: the index of the first `\r` or `\n` that is not the
    /// start of `\r\n` plus an ordinary byte (none of `\r`, `\n`, `.`, NUL), or `bytes.count`;
    /// the run's bytes are added to `digest`. In C (`CByteMask`): one 64-byte mask of line-break
    /// candidates per block, with AVX2 when the CPU has it (else SSE2, or a byte loop off
    /// x86-64), every line end of a block taken from the same mask (about one per 60 bytes of
    /// mail text), and the block's XXH64 stripes folded in while it is in cache.
    @inline(__always)
    private static func plainRun(
        in bytes: UnsafeRawBufferPointer, from start: Int, hashingInto digest: inout Fingerprint
    ) -> Int {
        let n = bytes.count
        guard let base = bytes.baseAddress, start < n else { return n }
        // The C side keeps to `start...n`; clamped all the same, as the caller slices with it.
        return min(max(smtpscope_plain_run_hashing(base, start, n, &digest.state), start), n)
    }

    /// Where the plain run stops most (a line end before an empty line, an empty line, a line
    /// end at a chunk's end, the first byte of a line after those), the bytes the two machines
    /// would take one by one, taken at once with the same effect: from inside a line or a line
    /// start, `\r\n` is two breaks and two content bytes and leaves both at a line start; at a
    /// line start, an ordinary byte (none of `\r`, `\n`, `.`, NUL) is content and leaves both
    /// inside a line. Returns the index after the bytes taken, or nil for anything else.
    @inline(__always)
    private mutating func stepLineStart(
        _ bytes: UnsafeRawBufferPointer, at i: Int, base: UInt64
    ) -> Int? {
        let atLineStart = strict == .crlf && near == .crlf
        guard atLineStart || (strict == .text && near == .text), i < bytes.count else { return nil }
        let b = bytes[i]
        if b == MessageScanner.cr {
            guard i &+ 1 < bytes.count, bytes[i &+ 1] == MessageScanner.lf else { return nil }
            endLine(at: base &+ UInt64(i))
            return i &+ 2
        }
        guard atLineStart, b != MessageScanner.lf && b != MessageScanner.dot && b != 0 else { return nil }
        content(b)
        strict = .text
        near = .text
        return i &+ 1
    }

    /// `\r\n` at `offset`, from inside a line or a line start: both noted as breaks, both
    /// content, both machines at a line start (as `stepStrict` and `stepNear` leave them).
    @inline(never)  // off the fast path: keeps `scan` small
    private mutating func endLine(at offset: UInt64) {
        breaks.append(LineBreak(offset: offset, size: size, digest: digest))
        content(MessageScanner.cr)
        breaks.append(LineBreak(offset: offset &+ 1, size: size, digest: digest))
        content(MessageScanner.lf)
        strict = .crlf
        near = .crlf
    }

    // MARK: - Strict machine

    @inline(__always)  // a call per line end (two bytes) cost more than its body
    private mutating func content(_ b: UInt8) {
        size &+= 1
        digest.add(b)
        if headers.collecting { headers.add(b, cap: limits.maxHeaderBytes) }
    }

    /// Advances the strict machine; true when `b` completed `\r\n.\r\n`. Line breaks are
    /// content at once (the CRLF before the final dot ends the last line, RFC 5321 §4.1.1.4);
    /// only a line-start dot and a `\r` right after it wait for the next byte.
    @inline(never)  // off the fast path: keeps `scan` small
    private mutating func stepStrict(_ b: UInt8) -> Bool {
        switch strict {
        case .text:
            stepInLine(b)
        case .cr:
            stepAfterCR(b)
        case .crlf:
            if b == MessageScanner.dot { strict = .dot } else { stepInLine(b) }
        case .dot:
            // A line-start dot is dropped (dot-stuffing) unless the terminator follows.
            if b == MessageScanner.cr { strict = .dotCr } else { stepInLine(b) }
        case .dotCr:
            if b == MessageScanner.lf { return true }
            content(MessageScanner.cr)
            stepAfterCR(b)
        }
        return false
    }

    /// `b` inside a line (or at its start, not a dot).
    private mutating func stepInLine(_ b: UInt8) {
        content(b)
        strict = b == MessageScanner.cr ? .cr : .text
    }

    /// The strict machine saw a `\r` (already content) and now `b`.
    private mutating func stepAfterCR(_ b: UInt8) {
        content(b)
        strict = b == MessageScanner.lf ? .crlf : (b == MessageScanner.cr ? .cr : .text)
    }

    // MARK: - Near-miss machine

    /// Advances the near-miss machine; returns a near miss it completed and whether it ended
    /// before `b` (the `…\r` variants are known only at the byte after the `\r`).
    private mutating func stepNear(_ b: UInt8, _ offset: UInt64) -> (TerminatorInfo, Bool)? {
        switch near {
        case .text, .lf, .nul:
            afterBreak(b, offset, dotPrefix: near == .lf ? .lf : (near == .nul ? .nul : nil))
        case .cr:
            if b == MessageScanner.lf { near = .crlf } else { afterBreak(b, offset, dotPrefix: .cr) }
        case .crlf:
            if b == 0 { near = .nul } else { afterBreak(b, offset, dotPrefix: .crlf) }
        case .dot:
            if b == MessageScanner.cr {
                near = .dotCr
            } else if b == MessageScanner.lf {
                near = .lf
                let style: TerminatorStyle? =
                    switch prefix {
                    case .cr: .crLf
                    case .crlf: .crlfLf
                    case .lf: .lfLf
                    case .nul: nil
                    }
                if let style { return (info(style, suffix: 1), false) }
            } else {
                near = .text
            }
        case .dotCr:
            if b == MessageScanner.lf {
                near = .crlf
                let style: TerminatorStyle? =
                    switch prefix {
                    case .cr: .crCrlf
                    case .crlf: nil  // the strict terminator
                    case .lf: .lfCrlf
                    case .nul: .nullBefore
                    }
                if let style { return (info(style, suffix: 2), false) }
            } else {
                let style: TerminatorStyle? =
                    switch prefix {
                    case .cr: .crCr
                    case .crlf: .crlfCr
                    case .lf: .lfCr
                    case .nul: nil
                    }
                let found = style.map { info($0, suffix: 1) }
                // The `\r` after the dot is a bare CR that may begin the next candidate.
                near = .cr
                _ = stepNear(b, offset)
                if let found { return (found, true) }
            }
        }
        return nil
    }

    /// After a line break (or none: `dotPrefix` nil), `b` decides the next state.
    private mutating func afterBreak(_ b: UInt8, _ offset: UInt64, dotPrefix: Prefix?) {
        if b == MessageScanner.cr {
            near = .cr
        } else if b == MessageScanner.lf {
            near = .lf
        } else if b == MessageScanner.dot, let dotPrefix {
            near = .dot
            prefix = dotPrefix
            dotOffset = offset
        } else {
            near = .text
        }
    }

    private func info(_ style: TerminatorStyle, suffix: Int) -> TerminatorInfo {
        let before: Int =
            switch prefix {
            case .cr, .lf: 1
            case .crlf: 2
            case .nul: 3
            }
        return TerminatorInfo(style: style, offset: dotOffset &- UInt64(before), length: before + 1 + suffix)
    }

    /// Remembers the content read before the break at `offset`. A held line-start dot is not
    /// counted (stuffing, or part of a near miss); a held `\r` after it is, as it is content
    /// unless `offset` holds the `\n` that completes the strict terminator (the message ends).
    @inline(never)  // off the fast path: keeps `scan` small
    private mutating func noteBreak(at offset: UInt64) {
        var s = size
        var d = digest
        if strict == .dotCr {
            s &+= 1
            d.add(MessageScanner.cr)
        }
        breaks.append(LineBreak(offset: offset, size: s, digest: d))
    }

    /// Notes a near miss; true when it is to be reported.
    @inline(never)  // off the fast path: keeps `scan` small
    private mutating func recordNearMiss(_ found: TerminatorInfo) -> Bool {
        if firstNearMiss == nil {
            let before = breaks.entry(at: found.offset)
            firstNearMiss = (found, before?.size ?? size, (before?.digest ?? digest).hex)
            afterNearMissOffset = found.offset &+ UInt64(found.length)
        }
        nearMissCount += 1
        return nearMissCount <= limits.maxNearMissesPerMessage
    }

    /// Keeps the bytes of `range` that lie after the first near miss, up to the cap.
    @inline(__always)
    private mutating func retain(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, base: UInt64) {
        if firstNearMiss != nil { retainAfterNearMiss(bytes, range, base: base) }
    }

    @inline(never)  // off the fast path: keeps `scan` small
    private mutating func retainAfterNearMiss(
        _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, base: UInt64
    ) {
        guard !range.isEmpty else { return }
        var lower = range.lowerBound
        let firstOffset = base &+ UInt64(lower)
        if firstOffset < afterNearMissOffset {
            let skip = afterNearMissOffset &- firstOffset
            guard skip < UInt64(range.count) else { return }
            lower += Int(skip)
        }
        let room = max(0, limits.maxSmuggledBytes - afterNearMiss.count)
        let take = min(room, range.upperBound - lower)
        if take > 0 { afterNearMiss.append(contentsOf: bytes[lower..<(lower + take)]) }
        if take < range.upperBound - lower { afterNearMissComplete = false }
    }
}

/// The message as it was just before a `\r` or `\n` byte.
private struct LineBreak {
    var offset: UInt64 = 0
    var size: UInt64 = 0
    var digest = Fingerprint()
}

/// The last four `LineBreak`s, held inline so that a message never allocates for them.
private struct BreakRing {
    private var entries = (LineBreak(), LineBreak(), LineBreak(), LineBreak())
    /// Entries written so far (at most 4 count) and the slot the next one overwrites.
    private var count = 0
    private var next = 0

    /// Forgets every entry (those left in place are never read: see `count`).
    mutating func removeAll() {
        count = 0
        next = 0
    }

    mutating func append(_ entry: LineBreak) {
        switch next {
        case 0: entries.0 = entry
        case 1: entries.1 = entry
        case 2: entries.2 = entry
        default: entries.3 = entry
        }
        next = (next &+ 1) & 3
        count = min(count &+ 1, 4)
    }

    /// The entry of the break at `offset`, if it is one of the last four (offsets are distinct).
    func entry(at offset: UInt64) -> LineBreak? {
        if count > 0, entries.0.offset == offset { return entries.0 }
        if count > 1, entries.1.offset == offset { return entries.1 }
        if count > 2, entries.2.offset == offset { return entries.2 }
        if count > 3, entries.3.offset == offset { return entries.3 }
        return nil
    }
}

/// The few ``SMTPOptions`` limits the message scanner reads (a copy of the whole options at
/// every chunk cost more than reading them).
struct ScanLimits: Sendable, Hashable {
    var maxHeaderBytes: Int
    var maxNearMissesPerMessage: Int
    var maxSmuggledBytes: Int

    init(_ options: SMTPOptions) {
        maxHeaderBytes = options.maxHeaderBytes
        maxNearMissesPerMessage = options.maxNearMissesPerMessage
        maxSmuggledBytes = options.maxSmuggledBytes
    }
}
