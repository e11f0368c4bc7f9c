/// Follows both directions of one SMTP conversation and reports what happens.
///
/// Feed each side's in-order bytes, gaps and end as the transport delivers them, both sides
/// interleaved in capture order. Events are emitted synchronously, in stream order per side;
/// every event carries stream offsets. Memory is bounded by `SMTPOptions`, whatever the
/// message sizes. See `SMTPEvent` for when each event fires.
public struct SMTPSession {
    /// The limits this session runs with.
    public let options: SMTPOptions
    /// Counters, including what limits kept from being reported.
    public internal(set) var statistics = SMTPStatistics()
    /// ``SMTPOptions/reportsRoutineEvents``, changeable for the session's connection (a reset
    /// takes it back to the options').
    public var reportsRoutineEvents: Bool

    // Client side.
    enum Verdict: Equatable {
        /// After DATA: 354 makes the held bytes message data, anything else commands.
        case data(transaction: Int, afterCRLF: Bool)
        /// After STARTTLS: 220 makes them TLS, anything else commands.
        case starttls
        /// After AUTH or an AUTH response line (`heldAuth`): 334 makes the next line a response.
        case auth
    }
    enum ClientMode: Equatable {
        case commands
        /// Bytes wait in `held` for the reply that decides how to read them.
        case hold(Verdict)
        case data
        case bdat(remaining: UInt64, last: Bool)
        case encrypted
    }
    var clientFramer = LineFramer()
    var clientMode = ClientMode.commands
    var clientNext: UInt64?
    /// After a gap: lines are dropped until one parses as a known command.
    var clientResync = false
    /// Resynchronising without a gap (smuggled text longer than kept): no anomaly.
    var clientResyncQuiet = false
    var held: [UInt8] = []
    var heldOffset: UInt64 = 0
    /// The next client line answers a 334 (RFC 4954) and is no command.
    var authResponsePending: SMTPCommand?
    /// The AUTH command whose reply decides the held bytes (`.hold(.auth)`), kept out of
    /// `clientMode` so that the mode, read on every chunk, holds no reference to copy.
    var heldAuth: SMTPCommand?
    var starttlsClientOffset: UInt64 = 0

    // Server side.
    var serverFramer = LineFramer()
    var serverEncrypted = false
    var serverNext: UInt64?
    var serverResync = false
    var building: SMTPReply?
    var greetingSeen = false

    // Dialog.
    var pending = PendingQueue()
    var transactionCount = 0
    /// The open transaction, if any.
    var transaction: OpenTransaction?
    var scanner = MessageScanner(afterCRLF: true)
    /// A message that ended with near misses; armed after the reply to its end of data.
    var nearMissAfterEnd: (transaction: Int, terminator: TerminatorInfo, envelope: SmuggledEnvelope, armed: Bool)?
    /// Where command arguments and reply lines are kept while events and queued commands
    /// refer to them (reused once nothing does, so text nobody keeps costs no allocation).
    /// Each store is sized for the usual dialog's live text (pending command arguments; one
    /// reply, an EHLO reply being the longest; a message's Message-ID and Subject plus its
    /// fingerprint; a transaction's envelope): every open connection and every pooled session
    /// holds all four. A longer text gets a larger store, kept for the connection but let go
    /// by ``reset()`` (see ``textStoreLimit``).
    var commandText = TextArena(initialCapacity: 256)
    var replyText = TextArena(initialCapacity: 512)
    var headerText = TextArena(initialCapacity: 512)
    var envelopeText = TextArena(initialCapacity: 256)
    /// The largest text store a session keeps for its next connection (twice the largest
    /// first size): a store a rare long text grew is let go at the reset instead. (Reply and
    /// header stores of 256 bytes cut the heap but raised the 1 GiB capture's peak RSS.)
    static let textStoreLimit = 1024
    /// Keeps the storage pool alive (the arenas and the queue refer to it unretained); nil: none.
    let storagePool: SessionStoragePool?
    var clientAnomalies = AnomalyCounts()
    var serverAnomalies = AnomalyCounts()

