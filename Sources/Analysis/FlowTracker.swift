import Reassembly
import SMTP
import Wire

/// Follows one TCP flow: feeds its bytes to the SMTP machine, tags each SMTP event with
/// the frame and time of the chunk that produced it, keeps the client's recent segments
/// for terminator geometry, and turns it all into transactions and findings.
///
/// What a flow costs before its first payload byte is kept small (a SYN flood fills the
/// flow table with such flows): options are shared (``FlowTrackerShared``), the dialog
/// starts on the first byte, gap or end, and the segment ring allocates on the first
/// client payload; transactions and findings are empty arrays until something happens.
struct FlowTracker<Dialog: SMTPDialog> {
    private(set) var info: FlowInfo
    private(set) var capture: Int
    private let shared: FlowTrackerShared<Dialog>
    /// Nil until the dialog is first needed; then fed in place (see ``DialogBox``).
    private var dialogBox: DialogBox<Dialog>?
    private var ring: SegmentRing
    private var transactions: [TransactionState] = []
    /// The text of this flow's records written while it is open (addresses, header fields,
    /// reply texts, banner, findings; what its close writes goes to
    /// ``FlowTrackerShared/closingTexts``): recycled with the tracker, from its front only
    /// once no record of an earlier flow still refers to it (else appended to or replaced,
    /// never overwritten). Starts small: a flow without payload rarely writes any, and its
    /// record may wait in the merge queue (with `--threads`) holding the store.
    private var texts = TextArena(initialCapacity: 128, maxCapacity: FlowTracker.maxTextCapacity)
    /// The storage of the last record's transaction list, emptied in place for the next flow
    /// once that record is gone (else the list gets new storage, the record keeping its own).
    private var recordList: [TransactionRecord] = []
    /// Past the transaction limit: SMTP events are no longer followed.
    private var transactionLimitReached = false
    private(set) var findings: FindingSet
    /// What most flows never set, out of line (see ``RareFlowState``).
    private var rareBox: RareFlowStateBox?
    private var quitSeen = false
    private var resetSeen = false
    private var finSeen = false
    private var clientEnd: StreamEndReason?
    private var serverEnd: StreamEndReason?
    private var lastFrame: UInt64
    private var lastNanoseconds: Int64
    private var lastClientFrame: UInt64?
    private var lastClientNanoseconds: Int64?
    /// Set for nearly every flow with payload, so kept here rather than in the rare state.
    private var banner: SMTPText?
    private var serverEndFrame: UInt64?
    private var serverEndNanoseconds: Int64?

    private var tlsStartNanoseconds: Int64? {
        get { rareBox?.state.tlsStartNanoseconds }
        set { changeRare { $0.tlsStartNanoseconds = newValue } }
    }
    private var firstReset: (frame: UInt64, reportedOn: SMTPSide)? {
        get { rareBox?.state.firstReset }
        set { changeRare { $0.firstReset = newValue } }
    }
    private var reply421Frame: UInt64? {
        get { rareBox?.state.reply421Frame }
        set { changeRare { $0.reply421Frame = newValue } }
    }
    /// Transactions whose outcome became known, for the live hook; drained by the owner.
    var liveTransactions: [TransactionRecord] { rareBox?.state.liveTransactions ?? [] }

    /// A tracker whose dialog starts as `dialog`. Holds its own copy of the limits and of
    /// `dialog`: an owner of many trackers shares one ``FlowTrackerShared`` instead.
    /// Queues decided transactions for ``drainLive()``.
    init(info: FlowInfo, capture: Int, options: AnalysisOptions, dialog: Dialog) {
        let shared = FlowTrackerShared(options: options) { dialog }
        shared.reportsLive = true
        self.init(info: info, capture: capture, shared: shared)
    }

    /// A tracker that starts its dialog with `shared.makeDialog` when first needed.
    init(info: FlowInfo, capture: Int, shared: FlowTrackerShared<Dialog>) {
        self.info = info
        self.capture = capture
        self.shared = shared
        self.ring = SegmentRing(capacity: shared.segmentRingCapacity)
        self.findings = FindingSet(maxFrames: shared.maxEvidenceFrames)
        self.lastFrame = info.firstFrame
        self.lastNanoseconds = info.firstTimestampNanoseconds
        Self.addStartFindings(info, to: &findings)
    }

    /// What a flow is found to be from its first frame.
    private static func addStartFindings(_ info: FlowInfo, to findings: inout FindingSet) {
        if info.midstream {
            findings.add(.midstream, frames: [info.firstFrame], message: "the capture began after the connection's handshake")
        }
    }

    /// Starts over for another flow, as `init(info:capture:shared:)` would. Its storage went
    /// back to the shared pools when the flow closed (what the live hook still needed, now).
    mutating func reuse(info: FlowInfo, capture: Int) {
        releaseStorage(keepingLiveState: false)
        self = FlowTracker(info: info, capture: capture, shared: shared)
    }

    /// Hands the flow's storage back to the shared pools (see ``FlowTrackerShared``): the
    /// dialog, the segment ring, the transaction states and the rare state emptied; what the
    /// record shares (record and finding lists, text store) as it is, to be emptied and
    /// recycled there once the record is gone. With `keepingLiveState`, what the live hook
    /// reads after the close stays: the transaction states and the rare state.
    private mutating func releaseStorage(keepingLiveState: Bool) {
        if let box = dialogBox {
            dialogBox = nil
            shared.keepSpare(box)
        }
        if ring.hasStorage {
            var kept = SegmentRing(capacity: shared.segmentRingCapacity)
            swap(&kept, &ring)
            kept.removeAll()
            shared.keepSpare(ring: kept)
        }
        // The record's own references to its text are all that may keep the store.
        banner = nil
        var records: [TransactionRecord] = []
        swap(&records, &recordList)
        var texts = TextArena(initialCapacity: 128, maxCapacity: Self.maxTextCapacity)
        swap(&texts, &self.texts)
        shared.keepAfterRecord(RecordStorage(records: records, findings: findings.takeStorage(), texts: texts))
        guard !keepingLiveState else { return }
        if transactions.capacity > 0 {
            var kept: [TransactionState] = []
            swap(&kept, &transactions)
            // A list a flow with many transactions grew is let go: pooled, it would be held
            // by every later flow that takes it.
            if kept.capacity <= Self.keptTransactionStates {
                kept.removeAll(keepingCapacity: true)
                shared.keepSpare(states: kept)
            }
        }
        if var box = rareBox {
            rareBox = nil
            if isKnownUniquelyReferenced(&box) {
                var live = box.state.liveTransactions
                box.state = RareFlowState()
                live.removeAll(keepingCapacity: true)
                box.state.liveTransactions = live
                shared.keepSpare(rareBox: box)
            }
        }
    }

    // MARK: stream events

