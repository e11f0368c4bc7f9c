import SMTP

/// What every ``FlowTracker`` of a run shares, held once instead of once per flow: the few
/// limits a tracker reads and how to start its dialog. A tracker starts its dialog on the
/// flow's first byte, gap or end, so a flow that never carries payload (one SYN of a flood)
/// holds neither a dialog nor a copy of the options.
final class FlowTrackerShared<Dialog: SMTPDialog> {
    /// ``AnalysisOptions/segmentRingCapacity``.
    let segmentRingCapacity: Int
    /// ``AnalysisOptions/maxEvidenceFrames``.
    let maxEvidenceFrames: Int
    /// ``AnalysisOptions/maxTransactionsPerFlow``.
    let maxTransactions: Int
    /// ``AnalysisOptions/replyTimeoutNanoseconds``.
    let replyTimeoutNanoseconds: Int64
    /// ``AnalysisOptions/pipelinedCommandGraceNanoseconds``.
    let pipelinedCommandGraceNanoseconds: Int64
    /// A fresh dialog in its initial state.
    let makeDialog: () -> Dialog
    /// Whether trackers queue each transaction as soon as its outcome is known (the live
    /// hook). Off, they build no provisional records: the flow record decides everything at close.
    var reportsLive = false
    // The pools below are unchecked: each is touched only inside one method of this class at
    // a time (no method calls out while it holds a pool), on the stage's one thread; the
    // run-time exclusivity checks cost ~100 instructions per flow.

    /// Dialogs of closed flows, reset, for the next flows that carry payload (their buffers
    /// and text stores are kept). Bounded; the trackers of one stage share it on one thread.
    @exclusivity(unchecked) private var spareDialogs = SparePool<DialogBox<Dialog>>()

    /// Text stores of closed flows' records, recycled (nothing refers to them any more).
    @exclusivity(unchecked) private var spareTextArenas = SparePool<TextArena>()
    /// Record and finding lists of closed flows' records, emptied.
    @exclusivity(unchecked) private var spareRecordLists = SparePool<[TransactionRecord]>()
    @exclusivity(unchecked) private var spareFindingLists = SparePool<[Finding]>()
    /// What the last closed flow's record shares with its tracker, kept until that record is
    /// likely gone (see ``keepAfterRecord(_:)``).
    @exclusivity(unchecked) private var afterRecord: RecordStorage?
    /// Off where records outlive their flow's close (kept for the run's end, or waiting for
    /// the ordered merge of `--threads`): emptying the lists of a record that is still alive
    /// would copy them, and the copies, passed on from flow to flow, held 53 MB in a
    /// two-thread SYN flood (`smtpscope-bench adversarial syn-flood`).
    var recyclesRecordStorage = true

    /// The storage of closed flows' segment rings, transaction states and rare state,
    /// emptied, for the next flows. A tracker hands it back (with its dialog) as its flow
    /// closes, not when it is reused, so that it outlives a tracker the stage drops (its pool
    /// of spare trackers is full) and a tracker made new for a burst of opens starts from it
    /// rather than from nothing.
    @exclusivity(unchecked) private var spareRings = SparePool<SegmentRing>()
    @exclusivity(unchecked) private var spareStateLists = SparePool<[TransactionState]>()
    @exclusivity(unchecked) private var spareRareBoxes = SparePool<RareFlowStateBox>()

    /// The text written as a flow closes (its Community ID and the findings decided then),
    /// for every tracker of the stage in one store: reused from its front once the last
    /// closed flow's record is gone, else appended to (and, full, replaced by a larger one).
    /// Written into the flow's own store, that text grew it at the close (512 -> 1,024
    /// bytes for a transaction left without a reply), and a grown store, recycled, stays
    /// grown for every later flow that takes it: the longer the capture, the more of them.
    @exclusivity(unchecked) var closingTexts = TextArena(initialCapacity: 2048, maxCapacity: 16 * 1024)

    /// Makes ``closingTexts`` ready for the flow closing now: the last closed flow's record
    /// storage is recycled first (its findings may refer to the store), then the store is
    /// emptied unless a record still refers to it.
    func startClosing() {
        recycleAfterRecord()
        closingTexts.recycle()
    }

    /// A recycled text store, if one is kept.
    func spareTexts() -> TextArena? {
        recycleAfterRecord()
        return spareTextArenas.take()
    }

    /// An emptied record list, if one is kept.
    func spareRecordList() -> [TransactionRecord]? {
        recycleAfterRecord()
        return spareRecordLists.take()
    }

    /// An emptied finding list, if one is kept.
    func spareFindingList() -> [Finding]? {
        recycleAfterRecord()
        return spareFindingLists.take()
    }

    /// Keeps what a closed flow's record shares with its tracker. The record is handed on
    /// and, unless someone keeps it, gone before another tracker needs storage: the storage
    /// is emptied and recycled then (lists in place, the store from its front, once nothing
    /// refers to them; a kept record makes its lists get new storage and keeps its store).
    func keepAfterRecord(_ storage: RecordStorage) {
        recycleAfterRecord()
        guard recyclesRecordStorage else { return }
        afterRecord = storage
    }