    struct OpenTransaction {
        var index: Int
        var mailFrom: SMTPText?
        var rcptTo = ReplyLines([])
        /// Message mode is on for this transaction (after 354 or the first BDAT).
        var messageActive = false
        var dataOffset: UInt64 = 0
    }

    public init() { self.init(options: SMTPOptions()) }

    /// A session with `options`. With a `storagePool`, its header values go to the pool's
    /// header store, and while it waits for the reply to an end of data its reply and
    /// envelope stores and its pending-reply slots wait in the pool, taken back (or others
    /// in their place) as it goes on (see ``SessionStoragePool``); the session keeps the
    /// pool alive.
    public init(options: SMTPOptions, storagePool: SessionStoragePool? = nil) {
        // Limits below 1 would make no sense and must not make arithmetic trap.
        var o = options
        o.maxLineLength = max(16, o.maxLineLength)
        o.maxArgumentLength = max(1, o.maxArgumentLength)
        o.maxPendingCommands = max(1, o.maxPendingCommands)
        o.maxReplyLines = max(1, o.maxReplyLines)
        o.maxHeaderBytes = max(0, o.maxHeaderBytes)
        o.maxHeaderValueLength = max(0, o.maxHeaderValueLength)
        o.maxRecipients = max(0, o.maxRecipients)
        o.maxHeldBytes = max(0, o.maxHeldBytes)
        o.maxSmuggledBytes = max(0, o.maxSmuggledBytes)
        o.maxNearMissesPerMessage = max(0, o.maxNearMissesPerMessage)
        o.maxReportsPerAnomaly = max(0, o.maxReportsPerAnomaly)
        self.options = o
        reportsRoutineEvents = o.reportsRoutineEvents
        scanner.limits = ScanLimits(o)
        self.storagePool = storagePool
        commandText.pool = storagePool
        replyText.pool = storagePool
        headerText.pool = storagePool
        envelopeText.pool = storagePool
        pending.pool = storagePool
    }

    /// Starts over as a new session with the same options (as `init(options:)` would),
    /// keeping the storage of its buffers and text stores, so that a session reused for the
    /// next connection allocates nothing that the last one already had.
    public mutating func reset() {
        // Field by field, in place (a new session copied over this one cost a few thousand
        // instructions per connection). Every stored property is set here as `init` sets
        // it: a property added to the session must be added here too.
        statistics = SMTPStatistics()
        reportsRoutineEvents = options.reportsRoutineEvents
        clientFramer.reset()
        clientMode = .commands
        clientNext = nil
        clientResync = false
        clientResyncQuiet = false
        held.removeAll(keepingCapacity: held.capacity <= 4096)
        heldOffset = 0
        // Set, not compared first: `!= nil` on an optional command ran an outlined copy and
        // destroy of it (about 150 instructions each, every reset).
        authResponsePending = nil
        heldAuth = nil
        starttlsClientOffset = 0
        serverFramer.reset()
        serverEncrypted = false
        serverNext = nil
        serverResync = false
        if building != nil { building = nil }
        greetingSeen = false
        pending.removeAll()
        transactionCount = 0
        if transaction != nil { transaction = nil }
        scanner.reset(afterCRLF: true)
        if nearMissAfterEnd != nil { nearMissAfterEnd = nil }
        // The text stores are kept (recycled from their front once nothing refers to them),
        // unless a rare long text grew one far past the usual.
        commandText.release(ifLargerThan: Self.textStoreLimit)
        replyText.release(ifLargerThan: Self.textStoreLimit)
        headerText.release(ifLargerThan: Self.textStoreLimit)
        envelopeText.release(ifLargerThan: Self.textStoreLimit)
        clientAnomalies = AnomalyCounts()
        serverAnomalies = AnomalyCounts()
    }