    /// Handles one reassembler event of this flow (`opened` and `closed` are the owner's).
    mutating func handle(_ event: StreamEvent) {
        switch event {
        case .opened, .closed:
            return
        case .data(_, let direction, let offset, let bytes, let segment):
            let side: SMTPSide = direction == .clientToServer ? .client : .server
            note(frame: segment.frame, at: segment.timestampNanoseconds)
            // Started before the ring is first written: starting takes a ring from the pool.
            let dialog = startedDialog()
            if side == .client {
                ring.append(offset: offset, length: bytes.count, frame: segment.frame, timestampNanoseconds: segment.timestampNanoseconds)
                lastClientFrame = segment.frame
                lastClientNanoseconds = segment.timestampNanoseconds
            }
            let context = EventContext(side: side, frame: segment.frame, timestampNanoseconds: segment.timestampNanoseconds)
            // Each event is handled as it fires (nothing here reads the dialog, so the order
            // of effects is the same as collecting them first), with no per-chunk buffer.
            dialog._withUnsafeGuaranteedRef { box in
                box.dialog.feed(side, bytes, at: offset) { handle($0, context: context) }
            }
        case .retransmission(_, let direction, let offset, let length, let segment, let conflicting):
            note(frame: segment.frame, at: segment.timestampNanoseconds)
            if conflicting {
                findings.add(.overlapConflict, frames: [segment.frame],
                             message: "frame \(segment.frame) resent \(length) stream bytes at offset \(offset) with different content (first copy kept)")
            }
            if direction == .clientToServer { noteRetransmission(offset: offset, length: length, frame: segment.frame) }
        case .gap(_, let direction, let offset, let length, let reason):
            let side: SMTPSide = direction == .clientToServer ? .client : .server
            let code: FindingCode = reason == .snaplen ? .truncated : .gap
            let words = reason == .snaplen ? "cut by the snapshot length" : "missing from the capture (\(reason.rawValue))"
            findings.add(code, frames: [lastFrame], message: "\(length) \(side) bytes at stream offset \(offset) \(words)")
            for index in transactions.indices where isOpen(transactions[index]) { transactions[index].gapped = true }
            let context = EventContext(side: side, frame: lastFrame, timestampNanoseconds: lastNanoseconds)
            startedDialog()._withUnsafeGuaranteedRef { box in
                box.dialog.gap(side, at: offset, length: length) { handle($0, context: context) }
            }
        case .end(_, let direction, let reason, let frame, let timestamp):
            note(frame: frame, at: timestamp)
            handleEnd(direction == .clientToServer ? .client : .server, reason: reason, frame: frame, at: timestamp)
        case .limitReached(let limit, _, let frame):
            findings.add(.limitReached, frames: [frame], message: "reassembly limit \(limit.rawValue) reached")
        }
    }

    private mutating func handleEnd(_ side: SMTPSide, reason: StreamEndReason, frame: UInt64, at timestamp: Int64) {
        let real = reason == .fin || reason == .rst
        if reason == .rst {
            resetSeen = true
            if firstReset == nil { firstReset = (frame, side) }
        }
        if reason == .fin { finSeen = true }
        if side == .client {
            clientEnd = reason
            if real { clientGaveUp(kind: reason == .rst ? .rst : .fin, frame: frame, at: timestamp) }
        } else {
            serverEnd = reason
            serverEndFrame = frame
            serverEndNanoseconds = timestamp
            // Closing after the client closed, or after QUIT, is the normal end; otherwise the
            // server stopped waiting for the client.
            if real && !quitSeen && clientEnd == nil && !transactions.contains(where: { $0.awaitingEndOfDataReply }) {
                var evidence = [frame]
                if let reply421Frame { evidence.append(reply421Frame) }
                // Capture order is not always send order (the capture point may be nearer one side).
                let idle = lastClientNanoseconds.map { last -> String in
                    let gap = timestamp &- last
                    return gap < 0
                        ? " \(TimeText.duration(last &- timestamp)) before the client's last data"
                        : " \(TimeText.duration(gap)) after the client's last data"
                } ?? ""
                findings.add(.serverTimeout, frames: evidence,
                             message: "the server closed the connection (\(reason.rawValue.uppercased()), frame \(frame))\(idle) while waiting for the client")
            }
        }
        let context = EventContext(side: side, frame: frame, timestampNanoseconds: timestamp, endReason: reason)
        startedDialog()._withUnsafeGuaranteedRef { box in
            box.dialog.end(side) { handle($0, context: context) }
        }
        reportDecided(now: timestamp)
    }

    // MARK: SMTP events (the test seam)

    /// Handles one SMTP event that fired while `context`'s chunk was fed.
    mutating func handle(_ event: SMTPEvent, context: EventContext) {
        note(frame: context.frame, at: context.timestampNanoseconds)
        guard !transactionLimitReached else { return }
        switch event {
        case .transactionStarted(let index, let offset):
            if position(of: index) == nil {
                guard transactions.count < shared.maxTransactions else {
                    stopAtTransactionLimit(context: context)
                    return
                }
                let start = ring.entry(containing: offset)?.timestampNanoseconds ?? context.timestampNanoseconds
                adoptSpareStates()
                transactions.append(TransactionState(index: index, startNanoseconds: min(start, context.timestampNanoseconds)))
            }
        case .command(let command):
            handleCommand(command, context: context)
        case .reply(let reply, let answering):
            handleReply(reply, answering: answering, context: context)
        case .extensions(let keywords):
            for keyword in keywords where Self.offersMaskedStarttls(keyword) {
                findings.add(.starttlsMasked, frames: [context.frame], message: "the EHLO reply offers XXXXXXXA where STARTTLS was: masked by a middlebox")
                break
            }
        case .messageStarted(let index, let offset):
            let at = current(index, context: context)
            transactions[at].messageOffset = offset
            transactions[at].dataCommandSeen = true
            if transactions[at].dataFrame == nil { transactions[at].dataFrame = frame(at: offset, context: context) }
        case .endOfData(let summary, let terminator):
            let at = current(summary.transaction, context: context)
            apply(summary, to: at)
            transactions[at].endOfDataSeen = true
            Self.writeGeometry(
                of: terminator, into: &transactions[at].terminator, context: context, messageStart: summary.dataOffset, ring: ring)
            // Read in place: most terminators are not split, and a copy retains and releases.
            if transactions[at].terminator.isSplit {
                let record = transactions[at].terminator
                addFinding(.eodSplit, frames: record.frameList) { Self.splitMessage(record, into: &$0) }
            }
        case .nearMissTerminator(_, let terminator):
            let geometry = geometry(of: terminator, context: context)
            findings.add(.eodNonstandard, frames: geometry.frames,
                         message: "non-standard end-of-data sequence \(terminator.style.rawValue) inside the message at client offset \(terminator.offset)")
        case .smugglingAccepted(_, let terminator, let smuggled):
            let geometry = geometry(of: terminator, context: context)
            let hidden = smuggled.mailFrom.map { ", hidden MAIL FROM:<\($0)>" } ?? ""
            findings.add(.eodNonstandardAccepted, frames: geometry.frames + [context.frame],
                         message: "the server replied after the non-standard sequence \(terminator.style.rawValue) (frame \(context.frame)): it ended the message there\(hidden)")
        case .bdatChunk(let index, _, _, let offset):
            let at = current(index, context: context)
            transactions[at].dataCommandSeen = true
            if transactions[at].dataFrame == nil { transactions[at].dataFrame = frame(at: offset, context: context) }
            if transactions[at].messageOffset == nil { transactions[at].messageOffset = offset }
        case .messageIncomplete(let summary, let reason):
            let at = current(summary.transaction, context: context)
            apply(summary, to: at)
            transactions[at].messageIncomplete = reason
            if reason == .gap { transactions[at].gapped = true }
        case .tlsStarted:
            if tlsStartNanoseconds == nil { tlsStartNanoseconds = context.timestampNanoseconds }
            findings.add(.tls, frames: [context.frame], message: "STARTTLS accepted (frame \(context.frame)); the rest of the connection is encrypted")
        case .anomaly(let anomaly, let side, let offset):
            findings.add(FindingCode(anomaly), frames: [context.frame], message: "\(anomaly.rawValue) on the \(side) side at stream offset \(offset)")
        }
        reportDecided(now: context.timestampNanoseconds)
    }