    private func recycleAfterRecord() {
        // Moved out (a copy retained and released its three references).
        guard var storage = afterRecord.take() else { return }
        // The lists first: their records refer to the store.
        if storage.records.capacity > 0 && !spareRecordLists.isFull {
            storage.records.removeAll(keepingCapacity: true)
            spareRecordLists.keep(storage.records)
        }
        if storage.findings.capacity > 0 && !spareFindingLists.isFull {
            storage.findings.removeAll(keepingCapacity: true)
            spareFindingLists.keep(storage.findings)
        }
        storage.records = []
        storage.findings = []
        if storage.texts.recycle() { spareTextArenas.keep(storage.texts) }
    }

    /// A reset dialog from a closed flow, if one is kept.
    func spareDialog() -> DialogBox<Dialog>? { spareDialogs.take() }

    /// Keeps `box` (its flow has closed) for a later flow, reset now, unless enough are kept.
    func keepSpare(_ box: DialogBox<Dialog>) {
        guard !spareDialogs.isFull else { return }
        box.dialog.reset()
        spareDialogs.keep(box)
    }

    /// An emptied segment ring with storage, if one is kept.
    func spareRing() -> SegmentRing? { spareRings.take() }
    /// Keeps an emptied ring for a later flow, unless enough are kept.
    func keepSpare(ring: SegmentRing) { spareRings.keep(ring) }
    /// Emptied transaction-state storage, if some is kept.
    func spareStates() -> [TransactionState]? { spareStateLists.take() }
    /// Keeps emptied transaction-state storage for a later flow, unless enough is kept.
    func keepSpare(states: [TransactionState]) { spareStateLists.keep(states) }
    /// A rare-state box in its initial state, if one is kept.
    func spareRareBox() -> RareFlowStateBox? { spareRareBoxes.take() }
    /// Keeps a reset rare-state box for a later flow, unless enough are kept.
    func keepSpare(rareBox: RareFlowStateBox) { spareRareBoxes.keep(rareBox) }

    init(options: AnalysisOptions, makeDialog: @escaping () -> Dialog) {
        segmentRingCapacity = options.segmentRingCapacity
        maxEvidenceFrames = options.maxEvidenceFrames
        maxTransactions = max(options.maxTransactionsPerFlow, 1)
        replyTimeoutNanoseconds = options.replyTimeoutNanoseconds
        pipelinedCommandGraceNanoseconds = options.pipelinedCommandGraceNanoseconds
        self.makeDialog = makeDialog
    }
}

extension FlowTrackerShared where Dialog == SMTPSession {
    /// Trackers that run an ``SMTPSession`` with `options.smtp`.
    convenience init(options: AnalysisOptions) {
        var smtp = options.smtp
        // The tracker finds a masked STARTTLS in the EHLO reply lines themselves; the
        // keyword list would only repeat that finding (same code, same frame).
        smtp.reportsExtensions = false
        // Nor does it read routine commands and replies (most of a dialog's events): it
        // follows transactions, and finds masking in the lines routine replies have none of.
        smtp.reportsRoutineEvents = false
        // A message's record keeps its Message-ID and Subject, not its Date, From or To.
        smtp.readsAddressFields = false
        // One pool for the stage's sessions: a session waiting for the reply to its end of
        // data lends its text stores to those that go on.
        let pool = SessionStoragePool()
        self.init(options: options) { SMTPSession(options: smtp, storagePool: pool) }
    }
}

/// What a flow's record shares with its tracker: its list of transaction records, its list
/// of findings and the store of its text.
struct RecordStorage {
    var records: [TransactionRecord]
    var findings: [Finding]
    var texts: TextArena
}

/// At most ``limit`` kept items, taken last in, first out.
struct SparePool<Element> {
    /// Storage left over when fewer connections are open comes back when more open again:
    /// 64 of each (a dialog, ring, state list, rare state and text store each) cover the
    /// swings of the generated mix's ~300 open connections better than 32 (1 GiB capture,
    /// in-process analysis: 170 -> 135 allocations per 100,000 frames), peak RSS unchanged
    /// within the noise (about 0.2 MiB).
    static var limit: Int { 64 }
    private var items: [Element] = []

    var isFull: Bool { items.count >= Self.limit }

    mutating func take() -> Element? { items.popLast() }

    mutating func keep(_ item: Element) {
        guard !isFull else { return }
        if items.capacity == 0 { items.reserveCapacity(Self.limit) }
        items.append(item)
    }
}

/// A tracker's dialog, out of line: allocated only once the flow has something to feed it,
/// and mutated in place while the tracker handles the events it emits. Unchecked access:
/// nothing reached from those events touches the dialog (a dynamic exclusivity check per
/// fed chunk cost more than the rest of the tracker's per-chunk work).
final class DialogBox<Dialog: SMTPDialog> {
    @exclusivity(unchecked) var dialog: Dialog

    init(_ dialog: Dialog) { self.dialog = dialog }
}
