/// ``MessageTable``'s records, each a varint length and its bytes, in pages of
/// ``pageSize`` bytes: the last page is written raw; a full page is sealed, packed with
/// ``PageCoding`` (about half its size for generated mail envelopes, whose domains,
/// local-part words and view bytes repeat) and kept at exactly that size. A record is
/// found by its 32-bit offset, page << 13 | position (at most ``maxPages`` pages, 4 GiB
/// of records unpacked; ``isFull`` says when to make room), and read from the page unpacked into a
/// reused buffer (the last few pages read are kept unpacked: looking up a retried message
/// unpacks its page, a few microseconds, unless it was read lately). Records never straddle
/// pages; one larger than a page gets a page of its own.
///
/// Why pages and not one growing array: the arena is the only structure of the analysis
/// that grows with the number of distinct messages (about 20,000 a GiB of generated
/// capture), and packing sealed pages halves it; fixed-size pages are also never copied to grow.
struct RecordArena: Sendable {
    static let positionBits = 13
    static let pageSize = 1 << positionBits

    /// Pages the offsets can number (the last offset, `UInt32.max`, is never a record's).
    let maxPages: Int

    init(maxPages: Int = 1 << (32 - RecordArena.positionBits)) {
        self.maxPages = min(max(maxPages, 4), 1 << (32 - Self.positionBits))
    }

    /// True when the next record might not get an offset: the owner must compact or forget
    /// records first. (An append seals at most two pages.)
    var isFull: Bool { sealed.count + 3 >= maxPages }

    /// Sealed pages: packed, or raw when packing would not make them smaller.
    private var sealed: [[UInt8]] = []
    private var isPacked: [Bool] = []
    /// The page being written (number `sealed.count`).
    private var open: [UInt8] = []
    /// The sealed pages unpacked last (a retried message's page is often read again soon:
    /// for its lookup, then for its garbage count, then for the next retry).
    private var unpacked = UnpackedPages()
    /// Reused by sealing: the packed bytes and the packer's hash table.
    private var packer = PageCoding.Packer()

    /// Bytes allocated for the pages, packed or not (the unpacking buffer and the packer not counted).
    var capacity: Int { sealed.reduce(open.capacity) { $0 + $1.capacity } }
    /// Pages sealed so far, and how many of them were packed (for tests and benchmarks).
    var sealedPages: Int { sealed.count }
    var packedPages: Int { isPacked.filter { $0 }.count }

    /// Appends a record (`body` with its length prefix) and returns its offset and its size in bytes.
    mutating func append(_ body: [UInt8]) -> (offset: UInt32, size: Int) {
        var size = body.count + 1
        var rest = body.count >> 7
        while rest > 0 { size += 1; rest >>= 7 }
        if open.count + size > Self.pageSize && !open.isEmpty { seal() }
        if open.capacity < Self.pageSize { open.reserveCapacity(Self.pageSize) }
        let offset = Self.offset(page: sealed.count, position: open.count)
        open.appendVarint(UInt64(body.count))
        open.append(contentsOf: body)
        // A record larger than a page leaves it at once: the next record starts a fresh page.
        if open.count >= Self.pageSize { seal() }
        return (offset, size)
    }

    /// Reads the record at `offset` (its length prefix first). A bad offset reads as an empty buffer.
    mutating func read<T>(at offset: UInt32, _ body: (inout ByteReader) -> T) -> T {
        let page = Int(offset >> UInt32(Self.positionBits)), position = Int(offset) & (Self.pageSize - 1)
        if page == sealed.count { return Self.read(open, at: position, body) }
        guard page >= 0 && page < sealed.count else { return Self.read([], at: position, body) }
        guard isPacked[page] else { return Self.read(sealed[page], at: position, body) }
        let slot = unpacked.slot(of: page) ?? unpacked.fill(page: page, from: sealed[page])
        return unpacked.read(slot, at: position, body)
    }

    /// Unpacking counts of ``read(at:_:)`` (tests and benchmarks).
    var pagesUnpacked: Int { unpacked.unpackings }