    private mutating func handleCommand(_ command: SMTPCommand, context: EventContext) {
        switch Self.knownVerb(of: command) {
        case .mail:
            // A MAIL opens a new transaction unless the SMTP layer just announced it.
            let reuse = transactions.last.map { $0.mailFrom.isNone && !$0.dataCommandSeen && $0.reply.isNone } ?? false
            let at = reuse ? transactions.count - 1 : current((transactions.last?.index ?? -1) + 1, context: context)
            transactions[at].mailFrom = command.argumentText.withBytes { Self.pathText(in: $0, afterLiteral: "FROM:", texts: &texts) }
        case .rcpt:
            let at = current(nil, context: context)
            guard transactions[at].rcptTo.count < 1000 else { return }
            // Swapped out: `list` the only owner while it grows (no copy, no release).
            var list = ReplyLines([])
            swap(&list, &transactions[at].rcptTo)
            command.argumentText.withBytes { bytes in
                guard let range = Self.quickPathRange(in: bytes, afterLiteral: "TO:") else {
                    if let path = Self.path(in: bytes, after: "TO:") { list = ReplyLines(list.strings + [path]) }
                    return
                }
                guard let range else { return }
                list = texts.appending(line: UnsafeRawBufferPointer(rebasing: bytes[range]), to: list)
            }
            transactions[at].rcptTo = list
        case .data, .bdat:
            let at = current(nil, context: context)
            transactions[at].dataCommandSeen = true
            if transactions[at].dataFrame == nil { transactions[at].dataFrame = frame(at: command.offset, context: context) }
        case .quit:
            quitSeen = true
            clientGaveUp(kind: .quit, frame: context.frame, at: context.timestampNanoseconds, needsPause: true)
        case .rset:
            clientGaveUp(kind: .rset, frame: context.frame, at: context.timestampNanoseconds, needsPause: true)
        case .some:
            break  // no known verb is all `X`
        case nil:
            let verb = Self.uppercasedVerb(command.verb)
            if verb.count >= 3 && verb.allSatisfy({ $0 == "X" }) {
                findings.add(.commandMasked, frames: [context.frame], message: "the client command arrived as \(command.verb) (frame \(context.frame)): rewritten by a middlebox")
            }
        }
    }

    private mutating func handleReply(_ reply: SMTPReply, answering: ReplyContext, context: EventContext) {
        // The joined text is built only where it is kept or inspected (most replies need none).
        if reply.code == 421 { reply421Frame = context.frame }
        var masked = false
        // Only a line starting with `x` or `X` (or a byte that is no printable ASCII, read by
        // Characters) can start with `XXXXXXXA`: most replies have none, found without
        // handing out their lines.
        let mayBeMasked: (UInt8) -> Bool = ReplyLines.mayStartMaskedKeyword
        if reply.text.someLineStarts(where: mayBeMasked) {
            reply.text.forEachLine(while: { line in
                guard let first = line.first, mayBeMasked(first) else { return true }
                masked = Self.offersMaskedStarttls(line)
                return !masked
            })
        }
        if masked {
            findings.add(.starttlsMasked, frames: [context.frame], message: "the EHLO reply offers XXXXXXXA where STARTTLS was: masked by a middlebox")
        }
        switch answering {
        case .greeting:
            if banner.isNone { banner = texts.joined(reply.text, code: reply.code) }
            if Self.isMaskedBanner(reply.text) {
                let text = reply.text.joined()
                findings.add(.bannerMasked, frames: [context.frame], message: "the greeting is masked (\"\(reply.code) \(text.prefix(40))\", frame \(context.frame)): an SMTP fixup is in the path")
            }
        case .command(let command):
            let verb = Self.knownVerb(of: command)
            if verb == .ehlo && (reply.code == 500 || reply.code == 502) {
                findings.add(.ehloRejected, frames: [context.frame], message: "EHLO was answered \(reply.code) (frame \(context.frame))")
            }
            if verb == .rcpt && reply.code >= 400 {
                command.argumentText.withBytes { bytes in
                    switch Self.quickPathRange(in: bytes, afterLiteral: "TO:") {
                    case .some(.some(let range)): refuseRecipient(UnsafeRawBufferPointer(rebasing: bytes[range]))
                    case .some(.none): break
                    case .none:
                        guard var path = Self.path(in: bytes, after: "TO:") else { return }
                        path.withUTF8 { refuseRecipient(UnsafeRawBufferPointer($0)) }
                    }
                }
            }
            if (verb == .data || verb == .bdat) && reply.code >= 400, let at = transactions.lastIndex(where: { $0.dataCommandSeen && $0.reply.isNone }) {
                transactions[at].reply = ReplyRecord(code: reply.code, textValue: texts.joined(reply.text), frame: context.frame, timeNanoseconds: context.timestampNanoseconds, latencyNanoseconds: nil)
            }
        case .endOfData(let index):
            guard let at = position(of: index), transactions[at].reply.isNone else { return }
            let latency = transactions[at].terminator.timeNanoseconds.map { context.timestampNanoseconds &- $0 }
            transactions[at].reply = ReplyRecord(code: reply.code, textValue: texts.joined(reply.text), frame: context.frame, timeNanoseconds: context.timestampNanoseconds, latencyNanoseconds: latency)
            if let gaveUp = transactions[at].gaveUp {
                transactions[at].replyAfterGiveUp = true
                if (200..<300).contains(reply.code) {
                    let frames = [gaveUp.frame, context.frame].compactMap { $0 }
                    findings.add(.replyAfterClose, frames: frames,
                                 message: "the server accepted the message with \(reply.code) (frame \(context.frame)) only after the client had given up (\(gaveUp.kind.rawValue.uppercased())\(gaveUp.frame.map { ", frame \($0)" } ?? "")): the sender will send it again")
                }
            }
        case .unsolicited:
            break
        }
    }

