/// Bytes of text a session hands out (command arguments, reply lines), kept in a store the
/// session reuses. Written only at its tail: the bytes of every range already handed out stay
/// as they are for as long as anything references the store, and the session starts writing
/// from the front again only when nothing but itself references it (`isKnownUniquelyReferenced`).
/// One fixed-capacity allocation: a larger need gets a new store, so nothing ever moves.
@usableFromInline
final class TextStore: ManagedBuffer<TextStore.Header, UInt8> {
    @usableFromInline
    struct Header {
        var used: Int
        /// Bytes allocated (kept here: `ManagedBuffer.capacity` asks malloc every time).
        let capacity: Int
    }

    static func make(capacity: Int) -> TextStore {
        let size = max(16, capacity)
        return unsafeDowncast(TextStore.create(minimumCapacity: size) { _ in Header(used: 0, capacity: size) }, to: TextStore.self)
    }

    // The header is read and written through its pointer: `header` itself is a class
    // property, checked for exclusive access at run time on every use.
    var used: Int {
        get { withUnsafeMutablePointerToHeader { $0.pointee.used } }
        set { withUnsafeMutablePointerToHeader { $0.pointee.used = newValue } }
    }

    var size: Int { withUnsafeMutablePointerToHeader { $0.pointee.capacity } }

    var room: Int { withUnsafeMutablePointerToHeader { $0.pointee.capacity &- $0.pointee.used } }

    /// Appends `bytes` (as many as fit); returns where they start.
    @inline(__always)
    func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        withUnsafeMutablePointers { header, base in
            let start = header.pointee.used
            let count = min(bytes.count, header.pointee.capacity &- start)
            if count > 0, let source = bytes.baseAddress {
                UnsafeMutableRawPointer(base + start).copyMemory(from: source, byteCount: count)
            }
            header.pointee.used = start &+ count
            return start
        }
    }

    /// `count` bytes at `start`, valid only while something keeps this store alive.
    @inlinable @inline(__always)
    func bytes(_ start: Int, _ count: Int) -> UnsafeRawBufferPointer {
        withUnsafeMutablePointerToElements { UnsafeRawBufferPointer(start: $0 + start, count: count) }
    }

    @inlinable @inline(__always)
    func withBytes<R>(_ start: Int, _ count: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeMutablePointerToElements { base in
            body(UnsafeRawBufferPointer(start: base + start, count: count))
        }
    }
}

/// SMTP text carried by an event: a command's argument or a reply's lines. Either a `String`
/// (built by a caller) or bytes in the session's reusable store, from which a `String` is made
/// only when asked for, so text that nobody reads costs no allocation. Compares and hashes as
/// the `String` it stands for.
public struct SMTPText: Sendable, Hashable, CustomStringConvertible {
    // @unchecked: bytes a value refers to are never written again (see `TextStore`); the
    // store's header (bytes used) is touched only by the session that owns it.
    @usableFromInline
    enum Storage: @unchecked Sendable {
        case string(String)
        case stored(TextStore, start: Int32, count: Int32)
    }
    @usableFromInline
    var storage: Storage

    /// Text given as a string.
    public init(_ string: String) { storage = .string(string) }

    init(store: TextStore, start: Int, count: Int) {
        storage = .stored(store, start: Int32(truncatingIfNeeded: start), count: Int32(truncatingIfNeeded: count))
    }

    /// The text as a `String` (the bytes decoded as UTF-8, invalid sequences repaired).
    public var string: String {
        switch storage {
        case .string(let s): return s
        case .stored(let store, let start, let count):
            return store.withBytes(Int(start), Int(count)) { String(decoding: $0, as: UTF8.self) }
        }
    }

    public var description: String { string }