    /// Bytes of the record at `offset`, its length prefix included.
    mutating func recordSize(at offset: UInt32) -> Int {
        read(at: offset) { reader in
            let start = reader.at
            let length = Int(clamping: reader.varint())
            return reader.at - start + min(length, max(reader.bytes.count - reader.at, 0))
        }
    }

    /// The whole record at `offset`, length prefix included (to copy it elsewhere).
    mutating func recordBytes(at offset: UInt32) -> [UInt8] {
        read(at: offset) { reader in
            let start = reader.at
            let length = Int(clamping: reader.varint())
            let end = reader.at + min(length, max(reader.bytes.count - reader.at, 0))
            return start >= 0 && start <= end && end <= reader.bytes.count ? Array(reader.bytes[start..<end]) : []
        }
    }

    /// Appends a record copied whole by ``recordBytes(at:)``; returns its new offset.
    mutating func appendRecord(_ record: [UInt8]) -> UInt32 {
        if open.count + record.count > Self.pageSize && !open.isEmpty { seal() }
        if open.capacity < Self.pageSize { open.reserveCapacity(Self.pageSize) }
        let offset = Self.offset(page: sealed.count, position: open.count)
        open.append(contentsOf: record)
        if open.count >= Self.pageSize { seal() }
        return offset
    }

    /// The first record at or after `offset` in arena order (an offset just past a page's
    /// last record stands for the next page's first); nil when no record is there yet.
    mutating func record(atOrAfter offset: UInt32) -> UInt32? {
        var page = Int(offset >> UInt32(Self.positionBits)), position = Int(offset) & (Self.pageSize - 1)
        while page <= sealed.count {
            if position < pageLength(page) { return Self.offset(page: page, position: position) }
            page += 1
            position = 0
        }
        return nil
    }

    /// Where the record after the one at `offset` is, or would be written: in the same page,
    /// or (past its last record) the next page's start. Always after `offset`.
    mutating func offset(after offset: UInt32) -> UInt32 {
        let page = Int(offset >> UInt32(Self.positionBits)), position = Int(offset) & (Self.pageSize - 1)
        let end = position + max(recordSize(at: offset), 1)
        return end < pageLength(page) ? Self.offset(page: page, position: end) : Self.offset(page: page + 1, position: 0)
    }

    /// Bytes in page `page` (the open page's so far; 0 past it or for a page that does not unpack).
    private mutating func pageLength(_ page: Int) -> Int {
        if page == sealed.count { return open.count }
        guard page >= 0 && page < sealed.count else { return 0 }
        guard isPacked[page] else { return sealed[page].count }
        return read(at: Self.offset(page: page, position: 0)) { $0.bytes.count }
    }

    /// A position is below the page size when the record is written (a page is sealed as soon as it is full).
    private static func offset(page: Int, position: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: page << positionBits | position & (pageSize - 1))
    }

    private static func read<T>(_ bytes: [UInt8], at position: Int, _ body: (inout ByteReader) -> T) -> T {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = ByteReader(buffer, at: position)
            return body(&reader)
        }
    }

    /// A new array of exactly these bytes. (`Array(slice)` may keep the slice's whole buffer,
    /// and an array grown by appending has up to twice the room it needs.)
    private static func exactCopy(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: bytes.count) { buffer, count in
            count = bytes.withUnsafeBufferPointer { source in
                guard let base = source.baseAddress, let target = buffer.baseAddress else { return 0 }
                target.update(from: base, count: source.count)
                return source.count
            }
        }
    }

    /// Packs the open page into a sealed one of exactly its packed size (raw if packing does not pay).
    private mutating func seal() {
        let packed = open.withUnsafeBufferPointer { packer.pack($0) }
        if packed.count < open.count {
            sealed.append(Self.exactCopy(packed))
            isPacked.append(true)
        } else {
            sealed.append(Self.exactCopy(open[...]))
            isPacked.append(false)
        }
        open.removeAll(keepingCapacity: true)
    }
}

/// The last few pages a ``RecordArena`` unpacked, each in a buffer of its own that is
/// reused for the next page it takes (least recently read first): at most
/// ``capacity`` × about 8 KiB.
struct UnpackedPages: Sendable {
    static let capacity = 4