    // MARK: helpers

    /// A refused RCPT is no recipient of the message (as `MessageSummary.rcptTo`). With
    /// pipelining the reply may come after later commands, but always before the reply to the
    /// transaction's end of data: the transaction is the latest unanswered one that names it.
    private mutating func refuseRecipient(_ path: UnsafeRawBufferPointer) {
        // Lines compared as their strings compare (as bytes when ASCII); the list without the
        // refused line is written into the flow's text store.
        guard let at = transactions.lastIndex(where: { $0.reply.isNone && $0.rcptTo.index(ofLine: path) != nil }),
            let position = transactions[at].rcptTo.index(ofLine: path, last: true)
        else { return }
        transactions[at].rcptTo = texts.removing(line: position, from: transactions[at].rcptTo)
    }

    /// Changes the rare state, allocating it on first use (and copying it first if a copy of
    /// this tracker still shares it).
    private mutating func changeRare(_ change: (inout RareFlowState) -> Void) {
        if rareBox == nil { rareBox = shared.spareRareBox() }
        if !isKnownUniquelyReferenced(&rareBox) { rareBox = RareFlowStateBox(rareBox?.state ?? RareFlowState()) }
        if let rareBox { change(&rareBox.state) }
    }

    /// The dialog, started now if this is the first thing fed to it. Unretained: `dialogBox`
    /// keeps it, and nothing reached from the dialog's events changes `dialogBox` (only
    /// `reuse`, by the owner, does), so no retain and release per fed chunk.
    @inline(__always)
    private mutating func startedDialog() -> Unmanaged<DialogBox<Dialog>> {
        if let dialogBox { return Unmanaged.passUnretained(dialogBox) }
        return Unmanaged.passUnretained(startDialog())
    }

    private mutating func startDialog() -> DialogBox<Dialog> {
        adoptSpareTexts(payload: true)
        if !ring.hasStorage, let spare = shared.spareRing() { ring = spare }
        let box = shared.spareDialog() ?? DialogBox(shared.makeDialog())
        // The live hook decides transactions after each event: it gets them all.
        if shared.reportsLive { box.dialog.reportsRoutineEvents = true }
        dialogBox = box
        return box
    }

    /// Takes a recycled text store from the pool unless this flow already has one. Without
    /// one, a flow that carries `payload` starts its own at the size of a usual flow's text
    /// (banner, envelope, header fields, reply: a few hundred bytes), not grown to it from the
    /// 128 bytes of a flow that writes only its Community ID.
    private mutating func adoptSpareTexts(payload: Bool = false) {
        guard !texts.hasStore else { return }
        if let spare = shared.spareTexts() {
            texts = spare
        } else if payload {
            texts = TextArena(initialCapacity: 768, maxCapacity: Self.maxTextCapacity)
        }
    }

    /// The largest text store a tracker keeps for its next flows.
    private static var maxTextCapacity: Int { 16 * 1024 }

    /// Takes emptied transaction-state storage from the pool unless this flow has some; else
    /// makes room for ``usualTransactions`` (this storage circulates among the trackers
    /// through the pool: it is never part of a record, and a list a busier flow grew comes
    /// back grown).
    private mutating func adoptSpareStates() {
        guard transactions.capacity == 0 else { return }
        if let spare = shared.spareStates() { transactions = spare } else { transactions.reserveCapacity(Self.usualTransactions) }
    }

    /// Transactions a flow rarely exceeds (the generated mix has 1-3 a connection; a state is
    /// 448 bytes, held by every open connection and every pooled list).
    static var usualTransactions: Int { 3 }
    /// The largest transaction-state list a closed flow hands to the pool (a few times the usual).
    static var keptTransactionStates: Int { 16 }

    private mutating func note(frame: UInt64, at timestamp: Int64) {
        if frame > lastFrame { lastFrame = frame }
        if timestamp > lastNanoseconds { lastNanoseconds = timestamp }
    }

    private func position(of index: Int) -> Int? { transactions.lastIndex { $0.index == index } }

    /// The transaction `index` (or the latest one), created if the SMTP layer did not announce it.
    private mutating func current(_ index: Int?, context: EventContext) -> Int {
        if let index, let at = position(of: index) { return at }
        if index == nil, let last = transactions.indices.last, transactions[last].reply.isNone, !transactions[last].endOfDataSeen {
            return last
        }
        let newIndex = index ?? ((transactions.last?.index ?? -1) + 1)
        adoptSpareStates()
        transactions.append(TransactionState(index: newIndex, startNanoseconds: context.timestampNanoseconds))
        // One past the limit at most: the caller fills it in, and nothing after it is followed.
        if transactions.count > shared.maxTransactions { stopAtTransactionLimit(context: context) }
        return transactions.count - 1
    }

    /// Past ``AnalysisOptions/maxTransactionsPerFlow``: reported once; what is still open is
    /// incomplete (its outcome may come in events no longer followed), and later SMTP events are ignored.
    private mutating func stopAtTransactionLimit(context: EventContext) {
        guard !transactionLimitReached else { return }
        transactionLimitReached = true
        for index in transactions.indices where transactions[index].reply.isNone { transactions[index].gapped = true }
        findings.add(
            .limitReached, frames: [context.frame],
            message: "more than \(shared.maxTransactions) transactions in this connection: not followed after frame \(context.frame) (--max-transactions-per-flow)")
    }

    private func isOpen(_ state: TransactionState) -> Bool {
        state.reply.isNone && (state.dataCommandSeen || state.endOfDataSeen || state.messageOffset != nil || !state.mailFrom.isNone)
    }

    private func frame(at offset: UInt64, context: EventContext) -> UInt64 {
        ring.entry(containing: offset)?.frame ?? context.frame
    }

    private mutating func apply(_ summary: MessageSummary, to at: Int) {
        transactions[at].message = MessageFacts(summary, texts: &texts)
        if transactions[at].mailFrom.isNone { transactions[at].mailFrom = summary.mailFromText.map { texts.copy($0) } }
        if transactions[at].rcptTo.count == 0 { transactions[at].rcptTo = texts.copy(summary.rcptToList) }
        transactions[at].dataCommandSeen = true
    }

