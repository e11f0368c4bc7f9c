/// Cross-flow correlation kept up as transactions arrive, in bounded memory: per message
/// identity (``Correlator``'s key) a few compact views (capture, flow, transaction, start,
/// outcome, diagnosis) and the distinct envelopes they came with, never the whole records.
///
/// Limits: at most `maxMessages` identities; beyond it the identity least recently
/// noted is forgotten (``evictedMessages``); if it was a message of two or more
/// transactions, its counts stay in ``forgotten`` for the summary. At most `maxTransactionsPerMessage` views per
/// identity; beyond it the earliest is forgotten (``droppedTransactions``). Within the limits
/// ``messages()`` equals ``Correlator/messages(from:windowNanoseconds:)`` over the same
/// transactions, whatever order they were noted in.
///
/// Memory: an identity seen once (most are) costs a 24-byte slot, about 7 bytes of hash
/// index, and its entry packed into a shared byte arena (``EntryCoding``): about 20 bytes
/// of view and lengths plus the envelope's text, a hex fingerprint in 8 bytes and a MAIL
/// FROM without the end it shares with the Message-ID (131 bytes in all for the 100 bytes
/// of text in `MessageTableMemoryBenchmark`, 850 before the packing). The identity
/// string is not stored: the index files slots by a 64-bit hash of it and a match is
/// confirmed against the identity the entry's envelope implies, so equal hashes (odds about
/// n²/2⁶⁵ among n identities, ~7·10⁻¹¹ at 50,000) cost a comparison, never a wrong answer.
/// Entries that change are packed anew at the arena's end; the arena is compacted when
/// more than half of it is left behind. It grows by 64 KiB chunks, never by copying what it
/// holds, so its growth never holds two copies at once.
public struct MessageTable: Sendable {
    public let windowNanoseconds: Int64
    /// At most 2³¹ - 1 (slots are numbered in 32 bits).
    public let maxMessages: Int
    public let maxTransactionsPerMessage: Int
    /// Identities forgotten to stay within `maxMessages`.
    public private(set) var evictedMessages = 0
    /// Views forgotten to stay within `maxTransactionsPerMessage`.
    public private(set) var droppedTransactions = 0
    /// Messages (two or more transactions) among the evicted identities, as they stood then.
    public private(set) var forgotten = MessageTally()

    /// Where one identity's entry is, and its place in the recency list.
    struct Slot: Sendable {
        var hash: UInt64
        /// Chunk << 32 | position of the entry's record in `chunks` (a position is below the
        /// chunk size, or 0 in a chunk of its own); -1 when the slot is free.
        var offset: Int
        /// Less and more recently noted identities (-1: none); `newer` links free slots.
        var older: Int32
        var newer: Int32
    }

    private var slots = SlotPages()
    private var index = SlotIndex()
    /// The arena: records never straddle chunks; one larger than a chunk gets its own.
    private var chunks: [[UInt8]] = []
    /// Arena bytes written, garbage included.
    private var used = 0
    static let chunkSize = 1 << 16
    /// Arena bytes no entry uses any more.
    private var garbage = 0
    /// Times the arena was compacted (for tests).
    private(set) var compactions = 0
    private var freeSlot: Int32 = -1
    /// Least and most recently noted identity: the ends of a list linked through the slots.
    private var oldest: Int32 = -1
    private var newest: Int32 = -1
    private let hashing: @Sendable (String) -> UInt64
    /// Reused buffers: the noted transaction's envelope and a record being packed.
    private var envelope: [UInt8] = []
    private var body: [UInt8] = []
    /// The identity being noted, written in place (no string per transaction).
    private var identityText = ""

    /// Identities held now.
    public var count: Int { index.count }

    /// Bytes allocated for the arena (and how many of them are garbage), the slots and the index.
    var footprint: (arena: Int, garbage: Int, slots: Int, index: Int) {
        (chunks.reduce(0) { $0 + $1.capacity }, garbage, slots.capacity * MemoryLayout<Slot>.stride,
         index.capacity * MemoryLayout<UInt32>.stride)
    }

    public init(windowNanoseconds: Int64, maxMessages: Int, maxTransactionsPerMessage: Int) {
        self.init(windowNanoseconds: windowNanoseconds, maxMessages: maxMessages, maxTransactionsPerMessage: maxTransactionsPerMessage,
                  hashing: { MessageTable.hash($0) })
    }

    public init(options: AnalysisOptions) {
        self.init(windowNanoseconds: options.crossCaptureWindowNanoseconds, maxMessages: options.maxCorrelatedMessages,
                  maxTransactionsPerMessage: options.maxTransactionsPerMessage)
    }

