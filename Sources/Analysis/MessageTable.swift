import SMTP

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
/// Memory: an identity seen once (most are) costs an 8-byte slot, about 3.5 bytes of hash
/// index (2-byte buckets), and its entry packed into a shared byte arena (``EntryCoding``):
/// about 10 bytes of view and lengths (the start as its distance from the first one noted)
/// plus the envelope's text, digit runs in binary and mail domains as numbers
/// (``DigitRuns``, ``SuffixTable``), a hex fingerprint in 8 bytes and a MAIL FROM without
/// the end it shares with the Message-ID; the arena's full pages are packed again
/// (``RecordArena``). About 59 bytes in all per message of the benchmark's 1 GiB capture
/// (massif at the peak; 85 before session 7). The identity string is not stored: the index files
/// slots by a 32-bit hash of it and a match is confirmed against the identity the entry's
/// envelope implies, so equal hashes (about one new identity in 86,000 meets one among
/// 50,000) cost a comparison, never a wrong answer. Each note writes the entry anew at the
/// arena's end, so the arena's order is the recency order (no list links in the slots):
/// the least recently noted identity owns the first record that is not garbage. The arena
/// is compacted when more than half of it is left behind. It grows by 8 KiB pages, never
/// by copying what it holds.
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

    /// Where one identity's entry is. Its place in the recency order is its record's place
    /// in the arena: every note writes the entry's record anew at the arena's end.
    struct Slot: Sendable {
        /// The identity's 64-bit hash folded to 32 bits (``fold(_:)``); in a free slot, the
        /// next free slot (``free``: none).
        var hash: UInt32
        /// Where the entry's record is in the ``RecordArena``; ``free`` when the slot is free.
        var offset: UInt32

        static let free = UInt32.max
    }

    private var slots = SlotPages()
    private var index = SlotIndex()
    private var arena = RecordArena()
    /// Arena bytes written, garbage included.
    private var used = 0
    /// Arena bytes no entry uses any more.
    private var garbage = 0
    /// Times the arena was compacted (for tests).
    private(set) var compactions = 0
    private var freeSlot: Int32 = -1
    /// Views' starts are stored as their distance from this one: the first start noted
    /// (a few bytes instead of 8; any start round-trips).
    private var epoch: Int64 = 0
    /// Mail domains and other `@…` suffixes of envelope text, each kept once.
    private var suffixes = SuffixTable()
    private var hasEpoch = false
    /// One bit per slot: set when its entry has two or more views, so that ``messages()``
    /// and eviction read only those entries.
    private var seenAgain: [UInt64] = []
    /// Where the search for the least recently noted identity resumes: each record before
    /// this arena offset is garbage (an entry written anew, or forgotten).
    private var oldestScan: UInt32 = 0
    private let hashing: @Sendable (String) -> UInt64
    /// Whether `hashing` is ``hash(_:)``, which ``add(_:)`` may then compute from the bytes
    /// of an ASCII Message-ID without making the identity string.
    private var hashesIdentityBytes: Bool
    /// Reused buffers: the noted transaction's envelope and a record being packed.
    private var envelope: [UInt8] = []
    private var body: [UInt8] = []
    /// The identity being noted, written in place (no string per transaction).
    private var identityText = ""
    /// The entry ``find(_:hash:envelope:)`` decoded last, its buffers reused by the next lookup.
    private var found = Entry()
    /// The entry and Message-ID bytes the search for the oldest identity read last (buffers reused).
    private var scanned = Entry()
    private var scannedID: [UInt8] = []

    /// Identities held now.
    public var count: Int { index.count }

    /// Bytes allocated for the arena (and how many of them are garbage), the slots and the index.
    var footprint: (arena: Int, garbage: Int, slots: Int, index: Int) {
        (arena.capacity, garbage, slots.capacity * MemoryLayout<Slot>.stride,
         index.capacityBytes)
    }

    public init(windowNanoseconds: Int64, maxMessages: Int, maxTransactionsPerMessage: Int) {
        self.init(windowNanoseconds: windowNanoseconds, maxMessages: maxMessages, maxTransactionsPerMessage: maxTransactionsPerMessage,
                  hashing: { MessageTable.hash($0) })
        hashesIdentityBytes = true
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
        hashesIdentityBytes = false
    }

    /// With an arena of at most `maxPages` pages (tests: reaching the limit).
    init(windowNanoseconds: Int64, maxMessages: Int, maxTransactionsPerMessage: Int, maxPages: Int) {
        self.init(windowNanoseconds: windowNanoseconds, maxMessages: maxMessages, maxTransactionsPerMessage: maxTransactionsPerMessage)
        arena = RecordArena(maxPages: maxPages)
    }

    /// The standard library's string hash (SipHash-1-3, keyed per process): canonically
    /// equivalent strings, which ``Correlator``'s dictionary treats as one key, hash alike.
    static func hash(_ identity: String) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(identity)
        return UInt64(truncatingIfNeeded: hasher.finalize())
    }

    /// ``hash(_:)`` of the identity `"id:" + messageID` of an ASCII Message-ID, from its
    /// bytes: a string of ASCII (always in normal form) hashes as its UTF-8 followed by a
    /// 0xFF byte, fed to the hasher as one stream (MessageTableHashTests holds the two
    /// equal). Nil for an empty or non-ASCII Message-ID, whose identity is decided otherwise.
    static func asciiMessageIDHash(_ raw: UnsafeRawBufferPointer) -> UInt64? {
        let utf8 = UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
        guard !utf8.isEmpty, JSONByteWriter.isASCII(utf8) else { return nil }
        var hasher = Hasher()
        let prefix: StaticString = "id:"
        hasher.combine(bytes: UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount))
        hasher.combine(bytes: raw)
        hasher.combine(0xFF as UInt8)
        return UInt64(truncatingIfNeeded: hasher.finalize())
    }

    /// The 32 bits of a 64-bit hash the slots and the index keep.
    static func fold(_ hash: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: hash ^ hash >> 32) }

    /// Adds the transaction's view, or replaces the one noted before for the same
    /// (capture, flow, transaction), e.g. a provisional live verdict by the final one.
    /// Returns the identity when the table changed for it; nil when the transaction has
    /// no identity or brought nothing new.
    @discardableResult
    public mutating func note(_ record: TransactionRecord) -> String? {
        guard let identity = Correlator.identity(of: record, reusing: &identityText) else { return nil }
        return note(record, hash: Self.fold(hashing(identity)), identity: { identity }) ? identity : nil
    }

    /// ``note(_:)`` without its answer: for the usual transaction (an ASCII Message-ID) the
    /// identity is hashed from the Message-ID's bytes and its string is made only if another
    /// identity's entry has the same hash.
    public mutating func add(_ record: TransactionRecord) {
        withUnsafePointer(to: record) { add(at: $0) }
    }

    /// ``add(_:)`` of each record in turn, each read where it is (not copied out: a copy
    /// retains and releases each of its texts).
    public mutating func add(contentsOf records: [TransactionRecord]) {
        records.withUnsafeBufferPointer { records in
            guard let first = records.baseAddress else { return }
            for index in records.indices { add(at: first + index) }
        }
    }

    private mutating func add(at record: UnsafePointer<TransactionRecord>) {
        guard hashesIdentityBytes, let hash = Self.asciiMessageIDHash(of: record) else {
            note(record.pointee)
            return
        }
        var identity: String?
        _ = note(record, hash: Self.fold(hash)) {
            if let identity { return identity }
            let made = Correlator.identity(of: record.pointee) ?? ""
            identity = made
            return made
        }
    }

    /// ``asciiMessageIDHash(_:)`` of the record's Message-ID; nil without one.
    private static func asciiMessageIDHash(of record: UnsafePointer<TransactionRecord>) -> UInt64? {
        // Read where it lies (``SMTPText/withBytes(of:_:)``): no copy of the text.
        guard let id = record.pointer(to: \.messageIDText) else {
            return record.pointee.messageIDText.flatMap { $0.withBytes { asciiMessageIDHash($0) } }
        }
        return SMTPText.withBytes(of: id) { asciiMessageIDHash($0) } ?? nil
    }

    /// ``note(_:)`` of a record whose identity hashes to `hash`; `identity` makes the
    /// identity's string (only called to tell apart identities of the same hash). True when
    /// the table changed.
    private mutating func note(_ record: TransactionRecord, hash: UInt32, identity: () -> String) -> Bool {
        withUnsafePointer(to: record) { note($0, hash: hash, identity: identity) }
    }

    private mutating func note(_ record: UnsafePointer<TransactionRecord>, hash: UInt32, identity: () -> String) -> Bool {
        envelope.removeAll(keepingCapacity: true)
        EntryCoding.appendEnvelope(of: record, suffixes: &suffixes, to: &envelope)
        let view = AttemptView(record)
        if !hasEpoch {
            epoch = view.startNanoseconds
            hasEpoch = true
        }
        if let slot = find(identity, hash: hash, envelope: envelope) {
            let changed = found.note(view, envelope: envelope, limit: maxTransactionsPerMessage, dropped: &droppedTransactions)
            // Written anew even when unchanged: the arena's order is the recency order.
            body.removeAll(keepingCapacity: true)
            found.encode(epoch: epoch, into: &body)
            replaceRecord(of: slot)
            if found.seen.count >= 2 { setSeenAgain(slot, true) }
            compactIfWasteful()
            return changed
        } else {
            if count >= maxMessages { evictOldest() }
            let slot = allocate(hash: hash)
            index.insert(slot, hash: hash, slots: slots)
            body.removeAll(keepingCapacity: true)
            Entry.encodeSingle(view, envelope: envelope, epoch: epoch, into: &body)
            replaceRecord(of: slot)
        }
        compactIfWasteful()
        return true
    }

    /// The message record of `identity`; nil with fewer than two transactions.
    public func message(identity: String) -> MessageRecord? {
        var table = self  // reading may unpack a page into the copy's buffer
        guard table.find({ identity }, hash: Self.fold(hashing(identity)), envelope: nil) != nil else { return nil }
        return table.found.message(windowNanoseconds: windowNanoseconds, suffixes: suffixes)
    }

    /// Every identity seen in two or more transactions, ordered as ``Correlator`` orders them.
    public func messages() -> [MessageRecord] {
        var table = self  // reading may unpack a page into the copy's buffer
        var found: [(message: MessageRecord, first: TransactionKey)] = []
        // In arena order: each packed page is unpacked once.
        let again = slots.indices.filter(isSeenAgain).sorted { slots[$0].offset < slots[$1].offset }
        for slot in again {
            let entry = table.entry(slot)
            guard let message = entry.message(windowNanoseconds: windowNanoseconds, suffixes: suffixes) else { continue }
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

    /// The slot of `identity`, its entry decoded into ``found``. A candidate whose first
    /// envelope has the same bytes as `envelope` is the same identity; any other is compared
    /// by the identity its envelope implies.
    private mutating func find(_ identity: () -> String, hash: UInt32, envelope: [UInt8]?) -> Int? {
        let index = self.index  // the probe reads its own reference while reading entries changes `self`
        return index.first(hash: hash, slots: slots) { slot in
            let offset = slots[slot].offset
            arena.read(at: offset) { reader in
                _ = reader.varint()
                Entry.decode(&reader, epoch: epoch, into: &found)
            }
            // As `envelopes.first == envelope` of optionals (no envelope matches no envelope).
            let sameBytes = envelope.map { found.envelopeCount > 0 && found.envelope(0).elementsEqual($0) } ?? (found.envelopeCount == 0)
            return sameBytes || found.identity(suffixes: suffixes) == identity()
        }
    }

    private mutating func entry(_ slot: Int) -> Entry {
        let epoch = self.epoch
        return arena.read(at: slots[slot].offset) { reader in
            _ = reader.varint()
            return Entry.decode(&reader, epoch: epoch)
        }
    }

    /// Slots holding an entry, by the place of their record in the arena.
    private func liveSlotsInArenaOrder() -> [Int] {
        slots.indices.filter { slots[$0].offset != Slot.free }.sorted { slots[$0].offset < slots[$1].offset }
    }

    /// Packs `body` as the slot's record at the arena's end; the old record becomes garbage.
    private mutating func replaceRecord(of slot: Int) {
        makeRoom(keeping: slot)
        if slots[slot].offset != Slot.free { garbage += arena.recordSize(at: slots[slot].offset) }
        let (offset, size) = arena.append(body)
        slots[slot].offset = offset
        used += size
    }

    /// Keeps the arena within the pages its 32-bit offsets number: compacts it, and if that
    /// is not enough (about 4 GiB of entries), forgets the least recently noted identities, a
    /// quarter of the entries' bytes, as reaching `maxMessages` would (counted in ``evictedMessages``).
    private mutating func makeRoom(keeping slot: Int) {
        guard arena.isFull else { return }
        compact()
        guard arena.isFull else { return }
        // A quarter of the entries' bytes at once: one compaction makes room for many records.
        let target = used - used / 4
        while used - garbage > target, let oldest = oldestSlot(keeping: slot) { evict(oldest) }
        compact()
    }

    /// Copies the live records into a fresh arena once more than half of the arena is garbage.
    private mutating func compactIfWasteful() {
        guard used >= RecordArena.pageSize && garbage * 2 > used else { return }
        compact()
    }

    private mutating func compact() {
        var old = arena
        arena = RecordArena(maxPages: old.maxPages)
        used = 0
        for slot in liveSlotsInArenaOrder() {
            let record = old.recordBytes(at: slots[slot].offset)
            slots[slot].offset = arena.appendRecord(record)
            used += record.count
        }
        garbage = 0
        oldestScan = 0
        compactions += 1
    }

    // MARK: slots and the recency list

    /// Whether the slot's entry has two or more views (a message; once so, it stays so).
    private func isSeenAgain(_ slot: Int) -> Bool {
        slot >> 6 < seenAgain.count && seenAgain[slot >> 6] & 1 << UInt64(slot & 63) != 0
    }

    private mutating func setSeenAgain(_ slot: Int, _ value: Bool) {
        while slot >> 6 >= seenAgain.count { seenAgain.append(0) }
        if value { seenAgain[slot >> 6] |= 1 << UInt64(slot & 63) } else { seenAgain[slot >> 6] &= ~(1 << UInt64(slot & 63)) }
    }

    private mutating func allocate(hash: UInt32) -> Int {
        if freeSlot >= 0 {
            let slot = Int(freeSlot)
            let next = slots[slot].hash
            freeSlot = next == Slot.free ? -1 : Int32(truncatingIfNeeded: next)
            slots[slot] = Slot(hash: hash, offset: Slot.free)
            return slot
        }
        slots.append(Slot(hash: hash, offset: Slot.free))
        return slots.count - 1
    }

    private mutating func evictOldest() {
        guard let slot = oldestSlot(keeping: nil) else { return }
        evict(slot)
    }

    private mutating func evict(_ slot: Int) {
        if isSeenAgain(slot), let message = entry(slot).message(windowNanoseconds: windowNanoseconds, suffixes: suffixes) { forgotten.add(message) }
        index.remove(slot, hash: slots[slot].hash, slots: slots)
        garbage += arena.recordSize(at: slots[slot].offset)
        slots[slot] = Slot(hash: freeSlot < 0 ? Slot.free : UInt32(truncatingIfNeeded: freeSlot), offset: Slot.free)
        setSeenAgain(slot, false)
        freeSlot = Int32(truncatingIfNeeded: slot)
        evictedMessages += 1
    }

    /// The least recently noted identity's slot (not `kept`): the one of the first live
    /// record in the arena, found by scanning on from ``oldestScan`` past garbage.
    private mutating func oldestSlot(keeping kept: Int?) -> Int? {
        var at = arena.record(atOrAfter: oldestScan)
        var onlyGarbage = true
        while let offset = at {
            if let slot = liveSlot(at: offset) {
                if slot != kept { return slot }
                onlyGarbage = false
            }
            let next = arena.offset(after: offset)
            if onlyGarbage { oldestScan = next }
            at = arena.record(atOrAfter: next)
        }
        // Only a record whose identity could not be read back would be missed: then the
        // live slot of the lowest offset.
        return slots.indices.filter { slots[$0].offset != Slot.free && $0 != kept }.min { slots[$0].offset < slots[$1].offset }
    }

    /// The slot whose entry's record is at `offset`; nil when that record is garbage. The
    /// slot is found by the hash of the identity the record's envelope implies.
    /// (For the usual entry, whose identity is an ASCII Message-ID, the hash comes from
    /// the Message-ID's bytes decoded into reused buffers: a scan allocates nothing.)
    private mutating func liveSlot(at offset: UInt32) -> Int? {
        let epoch = self.epoch
        arena.read(at: offset) { reader in
            _ = reader.varint()
            Entry.decode(&reader, epoch: epoch, into: &scanned)
        }
        guard scanned.envelopeCount > 0 else { return nil }
        var hash: UInt64?
        if hashesIdentityBytes {
            scannedID.removeAll(keepingCapacity: true)
            scanned.envelope(0).withUnsafeBufferPointer { bytes in
                var reader = ByteReader(bytes, at: 0)
                guard reader.byte() & EntryCoding.hasMessageID != 0 else { return }
                DigitRuns.decode(reader.take(reader.varint()), suffixes: suffixes, into: &scannedID)
            }
            hash = scannedID.withUnsafeBytes { Self.asciiMessageIDHash($0) }
        }
        if hash == nil {
            guard let identity = scanned.identity(suffixes: suffixes) else { return nil }
            hash = hashing(identity)
        }
        guard let hash else { return nil }
        return index.first(hash: Self.fold(hash), slots: slots) { slots[$0].offset == offset }
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