    /// Where the terminator's bytes fell. Bytes before `messageStart` are the DATA line's own
    /// CRLF (an empty message): sent before the 354, they are in another segment by protocol,
    /// not by a split, so the geometry covers only the terminator bytes that follow it.
    private func geometry(of terminator: TerminatorInfo?, context: EventContext, messageStart: UInt64 = 0) -> TerminatorRecord {
        var record = TerminatorRecord.unseen
        Self.writeGeometry(of: terminator, into: &record, context: context, messageStart: messageStart, ring: ring)
        return record
    }

    /// ``geometry(of:context:messageStart:)`` written into `record` field by field, as a new
    /// record (no retransmissions yet): a record built whole and assigned was copied once
    /// more on the way (its lists retained and released).
    private static func writeGeometry(
        of terminator: TerminatorInfo?, into record: inout TerminatorRecord, context: EventContext, messageStart: UInt64,
        ring: SegmentRing
    ) {
        record.seen = true
        if !record.retransmissionFrames.isEmpty { record.retransmissionFrames = [] }
        guard let terminator else {
            // BDAT LAST: the final chunk's last byte ends the message.
            record.style = "bdat"
            record.frameList = FrameList(context.frame)
            record.splitPositions = SplitPositions()
            record.timeNanoseconds = context.timestampNanoseconds
            record.spreadNanoseconds = 0
            record.offset = nil
            return
        }
        record.style = terminator.style.rawValue
        record.offset = terminator.offset
        let skip = messageStart > terminator.offset ? Int(min(UInt64(terminator.length), messageStart &- terminator.offset)) : 0
        guard var geometry = TerminatorGeometry(offset: terminator.offset, length: terminator.length, from: skip, ring: ring) else {
            record.frameList = FrameList(context.frame)
            record.splitPositions = SplitPositions()
            record.timeNanoseconds = context.timestampNanoseconds
            record.spreadNanoseconds = nil
            return
        }
        // The frames and positions moved out of the geometry into the record, not copied.
        swap(&record.frameList, &geometry.frameList)
        swap(&record.splitPositions, &geometry.splitPositions)
        record.timeNanoseconds = geometry.lastTimestampNanoseconds
        record.spreadNanoseconds = geometry.lastTimestampNanoseconds &- geometry.firstTimestampNanoseconds
    }

    private mutating func noteRetransmission(offset: UInt64, length: Int, frame: UInt64) {
        let end = offset &+ UInt64(max(0, length))
        for index in transactions.indices {
            let terminator = transactions[index].terminator
            guard terminator.seen, let start = terminator.offset else { continue }
            let termEnd = start &+ 5
            guard offset < termEnd && start < end else { continue }
            if !transactions[index].terminator.retransmissionFrames.contains(frame),
                transactions[index].terminator.retransmissionFrames.count < shared.maxEvidenceFrames
            {
                transactions[index].terminator.retransmissionFrames.append(frame)
            }
            findings.add(.retransmission, frames: terminator.frames + [frame],
                         message: "the client resent terminator bytes of transaction \(transactions[index].index) (frame \(frame)): they were not acknowledged")
        }
    }

    /// The client stopped waiting: FIN/RST always, QUIT/RSET only after a pause (else pipelined).
    private mutating func clientGaveUp(kind: GiveUpRecord.Kind, frame: UInt64, at timestamp: Int64, needsPause: Bool = false) {
        // Fields read one by one where they are (a whole state read out is a copy: retains and releases).
        for index in transactions.indices {
            guard transactions[index].endOfDataSeen, transactions[index].reply.isNone, transactions[index].gaveUp.isNone else { continue }
            let done = transactions[index].terminator.timeNanoseconds
            let waited = done.map { timestamp &- $0 }
            if needsPause, let waited, waited < shared.pipelinedCommandGraceNanoseconds { continue }
            transactions[index].gaveUp = GiveUpRecord(kind: kind, frame: frame, timeNanoseconds: timestamp, waitedNanoseconds: waited)
            var frames = transactions[index].terminator.frameList
            frames.append(frame)
            addFinding(.clientTimeout, frames: frames) { m in
                m.append("the client gave up (" as StaticString)
                m.append(Self.upperName(kind))
                m.append(", frame " as StaticString)
                m.append(frame)
                m.append(")" as StaticString)
                if let waited {
                    m.append(" " as StaticString)
                    m.appendDuration(waited)
                    m.append(" after the end of data" as StaticString)
                }
                m.append(" while the reply was still pending" as StaticString)
            }
        }
    }

    // MARK: outcomes

    private func moment(now: Int64, closing: Bool) -> FlowMoment {
        FlowMoment(now: now, closing: closing, clientEnd: clientEnd, serverEnd: serverEnd, serverEndFrame: serverEndFrame,
                   serverEndNanoseconds: serverEndNanoseconds, replyTimeoutNanoseconds: shared.replyTimeoutNanoseconds)
    }

    /// Live hook: queues each transaction once, as soon as its outcome is known. Checked
    /// inline: called after every SMTP event, and the hook is off in most runs.
    @inline(__always)
    mutating func reportDecided(now: Int64) {
        if shared.reportsLive { reportLiveDecided(now: now) }
    }

    private mutating func reportLiveDecided(now: Int64) {
        let moment = moment(now: now, closing: false)
        for index in transactions.indices where !transactions[index].liveReported {
            guard let resolution = transactions[index].resolve(moment) else { continue }
            transactions[index].liveReported = true
            let decided = record(transactions[index], resolution, endpoints: endpointRecords())
            changeRare { $0.liveTransactions.append(decided) }
        }
    }

    /// Advances capture time without a packet of this flow (reply timeouts).
    mutating func advanceClock(to now: Int64) {
        reportDecided(now: now)
    }

    /// The live hook already had transaction `index`.
    func wasReported(_ index: Int) -> Bool { transactions.contains { $0.index == index && $0.liveReported } }

    mutating func drainLive() -> [TransactionRecord] {
        guard let rareBox, !rareBox.state.liveTransactions.isEmpty else { return [] }
        var drained: [TransactionRecord] = []
        changeRare { swap(&drained, &$0.liveTransactions) }
        return drained
    }