    private var buffers: [[UInt8]] = []
    /// Page held by each buffer (-1: none), the bytes of it, and when it was last read.
    private var pages: [Int] = []
    private var counts: [Int] = []
    private var lastRead: [UInt64] = []
    private var clock: UInt64 = 0
    private(set) var unpackings = 0

    /// The buffer holding `page`, if any.
    mutating func slot(of page: Int) -> Int? {
        for slot in pages.indices where pages[slot] == page {
            clock &+= 1
            lastRead[slot] = clock
            return slot
        }
        return nil
    }

    /// Unpacks `packed` as `page` into a free or the least recently read buffer; a page that
    /// does not unpack reads as empty.
    mutating func fill(page: Int, from packed: [UInt8]) -> Int {
        let slot: Int
        if buffers.count < Self.capacity {
            buffers.append([])
            pages.append(-1)
            counts.append(0)
            lastRead.append(0)
            slot = buffers.count - 1
        } else {
            slot = lastRead.indices.min { lastRead[$0] < lastRead[$1] } ?? 0
        }
        // A buffer that grew for a page of one large record does not stay that large.
        if buffers[slot].count > 2 * RecordArena.pageSize { buffers[slot] = [] }
        let size = packed.withUnsafeBufferPointer { PageCoding.unpack($0, into: &buffers[slot]) }
        unpackings += 1
        pages[slot] = size == nil ? -1 : page
        counts[slot] = size ?? 0
        clock &+= 1
        lastRead[slot] = clock
        return slot
    }

    func read<T>(_ slot: Int, at position: Int, _ body: (inout ByteReader) -> T) -> T {
        buffers[slot].withUnsafeBufferPointer { buffer in
            var reader = ByteReader(UnsafeBufferPointer(rebasing: buffer[..<min(counts[slot], buffer.count)]), at: position)
            return body(&reader)
        }
    }
}

/// A byte-oriented LZ77 coding of one page (the LZ4 block layout): sequences of a token
/// (literal count << 4 | match length - 4, each 15 meaning "more bytes follow", added up
/// as 255s and a last byte below 255), the literals, a 2-byte little-endian distance back
/// (1...65,535) and the match's extra length bytes. The last sequence has literals only.
/// Unpacking checks every count and distance: bad input yields false, never a trap.
enum PageCoding {
    static let minMatch = 4
    static let hashBits = 12

    /// Greedy packer with a reused hash table of the last position of each 4-byte prefix
    /// and a reused output buffer, both written through pointers (a page costs a few
    /// instructions a byte: no array append per byte, matches compared 8 bytes at a time).
    struct Packer: Sendable {
        private var out: [UInt8] = []
        /// Per 4-byte prefix, `stamp` + the last position it was seen at in the page being
        /// packed; entries below `stamp` are from earlier pages (none seen in this one), so
        /// the table is not cleared between pages. Empty until the first page is sealed.
        private var table: [UInt32] = []
        private var stamp: UInt32 = 0

        init() {}

        /// A packer whose stamps are about to run out (tests: the table is cleared then).
        init(stampsLeft: UInt32) {
            table = [UInt32](repeating: 0, count: 1 << PageCoding.hashBits)
            stamp = UInt32.max - stampsLeft
        }

        /// Bytes a page of `count` bytes may pack to: all literals, a length byte per 255 of
        /// them, the token.
        static func bound(_ count: Int) -> Int { count + count / 255 + 16 }

        /// The packed bytes, valid until the next call.
        mutating func pack(_ source: UnsafeBufferPointer<UInt8>) -> ArraySlice<UInt8> {
            let count = source.count
            // Past every position stored so far; cleared only when the stamps run out.
            if table.isEmpty || UInt64(stamp) + UInt64(count) + 1 > UInt64(UInt32.max) {
                table = [UInt32](repeating: 0, count: 1 << PageCoding.hashBits)
                stamp = 1
            }
            let stamp = self.stamp
            self.stamp &+= UInt32(truncatingIfNeeded: count) &+ 1
            let bound = Self.bound(count)
            if out.count < bound { out = [UInt8](repeating: 0, count: max(bound, 2 * out.count)) }
            let written = out.withUnsafeMutableBufferPointer { out in
                table.withUnsafeMutableBufferPointer { table in
                    Self.pack(source, table: table, stamp: stamp, into: out)
                }
            }
            return out[..<written]
        }