    /// With another hash of identities: tests use weak ones to make them collide.
    init(windowNanoseconds: Int64, maxMessages: Int, maxTransactionsPerMessage: Int, hashing: @escaping @Sendable (String) -> UInt64) {
        self.windowNanoseconds = windowNanoseconds
        self.maxMessages = min(max(maxMessages, 1), Int(Int32.max))
        self.maxTransactionsPerMessage = max(maxTransactionsPerMessage, 2)
        self.hashing = hashing
    }

    /// The standard library's string hash (SipHash-1-3, keyed per process): canonically
    /// equivalent strings, which ``Correlator``'s dictionary treats as one key, hash alike.
    static func hash(_ identity: String) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(identity)
        return UInt64(truncatingIfNeeded: hasher.finalize())
    }

    /// Adds the transaction's view, or replaces the one noted before for the same
    /// (capture, flow, transaction), e.g. a provisional live verdict by the final one.
    /// Returns the identity when the table changed for it; nil when the transaction has
    /// no identity or brought nothing new.
    @discardableResult
    public mutating func note(_ record: TransactionRecord) -> String? {
        guard let identity = Correlator.identity(of: record, reusing: &identityText) else { return nil }
        let hash = hashing(identity)
        envelope.removeAll(keepingCapacity: true)
        EntryCoding.appendEnvelope(of: record, to: &envelope)
        let view = AttemptView(record)
        if let found = find(identity, hash: hash, envelope: envelope) {
            let slot = found.slot
            unlink(slot)
            link(slot)
            var entry = found.entry
            guard entry.note(view, envelope: envelope, limit: maxTransactionsPerMessage, dropped: &droppedTransactions) else { return nil }
            body.removeAll(keepingCapacity: true)
            entry.encode(into: &body)
            replaceRecord(of: slot)
        } else {
            if count >= maxMessages { evictOldest() }
            let slot = allocate(hash: hash)
            index.insert(slot, hash: hash, slots: slots)
            body.removeAll(keepingCapacity: true)
            Entry.encodeSingle(view, envelope: envelope, into: &body)
            replaceRecord(of: slot)
            link(slot)
        }
        compactIfWasteful()
        return identity
    }

    /// The message record of `identity`; nil with fewer than two transactions.
    public func message(identity: String) -> MessageRecord? {
        find(identity, hash: hashing(identity), envelope: nil)?.entry.message(windowNanoseconds: windowNanoseconds)
    }

    /// Every identity seen in two or more transactions, ordered as ``Correlator`` orders them.
    public func messages() -> [MessageRecord] {
        var found: [(message: MessageRecord, first: TransactionKey)] = []
        for slot in slots.indices where slots[slot].offset >= 0 && views(slot) >= 2 {
            let entry = self.entry(slot)
            guard let message = entry.message(windowNanoseconds: windowNanoseconds) else { continue }
            found.append((message, entry.first))
        }
        // The offline order: earliest attempt, Message-ID, fingerprint, then first seen in flow order.
        return found.sorted { a, b in
            let left = (a.message.attempts[0].primary.startNanoseconds, a.message.messageID ?? "", a.message.fingerprint ?? "")
            let right = (b.message.attempts[0].primary.startNanoseconds, b.message.messageID ?? "", b.message.fingerprint ?? "")
            return left != right ? left < right : a.first < b.first
        }.map(\.message)
    }

    // MARK: entries

    /// The slot of `identity` and its entry. A candidate whose first envelope has the same
    /// bytes as `envelope` is the same identity; any other is compared by the identity its
    /// envelope implies.
    private func find(_ identity: String, hash: UInt64, envelope: [UInt8]?) -> (slot: Int, entry: Entry)? {
        var found: Entry?
        let slot = index.first(hash: hash, slots: slots) { slot in
            let entry = self.entry(slot)
            guard entry.envelopes.first == envelope || entry.identity == identity else { return false }
            found = entry
            return true
        }
        guard let slot, let found else { return nil }
        return (slot, found)
    }

    private func entry(_ slot: Int) -> Entry {
        record(at: slots[slot].offset) { reader in
            _ = reader.varint()
            return Entry.decode(&reader)
        }
    }

    private func views(_ slot: Int) -> UInt64 {
        record(at: slots[slot].offset) { reader in
            _ = reader.varint()
            return Entry.viewCount(&reader)
        }
    }

    private func record<T>(at offset: Int, _ read: (inout ByteReader) -> T) -> T { Self.record(at: offset, in: chunks, read) }

    /// Reads the record at `offset`: from its chunk, at its position.
    private static func record<T>(at offset: Int, in chunks: [[UInt8]], _ read: (inout ByteReader) -> T) -> T {
        let chunk = offset >> 32
        let bytes = chunk >= 0 && chunk < chunks.count ? chunks[chunk] : []
        return bytes.withUnsafeBufferPointer { buffer in
            var reader = ByteReader(buffer, at: offset & 0xFFFF_FFFF)
            return read(&reader)
        }
    }

    private func recordSize(at offset: Int) -> Int { Self.recordSize(at: offset, in: chunks) }

    /// Bytes of the record at `offset`, its length prefix included.
    private static func recordSize(at offset: Int, in chunks: [[UInt8]]) -> Int {
        record(at: offset, in: chunks) { reader in
            let start = reader.at
            let length = Int(clamping: reader.varint())
            return reader.at - start + min(length, reader.bytes.count - reader.at)
        }
    }

    /// Packs `body` as the slot's record in the last chunk, or a new one; the old record becomes garbage.
    private mutating func replaceRecord(of slot: Int) {
        if slots[slot].offset >= 0 { garbage += recordSize(at: slots[slot].offset) }
        var size = body.count + 1
        var rest = body.count >> 7
        while rest > 0 { size += 1; rest >>= 7 }
        slots[slot].offset = place(size: size)
        chunks[chunks.count - 1].appendVarint(UInt64(body.count))
        chunks[chunks.count - 1].append(contentsOf: body)
        used += size
    }

    /// Where a record of `size` bytes goes: the end of the last chunk if it fits, else a new chunk.
    private mutating func place(size: Int) -> Int {
        if let last = chunks.last, last.capacity - last.count >= size { return (chunks.count - 1) << 32 | last.count }
        var chunk: [UInt8] = []
        chunk.reserveCapacity(max(Self.chunkSize, size))
        chunks.append(chunk)
        return (chunks.count - 1) << 32
    }

    /// Copies the live records into fresh chunks once more than half of the arena is garbage.
    private mutating func compactIfWasteful() {
        guard used >= Self.chunkSize && garbage * 2 > used else { return }
        let old = chunks
        chunks = []
        used = 0
        for slot in slots.indices where slots[slot].offset >= 0 && slots[slot].offset >> 32 < old.count {
            let offset = slots[slot].offset
            let size = Self.recordSize(at: offset, in: old)
            let start = offset & 0xFFFF_FFFF
            slots[slot].offset = place(size: size)
            chunks[chunks.count - 1].append(contentsOf: old[offset >> 32][start..<start + size])
            used += size
        }
        garbage = 0
        compactions += 1
    }

    // MARK: slots and the recency list

    private mutating func allocate(hash: UInt64) -> Int {
        if freeSlot >= 0 {
            let slot = Int(freeSlot)
            freeSlot = slots[slot].newer
            slots[slot] = Slot(hash: hash, offset: -1, older: -1, newer: -1)
            return slot
        }
        slots.append(Slot(hash: hash, offset: -1, older: -1, newer: -1))
        return slots.count - 1
    }

    private mutating func evictOldest() {
        guard oldest >= 0 else { return }
        let slot = Int(oldest)
        unlink(slot)
        if views(slot) >= 2, let message = entry(slot).message(windowNanoseconds: windowNanoseconds) { forgotten.add(message) }
        index.remove(slot, hash: slots[slot].hash, slots: slots)
        garbage += recordSize(at: slots[slot].offset)
        slots[slot] = Slot(hash: 0, offset: -1, older: -1, newer: freeSlot)
        freeSlot = Int32(truncatingIfNeeded: slot)
        evictedMessages += 1
    }

    private mutating func unlink(_ slot: Int) {
        let older = slots[slot].older, newer = slots[slot].newer
        if older >= 0 { slots[Int(older)].newer = newer } else { oldest = newer }
        if newer >= 0 { slots[Int(newer)].older = older } else { newest = older }
        slots[slot].older = -1
        slots[slot].newer = -1
    }

    private mutating func link(_ slot: Int) {
        let number = Int32(truncatingIfNeeded: slot)
        slots[slot].older = newest
        slots[slot].newer = -1
        if newest >= 0 { slots[Int(newest)].newer = number } else { oldest = number }
        newest = number
    }
}

/// What the summary counts of messages a ``MessageTable`` no longer holds.
public struct MessageTally: Sendable, Hashable {
    public var messages = 0
    public var retried = 0
    public var acceptedLate = 0
    /// Attempts whose terminator one capture saw and another never received (``Attempt/terminatorLost``).
    public var lostTerminators = 0

    public init() {}

    mutating func add(_ message: MessageRecord) {
        messages += 1
        if message.attempts.count >= 2 { retried += 1 }
        acceptedLate += message.acceptedLate
        lostTerminators += message.attempts.filter(\.terminatorLost).count
    }
}