    /// Calls `body` with the text's UTF-8 bytes, valid only during the call. Inlinable: called
    /// from other modules for every text they read, where a generic call cost ~600 instructions.
    @inlinable
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        // Stored text (the usual): its bytes found first and `body` called after, so that the
        // store bound on the way is let go before the call and never retained across it
        // (a retain and release per call otherwise). This text holds the store for the call.
        if let bytes = storedBytes { return body(bytes) }
        guard case .string(var s) = storage else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return s.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    /// ``withBytes(_:)`` of the text at `text`, read where it lies (nil when there is none):
    /// a text copied out of a record for the call cost a retain and release of its store.
    /// Whatever holds `text` must stay as it is during the call (`body` must not change it).
    @inlinable
    public static func withBytes<R>(of text: UnsafePointer<SMTPText?>, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        if let bytes = text.pointee?.storedBytes { return body(bytes) }
        guard let copy = text.pointee else { return nil }
        return copy.withBytes(body)
    }

    /// Where a stored text's bytes lie (nil for a `String` text). Valid only while this text
    /// (which keeps the store alive) is: for use within one call, never kept.
    @inlinable
    var storedBytes: UnsafeRawBufferPointer? {
        guard case .stored(let store, let start, let count) = storage else { return nil }
        return store.bytes(Int(start), Int(count))
    }

    public static func == (a: SMTPText, b: SMTPText) -> Bool { a.string == b.string }
    public func hash(into hasher: inout Hasher) { hasher.combine(string) }
}

/// Where a session (or a record keeper) keeps the text it hands out: one store, reused from
/// its front when no event, queued command, reply or record still refers to it, else
/// appended to, else replaced. Text handed out never moves and is never overwritten while
/// anything refers to it.
public struct TextArena {
    private var store: TextStore?
    private let initialCapacity: Int
    /// A store that fills up is replaced by one twice its size (up to `maxCapacity`), else
    /// by one of the same size.
    private let grows: Bool
    /// A store larger than this is let go by ``recycle()`` rather than kept for reuse.
    private let maxCapacity: Int
    /// Where ``lend()`` puts the store, and where a store of the first size is taken from
    /// before one is made (nil: no pool). Not retained here (a retain and release per use):
    /// the session that sets it keeps the pool alive.
    unowned(unsafe) var pool: SessionStoragePool?

    init(initialCapacity: Int) {
        self.initialCapacity = initialCapacity
        grows = false
        maxCapacity = .max
    }

    /// An arena whose first store holds `initialCapacity` bytes and doubles as it fills, up
    /// to `maxCapacity` (a larger need still gets a store that fits); ``recycle()`` keeps no
    /// store larger than `maxCapacity`.
    public init(initialCapacity: Int, maxCapacity: Int) {
        self.initialCapacity = initialCapacity
        grows = true
        self.maxCapacity = max(initialCapacity, maxCapacity)
    }

    /// Starts over from the front if nothing else refers to the store (every range handed
    /// out is then dead). Returns whether it did. A store something still refers to is only
    /// appended to (its texts stay as they are).
    @discardableResult
    public mutating func recycle() -> Bool {
        guard store != nil, isKnownUniquelyReferenced(&store) else { return false }
        if let size = store?.size, size > maxCapacity {
            store = nil
            return false
        }
        store?.used = 0
        return true
    }

    /// Copies `bytes` in; the text stays valid for as long as it is referenced.
    public mutating func text(_ bytes: UnsafeRawBufferPointer) -> SMTPText {
        // Nearly always the current store has room: checked and written in one go.
        if let store {
            let count = bytes.count
            let start = store.withUnsafeMutablePointers { header, base -> Int in
                let at = header.pointee.used
                guard header.pointee.capacity &- at >= count else { return -1 }
                if count > 0, let source = bytes.baseAddress { UnsafeMutableRawPointer(base + at).copyMemory(from: source, byteCount: count) }
                header.pointee.used = at &+ count
                return at
            }
            if start >= 0 { return SMTPText(store: store, start: start, count: count) }
        }
        let (store, _) = storeWithRoom(bytes.count, keeping: nil)
        let start = store.append(bytes)
        return SMTPText(store: store, start: start, count: bytes.count)
    }