        /// Packs `source` into `out` (at least ``bound(_:)`` bytes); returns the packed size.
        private static func pack(
            _ source: UnsafeBufferPointer<UInt8>, table: UnsafeMutableBufferPointer<UInt32>, stamp: UInt32,
            into out: UnsafeMutableBufferPointer<UInt8>
        ) -> Int {
            guard let target = out.baseAddress else { return 0 }
            var writer = SequenceWriter(at: target)
            let count = source.count
            guard let base = source.baseAddress, count >= PageCoding.minMatch, table.count == 1 << PageCoding.hashBits else {
                writer.sequence(source.baseAddress, literals: count, distance: 0, match: 0)
                return writer.at - target
            }
            var literalStart = 0
            var at = 0
            // The last position a 4-byte prefix starts at (`count` is at least 4).
            let last = count &- PageCoding.minMatch
            while at <= last {
                let word = UnsafeRawPointer(base + at).loadUnaligned(as: UInt32.self)
                let slot = Int(truncatingIfNeeded: (word &* 2_654_435_761) >> UInt32(32 - PageCoding.hashBits))
                let stored = table[slot]
                table[slot] = stamp &+ UInt32(truncatingIfNeeded: at)
                // Entries below the stamp are from earlier pages; this page's name positions
                // below `at` (stored before it, never past it), so the distance is at least 1.
                let distance = at &- Int(stored &- stamp)
                guard stored >= stamp, distance <= 65_535,
                      UnsafeRawPointer(base + (at &- distance)).loadUnaligned(as: UInt32.self) == word
                else {
                    at &+= 1
                    continue
                }
                let length = PageCoding.minMatch &+ matchLength(base, at &- distance &+ PageCoding.minMatch, at &+ PageCoding.minMatch, end: count)
                writer.sequence(base + literalStart, literals: at &- literalStart, distance: distance, match: length)
                at &+= length
                literalStart = at
            }
            writer.sequence(base + literalStart, literals: count - literalStart, distance: 0, match: 0)
            return writer.at - target
        }

        /// How many bytes from `earlier` equal those from `later` (`earlier` < `later`), up to `end`.
        @inline(__always)
        private static func matchLength(_ base: UnsafePointer<UInt8>, _ earlier: Int, _ later: Int, end: Int) -> Int {
            // Positions within the page (`later` at most `end`): the `&+` cannot wrap.
            var length = 0
            let words = end &- later &- 8
            while length <= words {
                let a = UnsafeRawPointer(base + (earlier &+ length)).loadUnaligned(as: UInt64.self)
                let b = UnsafeRawPointer(base + (later &+ length)).loadUnaligned(as: UInt64.self)
                let diff = a ^ b
                if diff != 0 { return length &+ UInt64(littleEndian: diff).trailingZeroBitCount >> 3 }
                length &+= 8
            }
            while later &+ length < end && base[earlier &+ length] == base[later &+ length] { length &+= 1 }
            return length
        }
    }

    /// Writes sequences through a pointer into room the caller sized (``Packer/bound(_:)``).
    private struct SequenceWriter {
        var at: UnsafeMutablePointer<UInt8>

        init(at: UnsafeMutablePointer<UInt8>) { self.at = at }

        @inline(__always)
        mutating func sequence(_ literals: UnsafePointer<UInt8>?, literals count: Int, distance: Int, match: Int) {
            let extra = max(match - PageCoding.minMatch, 0)
            at.pointee = UInt8(truncatingIfNeeded: min(count, 15) << 4 | (match > 0 ? min(extra, 15) : 0))
            at += 1
            if count >= 15 { length(count - 15) }
            if count > 0, let literals {
                at.update(from: literals, count: count)
                at += count
            }
            guard match > 0 else { return }
            at[0] = UInt8(truncatingIfNeeded: distance)
            at[1] = UInt8(truncatingIfNeeded: distance >> 8)
            at += 2
            if extra >= 15 { length(extra - 15) }
        }

        @inline(__always)
        private mutating func length(_ value: Int) {
            var rest = value
            while rest >= 255 {
                at.pointee = 255
                at += 1
                rest -= 255
            }
            at.pointee = UInt8(truncatingIfNeeded: rest)
            at += 1
        }
    }

