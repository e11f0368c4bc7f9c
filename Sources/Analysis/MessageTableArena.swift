/// ``MessageTable``'s records, each a varint length and its bytes, in pages of
/// ``pageSize`` bytes: the last page is written raw; a full page is sealed, packed with
/// ``PageCoding`` (about half its size for generated mail envelopes, whose domains,
/// local-part words and view bytes repeat) and kept at exactly that size. A record is
/// found by its 32-bit offset, page << 13 | position (at most ``maxPages`` pages, 4 GiB
/// of records unpacked; ``isFull`` says when to make room), and read from the page unpacked into a
/// reused buffer (one page at a time: looking up a retried message unpacks its page, a few
/// microseconds). Records never straddle pages; one larger than a page gets a page of its own.
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
    /// The last sealed page unpacked, and its number (-1: none).
    private var unpacked: [UInt8] = []
    private var unpackedPage = -1
    /// Bytes of `unpacked` that belong to that page (the buffer only ever grows).
    private var unpackedCount = 0
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
        if unpackedPage != page {
            let size = sealed[page].withUnsafeBufferPointer { PageCoding.unpack($0, into: &unpacked) }
            unpackedPage = size == nil ? -1 : page
            unpackedCount = size ?? 0
        }
        return unpacked.withUnsafeBufferPointer { buffer in
            var reader = ByteReader(UnsafeBufferPointer(rebasing: buffer[..<min(unpackedCount, buffer.count)]), at: position)
            return body(&reader)
        }
    }

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
            return start >= 0 && start <= end ? Array(reader.bytes[start..<end]) : []
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

/// A byte-oriented LZ77 coding of one page (the LZ4 block layout): sequences of a token
/// (literal count << 4 | match length - 4, each 15 meaning "more bytes follow", added up
/// as 255s and a last byte below 255), the literals, a 2-byte little-endian distance back
/// (1...65,535) and the match's extra length bytes. The last sequence has literals only.
/// Unpacking checks every count and distance: bad input yields false, never a trap.
enum PageCoding {
    static let minMatch = 4
    static let hashBits = 12

    /// Greedy packer with a reused hash table of the last position of each 4-byte prefix
    /// and a reused output buffer.
    struct Packer: Sendable {
        private var out: [UInt8] = []
        /// Empty until the first page is sealed.
        private var table: [Int32] = []

        /// The packed bytes, valid until the next call.
        mutating func pack(_ source: UnsafeBufferPointer<UInt8>) -> ArraySlice<UInt8> {
            if table.isEmpty {
                table = [Int32](repeating: -1, count: 1 << PageCoding.hashBits)
            } else {
                for i in table.indices { table[i] = -1 }
            }
            out.removeAll(keepingCapacity: true)
            let count = source.count
            var literalStart = 0
            guard let base = source.baseAddress, count >= PageCoding.minMatch else {
                PageCoding.appendSequence(source, literals: 0..<count, distance: 0, match: 0, to: &out)
                return out[...]
            }
            table.withUnsafeMutableBufferPointer { table in
                var at = 0
                while at + PageCoding.minMatch <= count {
                    // Positions below `count` (the loop's bound), candidates below `at`.
                    let word = UnsafeRawPointer(base + at).loadUnaligned(as: UInt32.self)
                    let slot = Int((word &* 2_654_435_761) >> UInt32(32 - PageCoding.hashBits))
                    let candidate = Int(table[slot])
                    table[slot] = Int32(truncatingIfNeeded: at)
                    guard candidate >= 0, at - candidate <= 65_535,
                          UnsafeRawPointer(base + candidate).loadUnaligned(as: UInt32.self) == word
                    else {
                        at += 1
                        continue
                    }
                    var length = PageCoding.minMatch
                    while at + length < count && base[candidate + length] == base[at + length] { length += 1 }
                    PageCoding.appendSequence(source, literals: literalStart..<at, distance: at - candidate, match: length, to: &out)
                    at += length
                    literalStart = at
                }
            }
            PageCoding.appendSequence(source, literals: literalStart..<count, distance: 0, match: 0, to: &out)
            return out[...]
        }
    }

    private static func appendSequence(_ source: UnsafeBufferPointer<UInt8>, literals: Range<Int>, distance: Int, match: Int,
                                       to out: inout [UInt8]) {
        let extra = max(match - minMatch, 0)
        out.append(UInt8(min(literals.count, 15) << 4 | (match > 0 ? min(extra, 15) : 0)))
        if literals.count >= 15 { appendLength(literals.count - 15, to: &out) }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: source[literals]))
        guard match > 0 else { return }
        out.append(UInt8(truncatingIfNeeded: distance))
        out.append(UInt8(truncatingIfNeeded: distance >> 8))
        if extra >= 15 { appendLength(extra - 15, to: &out) }
    }

    private static func appendLength(_ length: Int, to out: inout [UInt8]) {
        var rest = length
        while rest >= 255 {
            out.append(255)
            rest -= 255
        }
        out.append(UInt8(truncatingIfNeeded: rest))
    }

    /// Unpacks `source` into the first bytes of `out` (grown when too short, never shrunk)
    /// and returns how many; nil on malformed input. A first pass checks every sequence and
    /// sizes the output; the second copies runs whole.
    static func unpack(_ source: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Int? {
        guard let size = unpackedSize(source) else { return nil }
        if out.count < size { out.append(contentsOf: repeatElement(0, count: size - out.count)) }
        return out.withUnsafeMutableBufferPointer { target -> Int? in
            guard let base = target.baseAddress, let input = source.baseAddress else { return size == 0 ? 0 : nil }
            var at = 0, written = 0
            while true {
                let token = Int(input[at])
                at += 1
                let literals = length(token >> 4, source, &at) ?? 0
                (base + written).update(from: input + at, count: literals)
                at += literals
                written += literals
                if at == source.count { return size }
                let distance = Int(input[at]) | Int(input[at + 1]) << 8
                at += 2
                let match = (length(token & 15, source, &at) ?? 0) + minMatch
                if distance >= match {
                    (base + written).update(from: base + written - distance, count: match)
                } else {
                    // Overlapping: the run repeats bytes it is writing.
                    for n in 0..<match { base[written + n] = base[written + n - distance] }
                }
                written += match
            }
        }
    }

    /// The unpacked size when every sequence of `source` is well formed (counts within the
    /// input, distances within what precedes them, literals-only last); else nil.
    static func unpackedSize(_ source: UnsafeBufferPointer<UInt8>) -> Int? {
        var at = 0, written = 0
        while at < source.count {
            let token = Int(source[at])
            at += 1
            guard let literals = length(token >> 4, source, &at), literals <= source.count - at else { return nil }
            at += literals
            written += literals
            if at == source.count { return written }
            guard source.count - at >= 2 else { return nil }
            let distance = Int(source[at]) | Int(source[at + 1]) << 8
            at += 2
            guard let extra = length(token & 15, source, &at), distance >= 1, distance <= written,
                  extra <= Int(Int32.max) - written else { return nil }
            written += extra + minMatch
        }
        return nil
    }

    /// A 4-bit count, plus the bytes that follow it when it is 15; nil when they run out.
    private static func length(_ start: Int, _ source: UnsafeBufferPointer<UInt8>, _ at: inout Int) -> Int? {
        guard start == 15 else { return start }
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