    /// `text`'s bytes copied in (a `String` text stays as it is: it is already kept).
    public mutating func copy(_ text: SMTPText) -> SMTPText {
        // Read where it lies (no generic call through `withBytes`).
        // Bytes found first, then copied: the source store is not retained across the copy.
        guard let bytes = text.storedBytes else { return text }
        return self.text(bytes)
    }

    /// `count` bytes written in place by `body` (which returns how many it wrote, at most
    /// `count`); the text stays valid for as long as it is referenced.
    public mutating func text(count: Int, _ body: (UnsafeMutableRawBufferPointer) -> Int) -> SMTPText {
        let (store, _) = storeWithRoom(count, keeping: nil)
        let start = store.used
        let written = store.withUnsafeMutablePointers { header, base in
            let n = min(count, max(0, body(UnsafeMutableRawBufferPointer(start: base + start, count: count))))
            header.pointee.used = start &+ n
            return n
        }
        return SMTPText(store: store, start: start, count: written)
    }

    /// A store with `count` bytes of room; `keeping` (a range at the current store's tail
    /// that the caller is still growing) is copied to the front of a new, larger store when
    /// the current one is out of room. Returns the store and where the kept range now starts.
    mutating func storeWithRoom(_ count: Int, keeping: (start: Int, count: Int)?) -> (store: TextStore, keptStart: Int) {
        if let store, store.room >= count { return (store, keeping?.start ?? 0) }
        if store == nil, keeping == nil, count <= initialCapacity, let lent = pool?.take(size: initialCapacity) {
            store = lent
            return (lent, 0)
        }
        let kept = keeping?.count ?? 0
        let previous = store.map { grows ? min(2 * $0.size, maxCapacity) : $0.size } ?? 0
        let fresh = TextStore.make(capacity: max(initialCapacity, 2 * (kept + count), previous))
        if let keeping, let old = store {
            old.withBytes(keeping.start, keeping.count) { _ = fresh.append($0) }
        }
        store = fresh
        return (fresh, 0)
    }

    /// The store text is written to now (nil before the first text).
    var current: TextStore? { store }

    /// Bytes the current store holds (0 without one).
    var storeSize: Int { store?.size ?? 0 }

    /// Lets the store go when a rare large text grew it past `limit` bytes, so that what is
    /// kept for later texts is not sized for that one: the next text starts a store of the
    /// initial size. Texts already handed out keep their store alive.
    mutating func release(ifLargerThan limit: Int) {
        if let size = store?.size, size > limit { store = nil }
    }

    /// Whether a store has been allocated (an arena starts without one).
    public var hasStore: Bool { store != nil }

    /// Hands the store to ``pool`` (emptied) when nothing else refers to it and it has the
    /// first size: the arena holds no store until its next text, which takes one from the
    /// pool. Returns whether it did. For a holder that may wait long before writing text
    /// again (a session waiting for the reply to its end of data: a stalled connection
    /// waits out the client's timeout, tens of seconds).
    @discardableResult
    mutating func lend() -> Bool {
        // Moved out, not copied: a retain and a release less.
        guard let pool, store != nil, isKnownUniquelyReferenced(&store), let lent = store.take() else { return false }
        guard lent.size == initialCapacity else {
            store = consume lent
            return false
        }
        lent.used = 0
        pool.keep(consume lent)
        return true
    }

    /// `lines` copied in (strings stay as they are: they are already kept).
    public mutating func copy(_ lines: ReplyLines) -> ReplyLines {
        guard case .stored = lines.storage else { return lines }
        var copied: ReplyLines?
        lines.forEachLine { (line: UnsafeRawBufferPointer) -> Void in copied = appending(line: line, to: copied) }
        return copied ?? lines
    }