    /// Feeds in-order bytes of one side at stream `offset`; events are emitted synchronously.
    /// Bytes before the side's next expected offset are skipped; a jump forward is taken as a gap.
    public mutating func feed(_ side: SMTPSide, _ bytes: UnsafeRawBufferPointer, at offset: UInt64, emit: (SMTPEvent) -> Void) {
        // Most chunks are message data that follow on from the last: straight to the scanner.
        if side == .client, case .data = clientMode, clientNext == offset {
            clientNext = offset &+ UInt64(bytes.count)
            statistics.clientBytes &+= UInt64(bytes.count)
            // The chunk is one plain run most of the time: taken without the scan's own call.
            let plain = scanner.scanPlainStart(bytes)
            if plain >= bytes.count { return }
            let (end, stop) = scanner.scan(bytes, from: plain, base: offset)
            if case .needMore = stop, end >= bytes.count { return }
            scanStopped(stop, at: end, base: offset, emit: emit)
            processClient(bytes, from: end, at: offset, emit: emit)
            return
        }
        let expected = side == .client ? clientNext : serverNext
        var start = 0
        if let expected {
            if offset > expected {
                gap(side, at: expected, length: offset &- expected, emit: emit)
            } else if offset < expected {
                let skip = expected &- offset
                guard skip < UInt64(bytes.count) else { return }
                start = Int(skip)
            }
        }
        let next = offset &+ UInt64(bytes.count)
        let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
        let at = offset &+ UInt64(start)
        switch side {
        case .client:
            clientNext = next
            statistics.clientBytes &+= UInt64(rest.count)
            processClient(rest, at: at, emit: emit)
        case .server:
            serverNext = next
            statistics.serverBytes &+= UInt64(rest.count)
            processServer(rest, at: at, emit: emit)
        }
    }

    /// `length` bytes of `side` at `offset` were lost.
    public mutating func gap(_ side: SMTPSide, at offset: UInt64, length: UInt64, emit: (SMTPEvent) -> Void) {
        statistics.gapBytes &+= length
        switch side {
        case .client:
            clientNext = offset &+ length
            clientGap(emit: emit)
        case .server:
            serverNext = offset &+ length
            serverGap(emit: emit)
        }
    }

    /// `side` will send nothing more.
    public mutating func end(_ side: SMTPSide, emit: (SMTPEvent) -> Void) {
        if case .hold = clientMode { commitHold(emit: emit) }
        reportUnfinishedOverlongLine(side, emit: emit)
        guard side == .client else { return }
        if transaction?.messageActive == true, clientMode == .data || isBDAT(clientMode) {
            endMessageIncomplete(.end, emit: emit)
            clientMode = .commands
        }
    }

    // MARK: - Shared helpers

    /// A line that outgrew the limit and is cut off by a gap or the end of the stream never
    /// completes, so its completion cannot report it: say it here. Reported at these points
    /// (not while the line grows) so that events do not depend on how the bytes were chunked.
    mutating func reportUnfinishedOverlongLine(_ side: SMTPSide, emit: (SMTPEvent) -> Void) {
        let framer = side == .client ? clientFramer : serverFramer
        guard framer.pendingTruncated else { return }
        anomaly(.lineTooLong, side, framer.pendingOffset, emit: emit)
    }

    func isBDAT(_ mode: ClientMode) -> Bool {
        if case .bdat = mode { return true }
        return false
    }

    mutating func anomaly(_ kind: SMTPAnomaly, _ side: SMTPSide, _ offset: UInt64, emit: (SMTPEvent) -> Void) {
        let seen: UInt64
        switch side {
        case .client: seen = clientAnomalies.note(kind)
        case .server: seen = serverAnomalies.note(kind)
        }
        if seen < UInt64(options.maxReportsPerAnomaly) {  // not negative: see init
            emit(.anomaly(kind, side: side, offset: offset))
        } else {
            statistics.suppressedAnomalies += 1
        }
    }