    /// Unpacks `source` into the first bytes of `out` (grown when too short, never shrunk)
    /// and returns how many; nil on malformed input (`out` may then hold part of it). One
    /// pass checks each sequence as it copies it; short runs are copied 8 bytes at a time
    /// into the buffer's slack, past their end, where the next run writes over them.
    static func unpack(_ source: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Int? {
        // A page unpacks to at most a page, but a record longer than a page has a page of its own.
        var room = RecordArena.pageSize + slack
        while true {
            if out.count < room { out.append(contentsOf: repeatElement(0, count: room - out.count)) }
            let result = out.withUnsafeMutableBufferPointer { unpack(source, into: $0) }
            switch result {
            case .unpacked(let size): return size
            case .malformed: return nil
            case .needsRoom(let needed): room = max(needed, 2 * out.count)
            }
        }
    }

    /// Bytes past the unpacked ones the fast copies may write.
    private static let slack = 16

    private enum Unpacking {
        case unpacked(Int)
        case malformed
        /// At least this many bytes of output are needed: the caller grows it and starts again.
        case needsRoom(Int)
    }

    private static func unpack(_ source: UnsafeBufferPointer<UInt8>, into target: UnsafeMutableBufferPointer<UInt8>) -> Unpacking {
        let end = source.count
        guard let input = source.baseAddress, let base = target.baseAddress, end > 0 else { return .malformed }
        let capacity = target.count
        // `at` stays within the input and `written` within the output, each count checked
        // against what is left before it is added: the `&+` below cannot wrap.
        var at = 0, written = 0
        while at < end {
            let token = Int(input[at])
            at &+= 1
            guard let literals = length(token >> 4, source, &at), literals <= end - at else { return .malformed }
            guard literals <= capacity - slack - written else { return .needsRoom(written + literals + slack) }
            if literals <= 16 && end - at >= 16 {
                copy16(from: UnsafeRawPointer(input + at), to: UnsafeMutableRawPointer(base + written))
            } else {
                (base + written).update(from: input + at, count: literals)
            }
            at &+= literals
            written &+= literals
            if at == end { return .unpacked(written) }
            guard end - at >= 2 else { return .malformed }
            let distance = Int(input[at]) | Int(input[at &+ 1]) << 8
            at &+= 2
            guard let extra = length(token & 15, source, &at), distance >= 1, distance <= written,
                  extra <= Int(Int32.max) - written else { return .malformed }
            let match = extra + minMatch
            guard match <= capacity - slack - written else { return .needsRoom(written + match + slack) }
            let from = base + written - distance
            if distance >= 8 {
                // Each 8 bytes read were written before (the distance is at least 8); the last
                // step may write up to 7 bytes of slack.
                var n = 0
                while n < match {
                    UnsafeMutableRawPointer(base + written + n).storeBytes(
                        of: UnsafeRawPointer(from + n).loadUnaligned(as: UInt64.self), as: UInt64.self)
                    n &+= 8
                }
            } else {
                // Overlapping: the run repeats bytes it is writing.
                for n in 0..<match { base[written + n] = from[n] }
            }
            written &+= match
        }
        return .malformed
    }

    @inline(__always)
    private static func copy16(from: UnsafeRawPointer, to: UnsafeMutableRawPointer) {
        to.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
        (to + 8).storeBytes(of: from.loadUnaligned(fromByteOffset: 8, as: UInt64.self), as: UInt64.self)
    }

    /// A 4-bit count, plus the bytes that follow it when it is 15; nil when they run out.
    @inline(__always)
    private static func length(_ start: Int, _ source: UnsafeBufferPointer<UInt8>, _ at: inout Int) -> Int? {
        guard start == 15 else { return start }
        return longLength(source, &at)
    }

    /// 15 plus the bytes that follow (255s and a last byte below 255); nil when they run out.
    private static func longLength(_ source: UnsafeBufferPointer<UInt8>, _ at: inout Int) -> Int? {
        let start = 15
        var total = start
        while at < source.count {
            let byte = Int(source[at])
            at += 1
            total += byte
            if byte < 255 { return total }
        }
        return nil
    }
}