    /// `lines` joined by one space (``ReplyLines/joined()``), after `code` and a space when
    /// given (``ReplyLines/joined(after:)`` of `"\(code) "`), written here in one go.
    public mutating func joined(_ lines: ReplyLines, code: Int? = nil) -> SMTPText {
        let digits = code.map { Self.digitCount($0) } ?? 0
        guard case .stored(_, _, let used, let n) = lines.storage, digits >= 0, lines.isASCII else {
            return SMTPText(code.map { lines.joined(after: String($0) + " ") } ?? lines.joined())
        }
        let prefix = code == nil ? 0 : digits + 1
        let total = prefix + max(0, Int(used) - 4 * Int(n)) + max(0, Int(n) - 1)
        return text(count: total) { out in
            var at = 0
            if let code {
                var value = code
                for index in stride(from: digits - 1, through: 0, by: -1) where index < out.count {
                    out[index] = UInt8(truncatingIfNeeded: 0x30 + value % 10)
                    value /= 10
                }
                at = digits
                if at < out.count {
                    out[at] = 0x20
                    at += 1
                }
            }
            var first = true
            lines.forEachLine { (line: UnsafeRawBufferPointer) -> Void in
                if !first, at < out.count {
                    out[at] = 0x20
                    at += 1
                }
                first = false
                let count = min(line.count, out.count - at)
                if count > 0, let source = line.baseAddress, let target = out.baseAddress {
                    (target + at).copyMemory(from: source, byteCount: count)
                    at += count
                }
            }
            return at
        }
    }

    /// Decimal digits of a non-negative `value`; -1 for a negative one.
    private static func digitCount(_ value: Int) -> Int {
        guard value >= 0 else { return -1 }
        var count = 1
        var rest = value / 10
        while rest > 0 {
            count += 1
            rest /= 10
        }
        return count
    }

    /// The lines `bytes[ranges[k].0 ..< ranges[k].1]`, written in one go (as many calls of
    /// ``appending(line:to:)`` would write them, the first with no lines). At least one range;
    /// each within `bytes`.
    mutating func lines(_ ranges: UnsafeBufferPointer<(Int, Int)>, in bytes: UnsafeRawBufferPointer) -> ReplyLines {
        var need = 0
        for range in ranges { need &+= 4 &+ max(0, range.1 &- range.0) }
        let target: TextStore
        if let store, store.room >= need { target = store } else { target = storeWithRoom(need, keeping: nil).store }
        let start = target.withUnsafeMutablePointers { header, base -> Int in
            let at = header.pointee.used
            // `storeWithRoom` gives a store with room for `need`; checked all the same.
            guard header.pointee.capacity &- at >= need, let source = bytes.baseAddress else { return -1 }
            var out = UnsafeMutableRawPointer(base + at)
            for range in ranges {
                let count = max(0, range.1 &- range.0)
                out.storeBytes(of: UInt32(truncatingIfNeeded: count).littleEndian, as: UInt32.self)
                if count > 0 { (out + 4).copyMemory(from: source + range.0, byteCount: count) }
                out += 4 &+ count
            }
            header.pointee.used = at &+ need
            return at
        }
        guard start >= 0 else {
            var lines: ReplyLines?
            for range in ranges { lines = appending(line: UnsafeRawBufferPointer(rebasing: bytes[range.0..<range.1]), to: lines) }
            return lines ?? ReplyLines([])
        }
        return ReplyLines(store: target, start: start, bytes: need, lines: ranges.count)
    }