    /// Decides everything and builds the flow record. `now` is the capture's latest time.
    mutating func close(summary: FlowSummary?, now: Int64) -> FlowRecord {
        if let summary { note(frame: summary.lastFrame, at: summary.lastTimestampNanoseconds) }
        // What is written from here on goes to the stage's closing store, not the flow's.
        shared.startClosing()
        if let reset = firstReset {
            let sender = summary?.resetBy.map { $0 == .clientToServer ? SMTPSide.client : .server } ?? reset.reportedOn
            addFinding(.reset, frames: FrameList(reset.frame), closing: true) { m in
                m.append(sender == .client ? "the client reset the connection (frame " as StaticString : "the server reset the connection (frame ")
                m.append(reset.frame)
                m.append(")" as StaticString)
            }
        }
        let moment = moment(now: max(now, lastNanoseconds), closing: true)
        var records: [TransactionRecord] = []
        swap(&records, &recordList)  // the only owner while it grows
        if records.capacity == 0, let spare = shared.spareRecordList() { records = spare }
        records.removeAll(keepingCapacity: true)
        records.reserveCapacity(transactions.count + (tlsStartNanoseconds == nil ? 0 : 1))
        // Made once for the flow and its transactions (each is a text conversion).
        let endpoints = endpointRecords()
        // The TLS placeholder's index, read before the states are emptied below.
        let nextIndex = (transactions.last?.index ?? -1) + 1
        var needFindings = false
        if shared.reportsLive {
            // States read in place, not copied (the live hook reads them after the close).
            transactions.withUnsafeBufferPointer { states in
                for index in states.indices {
                    guard let resolution = states[index].resolve(moment) else { continue }
                    needFindings = needFindings || Self.needsOutcomeFinding(resolution.diagnosis)
                    // Consumed: moved into the list (without it, copied there and then destroyed).
                    let made = record(states[index], resolution, endpoints: endpoints)
                    records.append(consume made)
                }
            }
        } else {
            // Nothing reads the states after the close: their texts move into the records
            // (no retain now, no release when the states are emptied).
            let capture = capture, flow = info.id.index
            transactions.withUnsafeMutableBufferPointer { states in
                for index in states.indices {
                    guard let resolution = states[index].resolve(moment) else { continue }
                    needFindings = needFindings || Self.needsOutcomeFinding(resolution.diagnosis)
                    let made = Self.takeRecord(
                        from: &states[index], resolution, capture: capture, flow: flow, endpoints: endpoints)
                    records.append(consume made)
                }
            }
        }
        // Then their findings, in transaction order (nothing above reads or adds findings),
        // each record read where it is (a copy retains and releases each of its texts).
        if needFindings {
            records.withUnsafeBufferPointer { records in
                guard let first = records.baseAddress else { return }
                for index in records.indices where Self.needsOutcomeFinding(records[index].diagnosis) {
                    addOutcomeFindings(first + index)
                }
            }
        }
        if let tlsStart = tlsStartNanoseconds {
            records.append(TransactionRecord(
                capture: capture, flow: info.id.index, client: endpoints.client, server: endpoints.server,
                index: nextIndex, startNanoseconds: tlsStart, outcome: .encrypted, diagnosis: .encrypted))
        }
        let endReason: EndReason = resetSeen ? .rst : quitSeen ? .quit : finSeen ? .fin : .open
        let closedBy = summary?.closedBy.map { $0 == .clientToServer ? SMTPSideName.client : .server }
        let communityID = CommunityID.v1(info.client, info.server, into: &shared.closingTexts)
        let bannerText = banner
        let tls = tlsStartNanoseconds != nil
        let findingList = findings.all
        recordList = records
        // The flow is decided: the storage its record does not share serves the next flows
        // from now on, even if the stage drops this tracker rather than reuse it. Released
        // before the record is made, so that it is made where it is returned (not copied).
        releaseStorage(keepingLiveState: shared.reportsLive)
        return FlowRecord(
            capture: capture, flow: info.id.index, communityIDText: communityID,
            client: endpoints.client, server: endpoints.server,
            startNanoseconds: info.firstTimestampNanoseconds, endNanoseconds: lastNanoseconds,
            firstFrame: info.firstFrame, lastFrame: lastFrame, packets: summary?.packets ?? 0,
            endReason: endReason, closedBy: closedBy, bannerText: bannerText, tls: tls, midstream: info.midstream,
            transactions: records, findings: findingList)
    }

    /// Whether a transaction so diagnosed gets a finding from ``addOutcomeFindings(_:)``.
    private static func needsOutcomeFinding(_ diagnosis: Diagnosis) -> Bool {
        switch diagnosis {
        case .splitTerminatorStall, .unanswered, .terminatorNotReceived: return true
        default: return false
        }
    }

    private mutating func addOutcomeFindings(_ record: UnsafePointer<TransactionRecord>) {
        let transaction = record.pointee
        // Written only here: most transactions need no finding (and no text).
        switch transaction.diagnosis {
        case .splitTerminatorStall, .unanswered:
            let terminator = transaction.terminator
            var frames = terminator.frameList
            if let frame = transaction.gaveUp?.frame { frames.append(frame) }
            let serverClosed = serverEnd == .fin || serverEnd == .rst
            addFinding(.eodUnanswered, frames: frames, closing: true) { m in
                m.append("transaction " as StaticString)
                m.append(transaction.index)
                m.append(": end of data " as StaticString)
                if terminator.isSplit {
                    m.append("split after byte " as StaticString)
                    m.append(terminator.splitPositions, separator: ",")
                    m.append(" across frames " as StaticString)
                } else {
                    m.append("in frame " as StaticString)
                }
                m.append(terminator.frameList, separator: "/")
                m.append(", no reply in time;" as StaticString)
                if let gaveUp = transaction.gaveUp, let waited = gaveUp.waitedNanoseconds {
                    if gaveUp.kind == .timeout {
                        m.append(" the capture went on for " as StaticString)
                        m.appendDuration(waited)
                        m.append(" without one" as StaticString)
                    } else {
                        m.append(" the client gave up after " as StaticString)
                        m.appendDuration(waited)
                        m.append(" (" as StaticString)
                        m.append(Self.upperName(gaveUp.kind))
                        m.append(")" as StaticString)
                    }
                } else if serverClosed {
                    m.append(" the server side closed the connection" as StaticString)
                }
                if transaction.outcome == .acceptedLate { m.append("; the reply came only after that" as StaticString) }
            }
        case .terminatorNotReceived:
            var frames = FrameList()
            if let frame = transaction.dataFrame { frames.append(frame) }
            if let frame = lastClientFrame { frames.append(frame) }
            addFinding(.eodMissing, frames: frames, closing: true) { m in
                m.append("transaction " as StaticString)
                m.append(transaction.index)
                m.append(": DATA began (frame " as StaticString)
                if let frame = transaction.dataFrame { m.append(frame) } else { m.append("?" as StaticString) }
                m.append("), " as StaticString)
                m.append(transaction.size ?? 0)
                m.append(" message bytes arrived, no end of data before the connection ended" as StaticString)
            }
        default:
            break
        }
    }

    /// Reports `code` with its message written into the flow's text store, or while the
    /// flow closes (`closing`) into the stage's closing store (see
    /// ``FindingSet/add(_:frames:texts:message:)`` and ``FlowTrackerShared/closingTexts``).
    private mutating func addFinding(
        _ code: FindingCode, frames: FrameList, closing: Bool = false, message: (inout MessageWriter) -> Void
    ) {
        guard !closing else {
            if !findings.hasStorage, let spare = shared.spareFindingList() { findings.adopt(spare) }
            findings.add(code, frames: frames, texts: &shared.closingTexts, message: message)
            return
        }
        adoptSpareTexts()
        if !findings.hasStorage, let spare = shared.spareFindingList() { findings.adopt(spare) }
        findings.add(code, frames: frames, texts: &texts, message: message)
    }