    mutating func push(_ context: ReplyContext, at offset: UInt64, emit: (SMTPEvent) -> Void) {
        push(context, verb: nil, at: offset, emit: emit)
    }

    /// Queues `command` for its reply, with its known verb beside it.
    mutating func push(command: consuming SMTPCommand, at offset: UInt64, emit: (SMTPEvent) -> Void) {
        let verb = command.knownVerb
        push(.command(consume command), verb: verb, at: offset, emit: emit)
    }

    private mutating func push(_ context: consuming ReplyContext, verb: SMTPVerb?, at offset: UInt64, emit: (SMTPEvent) -> Void) {
        if pending.count >= options.maxPendingCommands {
            _ = pending.pop()
            statistics.droppedPendingCommands += 1
            anomaly(.tooManyPendingCommands, .client, offset, emit: emit)
        }
        // The message is over and its reply awaited, for long on a stalled connection: the
        // queue keeps just the transaction, and what the stores held went out with the
        // events, so its slots and stores wait in the pool meanwhile.
        if case .endOfData(let transaction) = context {
            if !pending.pushParked(endOfData: transaction) { pending.push(consume context, verb: verb) }
            lendStorage()
            return
        }
        pending.push(consume context, verb: verb)
    }

    /// Lends the reply and envelope stores when nothing refers to them any more (see
    /// ``TextArena/lend()``).
    /// The command store is kept: whatever is lent is taken again by this session or the
    /// next, about 150 instructions a store, and it holds the fewest bytes.
    mutating func lendStorage() {
        replyText.lend()
        envelopeText.lend()
    }

    mutating func summary(_ t: consuming OpenTransaction, size: UInt64? = nil, fingerprint: String? = nil) -> MessageSummary {
        // Header values are written only here, at the message's end, and read by whoever
        // takes the summary: with a pool, into its header store, one for all its sessions
        // (reused from its front once no summary refers to it), so no session holds one.
        let fields: HeaderFields
        let hex: SMTPText
        let digest = scanner.fingerprintValue
        if let pool = storagePool {
            pool.headerText.recycle()
            fields = scanner.headerFields(
                maxValueLength: options.maxHeaderValueLength, addressFields: options.readsAddressFields, arena: &pool.headerText)
            hex = fingerprint.map(SMTPText.init) ?? pool.headerText.text(count: 16) { Fingerprint.writeHex(digest, into: $0) }
        } else {
            headerText.recycle()
            fields = scanner.headerFields(
                maxValueLength: options.maxHeaderValueLength, addressFields: options.readsAddressFields, arena: &headerText)
            // The 16 hex digits go in the header store too: one over the small-string limit, a
            // String would be a heap allocation per message.
            hex = fingerprint.map(SMTPText.init) ?? headerText.text(count: 16) { Fingerprint.writeHex(digest, into: $0) }
        }
        // The envelope moved out of the transaction, not copied.
        var t = t
        let mailFrom = t.mailFrom.take()
        var rcptTo = ReplyLines([])
        swap(&rcptTo, &t.rcptTo)
        return MessageSummary(
            transaction: t.index, mailFrom: consume mailFrom, rcptTo: consume rcptTo, dataOffset: t.dataOffset,
            size: size ?? scanner.size, fields: consume fields, fingerprint: consume hex,
            headersTruncated: scanner.headersTruncated)
    }

    mutating func endMessageIncomplete(_ reason: IncompleteReason, emit: (SMTPEvent) -> Void) {
        // Moved out: its envelope moves into the summary, not copied.
        guard transaction?.messageActive == true, let t = transaction.take() else { return }
        emit(.messageIncomplete(summary(t), reason: reason))
        scanner.reset(afterCRLF: true)
    }
}

extension Optional {
    /// No value, told by the case alone (`x == nil` on an optional of an `Equatable` type may
    /// compile to the `Equatable` comparison, a copy of the value included).
    @inline(__always)
    var isNone: Bool {
        if case .none = self { return true }
        return false
    }
}
