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
    /// Dialogs of closed flows, reset, for the next flows that carry payload (their buffers
    /// and text stores are kept). Bounded; the trackers of one stage share it on one thread.
    private var spareDialogs: [DialogBox<Dialog>] = []
    private static var maxSpareDialogs: Int { 32 }

    /// Text stores of closed flows' records, recycled (nothing refers to them any more).
    private var spareTextArenas: [TextArena] = []

    /// A recycled text store, if one is kept.
    func spareTexts() -> TextArena? { spareTextArenas.popLast() }

    /// Keeps a recycled text store for a later flow, unless enough are kept.
    func keepSpare(_ texts: TextArena) {
        guard spareTextArenas.count < Self.maxSpareDialogs else { return }
        if spareTextArenas.capacity == 0 { spareTextArenas.reserveCapacity(Self.maxSpareDialogs) }
        spareTextArenas.append(texts)
    }

    /// A reset dialog from a closed flow, if one is kept.
    func spareDialog() -> DialogBox<Dialog>? { spareDialogs.popLast() }

    /// Keeps `box` (its closed flow's tracker is being reused) for a later flow, reset now,
    /// unless enough are kept.
    func keepSpare(_ box: DialogBox<Dialog>) {
        guard spareDialogs.count < Self.maxSpareDialogs else { return }
        box.dialog.reset()
        if spareDialogs.capacity == 0 { spareDialogs.reserveCapacity(Self.maxSpareDialogs) }
        spareDialogs.append(box)
    }

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
        self.init(options: options) { SMTPSession(options: smtp) }
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