    /// `kind.rawValue.uppercased()`.
    private static func upperName(_ kind: GiveUpRecord.Kind) -> StaticString {
        switch kind {
        case .quit: return "QUIT"
        case .rset: return "RSET"
        case .fin: return "FIN"
        case .rst: return "RST"
        case .timeout: return "TIMEOUT"
        }
    }

    private func endpointRecords() -> (client: EndpointRecord, server: EndpointRecord) {
        (EndpointRecord(info.client), EndpointRecord(info.server))
    }

    @inline(__always)
    private func record(
        _ state: TransactionState, _ resolution: Resolution, endpoints: (client: EndpointRecord, server: EndpointRecord)
    ) -> TransactionRecord {
        TransactionRecord(
            capture: capture, flow: info.id.index, client: endpoints.client, server: endpoints.server,
            index: state.index, mailFromText: state.mailFrom, rcptToList: state.rcptTo, messageIDText: state.message?.messageID,
            subjectText: state.message?.subject, size: state.message?.size, fingerprintText: state.message?.fingerprint,
            startNanoseconds: state.startNanoseconds, dataFrame: state.dataFrame, terminator: state.terminator,
            reply: state.reply, gaveUp: state.gaveUp ?? resolution.timedOut, outcome: resolution.outcome, diagnosis: resolution.diagnosis)
    }

    /// ``record(_:_:endpoints:)`` with the state's texts and reply moved out of it (left
    /// empty): for a state nothing reads again.
    private static func takeRecord(
        from state: inout TransactionState, _ resolution: Resolution, capture: Int, flow: Int,
        endpoints: (client: EndpointRecord, server: EndpointRecord)
    ) -> TransactionRecord {
        var mailFrom: SMTPText?
        swap(&mailFrom, &state.mailFrom)
        var rcptTo = ReplyLines([])
        swap(&rcptTo, &state.rcptTo)
        let size = state.message?.size
        let facts = state.message?.takeTexts()
        var reply: ReplyRecord?
        swap(&reply, &state.reply)
        return TransactionRecord(
            capture: capture, flow: flow, client: endpoints.client, server: endpoints.server,
            index: state.index, mailFromText: mailFrom, rcptToList: rcptTo, messageIDText: facts?.messageID,
            subjectText: facts?.subject, size: size, fingerprintText: facts?.fingerprint,
            startNanoseconds: state.startNanoseconds, dataFrame: state.dataFrame, terminator: state.terminator,
            reply: reply, gaveUp: state.gaveUp ?? resolution.timedOut, outcome: resolution.outcome, diagnosis: resolution.diagnosis)
    }

    // MARK: text rules

    /// `end of data split after byte 2,3 across frames 10/11/12, 1.0 ms between first and
    /// last part`, built in one string (numbers as small strings, appended in place).
    static func splitMessage(_ record: TerminatorRecord) -> String {
        var message = ""
        message.reserveCapacity(96)
        message += "end of data split after byte "
        for (index, position) in record.splitAfter.enumerated() {
            if index > 0 { message += "," }
            message += String(position)
        }
        message += " across frames "
        for (index, frame) in record.frameList.enumerated() {
            if index > 0 { message += "/" }
            message += String(frame)
        }
        if let spread = record.spreadNanoseconds {
            message += ", "
            message += TimeText.duration(spread)
            message += " between first and last part"
        }
        return message
    }

    /// ``splitMessage(_:)`` written as bytes.
    static func splitMessage(_ record: TerminatorRecord, into m: inout MessageWriter) {
        m.append("end of data split after byte " as StaticString)
        m.append(record.splitPositions, separator: ",")
        m.append(" across frames " as StaticString)
        m.append(record.frameList, separator: "/")
        if let spread = record.spreadNanoseconds {
            m.append(", " as StaticString)
            m.appendDuration(spread)
            m.append(" between first and last part" as StaticString)
        }
    }

    /// The path in `FROM:<a@b> SIZE=1` → `a@b`; `<>` → empty string.
    static func path(in argument: String, after keyword: String) -> String? {
        var text = argument
        return text.withUTF8 { path(in: UnsafeRawBufferPointer($0), after: keyword) }
    }

    /// ``path(in:after:)`` over the argument's UTF-8 bytes.
    static func path(in bytes: UnsafeRawBufferPointer, after keyword: String) -> String? {
        guard let range = quickPathRange(in: bytes, after: keyword) else {
            return unicodePath(in: String(decoding: bytes, as: UTF8.self), after: keyword)
        }
        return range.map { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
    }

    /// ``path(in:after:)`` kept in `texts` (no string of its own for printable ASCII).
    static func pathText(in bytes: UnsafeRawBufferPointer, after keyword: String, texts: inout TextArena) -> SMTPText? {
        guard let range = quickPathRange(in: bytes, after: keyword) else {
            return unicodePath(in: String(decoding: bytes, as: UTF8.self), after: keyword).map(SMTPText.init)
        }
        return range.map { texts.text(UnsafeRawBufferPointer(rebasing: bytes[$0])) }
    }

    /// ``pathText(in:after:texts:)`` for a keyword written in the source (read in place).
    static func pathText(in bytes: UnsafeRawBufferPointer, afterLiteral keyword: StaticString, texts: inout TextArena) -> SMTPText? {
        guard let range = quickPathRange(in: bytes, afterLiteral: keyword) else {
            return unicodePath(in: String(decoding: bytes, as: UTF8.self), after: keyword.description).map(SMTPText.init)
        }
        return range.map { texts.text(UnsafeRawBufferPointer(rebasing: bytes[$0])) }
    }

    /// ``quickPathRange(in:after:)`` for a keyword written in the source: its bytes read in
    /// place, no string made or retained per command.
    static func quickPathRange(in bytes: UnsafeRawBufferPointer, afterLiteral keyword: StaticString) -> Range<Int>?? {
        guard keyword.hasPointerRepresentation else { return quickPathRange(in: bytes, after: keyword.description) }
        guard allPrintableASCII(bytes) else { return .none }
        return pathRange(in: bytes, key: UnsafeRawBufferPointer(start: keyword.utf8Start, count: keyword.utf8CodeUnitCount))
    }

    /// Where ``path(in:after:)``'s answer lies in `bytes` when they are printable ASCII
    /// (`.some(nil)`: no path); nil for other bytes, which are read by Characters.
    static func quickPathRange(in bytes: UnsafeRawBufferPointer, after keyword: String) -> Range<Int>?? {
        // Printable ASCII: one byte per Character, so bytes give the answer Characters give,
        // without uppercasing a copy of the whole argument.
        guard allPrintableASCII(bytes) else { return .none }
        var keyword = keyword
        return keyword.withUTF8 { pathRange(in: bytes, key: UnsafeRawBufferPointer($0)) }
    }

    /// ``quickPathRange(in:after:)`` once `bytes` are known to be printable ASCII.
    private static func pathRange(in bytes: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer) -> Range<Int>?? {
        var start = 0
        var matched = bytes.count >= key.count
        for key in key {
            guard isPrintableASCII(key) else { return .none }
            if matched && asciiUppercased(bytes[start]) != key { matched = false }
            if matched { start += 1 }
        }
        if !matched { start = 0 }
        while start < bytes.count && bytes[start] == UInt8(ascii: " ") { start += 1 }
        var end = start
        if start < bytes.count && bytes[start] == UInt8(ascii: "<") {
            start += 1
            end = ByteScan.index(of: UInt8(ascii: ">"), in: bytes, from: start)
        } else {
            end = ByteScan.index(of: UInt8(ascii: " "), in: bytes, from: start)
            if end == start { return .some(nil) }
        }
        return .some(start..<end)
    }

    /// Every byte is printable ASCII (0x20...0x7E); eight at a time: a byte below 0x20 sets
    /// its top bit in `w - 0x20…` (where it is clear in `w`), one at 0x7F or above in `w + 1…`
    /// or in `w`. Borrows and carries only reach bytes above the first such byte.
    static func allPrintableASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let n = bytes.count
        guard n > 0, let base = bytes.baseAddress else { return true }
        var i = 0
        while i &+ 8 <= n {
            let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let low = (w &- 0x2020_2020_2020_2020) & ~w
            let high = (w &+ 0x0101_0101_0101_0101) | w
            if (low | high) & 0x8080_8080_8080_8080 != 0 { return false }
            i &+= 8
        }
        while i < n {
            guard isPrintableASCII(base.load(fromByteOffset: i, as: UInt8.self)) else { return false }
            i &+= 1
        }
        return true
    }