    /// `lines` with one more line, `bytes`. Lines that are not the last text this arena
    /// handed out (a reply is built line by line before the next one starts) are copied
    /// as strings.
    public mutating func appending(line bytes: UnsafeRawBufferPointer, to lines: ReplyLines?) -> ReplyLines {
        let count = min(bytes.count, Int(UInt32.max))
        let need = 4 + count
        var keeping: (start: Int, count: Int)?
        var lineCount = 0
        if let lines, lines.count > 0 {
            guard case .stored(let old, let start, let used, let n) = lines.storage, old === store,
                Int(start) + Int(used) == old.used
            else {
                return ReplyLines(lines.strings + [String(decoding: bytes, as: UTF8.self)])
            }
            keeping = (Int(start), Int(used))
            lineCount = Int(n)
        }
        // Nearly always the current store has room (checked here: no call, no store returned).
        let target: TextStore
        let keptStart: Int
        if let store, store.room >= need {
            target = store
            keptStart = keeping?.start ?? 0
        } else {
            (target, keptStart) = storeWithRoom(need, keeping: keeping)
        }
        let start = keeping == nil ? target.used : keptStart
        // Prefix and bytes written in one go (the store has room for both: see `storeWithRoom`).
        target.withUnsafeMutablePointers { header, base in
            let at = header.pointee.used
            guard header.pointee.capacity &- at >= need else {
                var prefix = UInt32(count).littleEndian
                withUnsafeBytes(of: &prefix) { _ = target.append($0) }
                _ = target.append(UnsafeRawBufferPointer(rebasing: bytes[0..<count]))
                return
            }
            let out = UnsafeMutableRawPointer(base + at)
            out.storeBytes(of: UInt32(count).littleEndian, as: UInt32.self)
            if count > 0, let source = bytes.baseAddress { (out + 4).copyMemory(from: source, byteCount: count) }
            header.pointee.used = at &+ need
        }
        return ReplyLines(store: target, start: start, bytes: (keeping?.count ?? 0) + need, lines: lineCount + 1)
    }
}

/// The lines of a reply: strings, or in the session's store (each line's byte count as 4
/// bytes little-endian, then its bytes), from which strings are made only when asked for.
/// Compares and hashes as ``strings``.
public struct ReplyLines: Sendable, Hashable {
    // @unchecked: as `SMTPText.Storage`.
    @usableFromInline
    enum Storage: @unchecked Sendable {
        case strings([String])
        case stored(TextStore, start: Int32, bytes: Int32, lines: Int32)
    }
    @usableFromInline
    var storage: Storage

    /// Inlinable: other modules make empty lists per transaction, a call each otherwise.
    @inlinable
    public init(_ lines: [String]) { storage = .strings(lines) }

    init(store: TextStore, start: Int, bytes: Int, lines: Int) {
        storage = .stored(
            store, start: Int32(truncatingIfNeeded: start), bytes: Int32(truncatingIfNeeded: bytes),
            lines: Int32(truncatingIfNeeded: lines))
    }

    /// Number of lines.
    public var count: Int {
        switch storage {
        case .strings(let lines): return lines.count
        case .stored(_, _, _, let lines): return Int(lines)
        }
    }

    /// Each line as a `String`.
    public var strings: [String] {
        switch storage {
        case .strings(let lines): return lines
        case .stored(_, _, _, let n):
            var lines: [String] = []
            lines.reserveCapacity(Int(n))
            forEachLine { lines.append(String(decoding: $0, as: UTF8.self)) }
            return lines
        }
    }

    /// The first line, if any.
    public var first: String? {
        var result: String?
        forEachLine(while: {
            result = String(decoding: $0, as: UTF8.self)
            return false
        })
        return result
    }

    /// The lines joined by one space (`strings.joined(separator: " ")`), built in one go.
    public func joined() -> String { joined(after: "") }

    /// `prefix` then the lines joined by one space (`prefix + strings.joined(separator: " ")`),
    /// built in one go.
    public func joined(after prefix: String) -> String {
        guard case .stored(_, _, let used, let n) = storage else { return prefix + strings.joined(separator: " ") }
        // Decoding lines one by one may repair a cut UTF-8 sequence differently than decoding
        // them joined: only ASCII text is joined as bytes.
        guard isASCII else { return prefix + strings.joined(separator: " ") }
        var prefix = prefix
        let total = prefix.utf8.count + max(0, Int(used) - 4 * Int(n)) + max(0, Int(n) - 1)
        return String(unsafeUninitializedCapacity: total) { out in
            var at = 0
            prefix.withUTF8 { head in
                for b in head where at < out.count {
                    out[at] = b
                    at += 1
                }
            }
            var first = true
            forEachLine { (line: UnsafeRawBufferPointer) -> Void in
                if !first, at < out.count {
                    out[at] = 0x20
                    at += 1
                }
                first = false
                for b in line where at < out.count {
                    out[at] = b
                    at += 1
                }
            }
            return at
        }
    }

    /// Every byte of every line is ASCII (eight at a time).
    var isASCII: Bool {
        var ascii = true
        forEachLine(while: { line in
            ascii = Self.isASCII(line)
            return ascii
        })
        return ascii
    }

    /// Whether some line may hold the ASCII letter `letter` (lower case) in either case: false
    /// means none does; true may also come from the store's length prefixes.
    public func mayContainLetter(_ letter: UInt8) -> Bool {
        switch storage {
        case .strings(let lines):
            for var line in lines where line.withUTF8({ ByteScan.containsLetter(letter, in: UnsafeRawBufferPointer($0)) }) {
                return true
            }
            return false
        case .stored(let store, let start, let used, _):
            return store.withBytes(Int(start), Int(used)) { ByteScan.containsLetter(letter, in: $0) }
        }
    }

    /// Whether a line starting with `byte` may be a masked keyword (`XXXXXXXA` for STARTTLS,
    /// in any case) as Characters read it: `x` or `X`, or a byte that is no printable ASCII
    /// (its Character may upper-case to anything). Lines starting otherwise are none.
    @inlinable @inline(__always)
    public static func mayStartMaskedKeyword(_ byte: UInt8) -> Bool {
        byte | 0x20 == UInt8(ascii: "x") || byte >= 0x7F || byte < 0x20
    }

    /// Whether the first byte of some line passes `test` (an empty line has none). One pass
    /// over the length prefixes: no line is handed out. Inlinable: asked of every reply by
    /// other modules, with a test that is a few instructions once inlined.
    @inlinable
    public func someLineStarts(where test: (UInt8) -> Bool) -> Bool {
        if let bytes = storedBytes {
            var i = 0
            while i + 4 <= bytes.count {
                let count = Int(bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian)
                if count > 0 && i + 4 < bytes.count && test(bytes[i + 4]) { return true }
                i = i + 4 + count
            }
            return false
        }
        guard case .strings(let lines) = storage else { return false }
        for line in lines { if let first = line.utf8.first, test(first) { return true } }
        return false
    }

    /// Calls `body` with each line's bytes (valid only during the call) while it returns true.
    @inlinable
    public func forEachLine(while body: (UnsafeRawBufferPointer) -> Bool) {
        // Stored lines (the usual) found first, as in `SMTPText.withBytes`: no retain and
        // release of the store around the calls.
        if let bytes = storedBytes {
            var i = 0
            while i + 4 <= bytes.count {
                let count = Int(bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian)
                let end = min(bytes.count, i + 4 + count)
                guard body(UnsafeRawBufferPointer(rebasing: bytes[(i + 4)..<end])) else { return }
                i = end
            }
            return
        }
        guard case .strings(let lines) = storage else { return }
        for var line in lines {
            guard line.withUTF8({ body(UnsafeRawBufferPointer($0)) }) else { return }
        }
    }

    /// Where stored lines lie, length prefixes and all (nil for strings). Valid only while
    /// these lines (which keep the store alive) are: for use within one call, never kept.
    @inlinable
    var storedBytes: UnsafeRawBufferPointer? {
        guard case .stored(let store, let start, let used, _) = storage else { return nil }
        return store.bytes(Int(start), Int(used))
    }

    /// Calls `body` with each line's bytes (valid only during the call).
    public func forEachLine(_ body: (UnsafeRawBufferPointer) -> Void) {
        forEachLine(while: { (line: UnsafeRawBufferPointer) -> Bool in
            body(line)
            return true
        })
    }

    public static func == (a: ReplyLines, b: ReplyLines) -> Bool { a.strings == b.strings }
    public func hash(into hasher: inout Hasher) { hasher.combine(strings) }
}