    /// The known verb `command.verb` upper-cased is (a verb the session read is upper-cased
    /// and matched already; one injected by a test may be in any case).
    @inline(__always)
    static func knownVerb(of command: SMTPCommand) -> SMTPVerb? {
        command.knownVerb ?? SMTPVerb(uppercasedVerb(command.verb))
    }

    /// The verb upper-cased as `String.uppercased()` does; an upper-case ASCII verb (every
    /// verb the SMTP layer reads as one) is already that.
    static func uppercasedVerb(_ verb: String) -> String {
        switch verb {
        case "MAIL", "RCPT", "DATA", "BDAT", "QUIT", "RSET", "EHLO", "HELO", "NOOP", "STARTTLS", "AUTH": return verb
        default: break
        }
        for byte in verb.utf8 where byte >= 0x80 || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) {
            return verb.uppercased()
        }
        return verb
    }

    /// ``path(in:after:)`` by Characters, for arguments that are not printable ASCII.
    static func unicodePath(in argument: String, after keyword: String) -> String? {
        var rest = Substring(argument)
        if rest.uppercased().hasPrefix(keyword) { rest = rest.dropFirst(keyword.count) }
        rest = rest.drop { $0 == " " }
        if rest.first == "<" {
            guard let close = rest.firstIndex(of: ">") else { return String(rest.dropFirst()) }
            return String(rest[rest.index(after: rest.startIndex)..<close])
        }
        let token = rest.prefix { $0 != " " }
        return token.isEmpty ? nil : String(token)
    }

    /// ``isMaskedBanner(_:)`` of the lines joined by spaces, on their bytes (a space is
    /// allowed, so each line is checked and the asterisks added up).
    static func isMaskedBanner(_ lines: ReplyLines) -> Bool {
        var stars = 0
        var allowed = true
        lines.forEachLine(while: { line in
            for byte in line {
                switch byte {
                case UInt8(ascii: "*"): stars += 1
                case UInt8(ascii: "0"), UInt8(ascii: "2"), UInt8(ascii: " "): continue
                default:
                    allowed = false
                    return false
                }
            }
            return true
        })
        return allowed && stars >= 3
    }

    /// ASA/PIX masking: only `*`, `0`, `2` and spaces (at least a few asterisks). By bytes:
    /// each of these Characters is exactly one byte, and a byte outside them belongs to a
    /// Character that is none of them.
    static func isMaskedBanner(_ text: String) -> Bool {
        var stars = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "*"): stars += 1
            case UInt8(ascii: "0"), UInt8(ascii: "2"), UInt8(ascii: " "): continue
            default: return false
            }
        }
        return stars >= 3
    }

    /// The line starts with `XXXXXXXA` in any case (STARTTLS masked by a Cisco fixup), as
    /// `line.uppercased().hasPrefix("XXXXXXXA")`: decided on bytes when its first nine are
    /// printable ASCII (then its first eight Characters are those bytes), else by Characters.
    static func offersMaskedStarttls(_ line: String) -> Bool {
        var line = line
        return line.withUTF8 { offersMaskedStarttls(UnsafeRawBufferPointer($0)) }
    }

    /// ``offersMaskedStarttls(_:)`` over the line's UTF-8 bytes.
    static func offersMaskedStarttls(_ line: UnsafeRawBufferPointer) -> Bool {
        var count = 0
        for byte in line {
            guard isPrintableASCII(byte) else {
                return String(decoding: line, as: UTF8.self).uppercased().hasPrefix("XXXXXXXA")
            }
            if count == 8 { return true }
            // A printable byte that differs decides: the Characters before it are these bytes.
            guard asciiUppercased(byte) == (count == 7 ? UInt8(ascii: "A") : UInt8(ascii: "X")) else { return false }
            count += 1
        }
        return count == 8
    }

    private static func isPrintableASCII(_ byte: UInt8) -> Bool { byte >= 0x20 && byte < 0x7F }

    private static func asciiUppercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 0x20 : byte
    }
}

/// A flow's state that most flows never set (a SYN-only flow sets none of it until it ends).
struct RareFlowState {
    var tlsStartNanoseconds: Int64?
    /// The first RST: its frame and the direction whose end it was reported as. An RST ends
    /// both directions, and one already ended by FIN is not reported again, so that direction
    /// need not be the sender's; `FlowSummary.resetBy` names the sender at close.
    var firstReset: (frame: UInt64, reportedOn: SMTPSide)?
    var reply421Frame: UInt64?
    var liveTransactions: [TransactionRecord] = []
}

/// Holds ``RareFlowState`` out of line. Unchecked access: it is changed only inside
/// `FlowTracker.changeRare`, whose closures never reach the tracker.
final class RareFlowStateBox {
    @exclusivity(unchecked) var state: RareFlowState

    init(_ state: RareFlowState) { self.state = state }
}