extension ReplyLines {
    /// The position of the first line (the last with `last`) that equals `bytes` as their
    /// `String`s compare (``strings``' `firstIndex(of:)`/`lastIndex(of:)`), nil when none.
    /// ASCII against ASCII is compared as bytes (the same answer, no string made); other
    /// text as `String`s, where canonically equivalent texts are equal.
    public func index(ofLine bytes: UnsafeRawBufferPointer, last: Bool = false) -> Int? {
        let asciiTarget = Self.isASCII(bytes)
        var target: String?
        var found: Int?
        var index = 0
        forEachLine { (line: UnsafeRawBufferPointer) -> Void in
            defer { index += 1 }
            if found != nil && !last { return }
            let equal: Bool
            if asciiTarget && Self.isASCII(line) {
                equal = line.count == bytes.count && line.elementsEqual(bytes)
            } else {
                if target == nil { target = String(decoding: bytes, as: UTF8.self) }
                equal = String(decoding: line, as: UTF8.self) == target
            }
            if equal { found = index }
        }
        return found
    }

    /// Calls `body` with each line's bytes in ascending byte order (equal lines each once, in
    /// turn), valid only during the call. Lines kept in a store are ordered in place (at most
    /// `maxInPlace` of them; more are copied into an array first).
    public func forEachLineInByteOrder(_ body: (UnsafeRawBufferPointer) -> Void) {
        let maxInPlace = 16
        guard case .stored(let store, let start, let used, let n) = storage, Int(n) <= maxInPlace else {
            var lines: [[UInt8]] = []
            forEachLine { lines.append(Array($0)) }
            for line in lines.sorted(by: { $0.lexicographicallyPrecedes($1) }) { line.withUnsafeBytes(body) }
            return
        }
        store.withBytes(Int(start), Int(used)) { bytes in
            withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: maxInPlace) { ranges in
                var count = 0
                var i = 0
                while i + 4 <= bytes.count && count < maxInPlace {
                    let length = Int(bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian)
                    let end = min(bytes.count, i + 4 + length)
                    ranges[count] = (i + 4)..<end
                    count += 1
                    i = end
                }
                // Each round the least line not yet given (selection: at most 16 lines).
                var given: UInt32 = 0
                for _ in 0..<count {
                    var best = -1
                    for index in 0..<count where given & (1 << UInt32(index)) == 0 {
                        if best < 0 || UnsafeRawBufferPointer(rebasing: bytes[ranges[index]])
                            .lexicographicallyPrecedes(UnsafeRawBufferPointer(rebasing: bytes[ranges[best]]))
                        {
                            best = index
                        }
                    }
                    guard best >= 0 else { return }
                    given |= 1 << UInt32(best)
                    body(UnsafeRawBufferPointer(rebasing: bytes[ranges[best]]))
                }
            }
        }
    }

    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let n = bytes.count
        var i = 0
        while i &+ 8 <= n {
            if base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            i &+= 8
        }
        while i < n {
            if base.load(fromByteOffset: i, as: UInt8.self) >= 0x80 { return false }
            i &+= 1
        }
        return true
    }
}

extension TextArena {
    /// `lines` without the line at `index`, the others copied in (strings stay strings).
    public mutating func removing(line index: Int, from lines: ReplyLines) -> ReplyLines {
        guard case .stored = lines.storage else {
            var strings = lines.strings
            if strings.indices.contains(index) { strings.remove(at: index) }
            return ReplyLines(strings)
        }
        var kept: ReplyLines?
        var at = 0
        lines.forEachLine { (line: UnsafeRawBufferPointer) -> Void in
            if at != index { kept = appending(line: line, to: kept) }
            at += 1
        }
        return kept ?? ReplyLines([])
    }
}

/// Storage lent by sessions that wait for a reply (text stores, ``TextArena/lend()``; the
/// pending-reply slots, ``PendingQueue/pushParked(endOfData:)``) for the next session that needs it,
/// and the header store they all share: a connection left waiting holds little of its
/// session's storage, and the sessions that go on take it back without an allocation.
/// Two sizes (a session's first sizes; a store of a third is not kept), at most ``limit``
/// of each (more are let go); one pool serves the sessions of one thread (a stage's
/// trackers), never two threads at once.
public final class SessionStoragePool {
    /// Stores (and slot arrays) of each size kept: what covers the swings of waiting
    /// sessions (1 GiB capture: 58 allocations per 100,000 frames with 32 or 64, 118 with
    /// 16), and what is held at the peak stays small (32 cut the 1 GiB heap peak ~20 KB).
    public static let limit = 32
    // Per pool: the sizes kept (0: none yet) and how many of each; two stacks of retained
    // stores, the first size's then the second's (no array: no copy-on-write checks, and a
    // store moves in and out with one retain or release).
    @exclusivity(unchecked) private var sizes: (Int, Int) = (0, 0)
    @exclusivity(unchecked) private var counts: (Int, Int) = (0, 0)
    private let stacks: UnsafeMutablePointer<Unmanaged<TextStore>>
    /// Pending-reply slots lent by waiting sessions (``PendingQueue/pushParked(endOfData:)``), at most ``limit``.
    private let slotStack: UnsafeMutablePointer<[PendingQueue.Entry]>
    @exclusivity(unchecked) private var slotCount = 0
    /// The header store of every session using this pool: a session writes header values
    /// only as its message ends, and whoever takes the summary reads them then.
    @exclusivity(unchecked) var headerText = TextArena(initialCapacity: 512)

    public init() {
        stacks = .allocate(capacity: 2 * Self.limit)
        slotStack = .allocate(capacity: Self.limit)
    }

    deinit {
        for index in 0..<counts.0 { stacks[index].release() }
        for index in 0..<counts.1 { stacks[Self.limit + index].release() }
        stacks.deallocate()
        slotStack.deinitialize(count: slotCount)
        slotStack.deallocate()
    }

    /// Keeps a queue's slots (every one empty) unless ``limit`` are kept.
    func keep(slots: consuming [PendingQueue.Entry]) {
        guard slotCount < Self.limit else { return }
        (slotStack + slotCount).initialize(to: slots)
        slotCount &+= 1
    }

    /// A queue's empty slots, if some are kept.
    func takeSlots() -> [PendingQueue.Entry]? {
        guard slotCount > 0 else { return nil }
        slotCount &-= 1
        return (slotStack + slotCount).move()
    }

    /// Slot arrays kept (tests).
    var slotArrays: Int { slotCount }

    /// A store of `size` bytes, emptied, if one is kept.
    @inline(__always)
    func take(size: Int) -> TextStore? {
        if size == sizes.0, counts.0 > 0 {
            counts.0 &-= 1
            return stacks[counts.0].takeRetainedValue()
        }
        if size == sizes.1, counts.1 > 0 {
            counts.1 &-= 1
            return stacks[Self.limit &+ counts.1].takeRetainedValue()
        }
        return nil
    }

    /// Keeps `store` (emptied, referred to by nothing else) unless ``limit`` of its size
    /// are kept, or it has a third size.
    func keep(_ store: consuming TextStore) {
        let size = store.size
        if sizes.0 == 0 { sizes.0 = size }
        if size == sizes.0 {
            guard counts.0 < Self.limit else { return }
            stacks[counts.0] = .passRetained(store)
            counts.0 &+= 1
            return
        }
        if sizes.1 == 0 { sizes.1 = size }
        if size == sizes.1, counts.1 < Self.limit {
            stacks[Self.limit &+ counts.1] = .passRetained(store)
            counts.1 &+= 1
        }
    }

    /// Stores of `size` bytes kept (tests).
    func count(size: Int) -> Int {
        size == sizes.0 ? counts.0 : size == sizes.1 ? counts.1 : 0
    }
}
