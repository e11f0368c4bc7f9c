import Capture
import Reassembly
import SMTP
import Wire

/// What the live hook receives, as soon as it is known.
public enum LiveRecord: Sendable {
    /// A transaction whose outcome became known: reply arrived, client gave up, or the
    /// reply timeout passed by capture time. Provisional: a late 2xx can still turn a
    /// `no_reply` into `accepted_late`; the flow record carries the final verdict.
    case transaction(TransactionRecord)
    /// A flow that closed, with its final transactions and findings.
    case flow(FlowRecord)
}

/// The pipeline: frames → ``PacketDecoder`` → ``TCPReassembler`` → one ``FlowTracker``
/// per flow (feeding an ``SMTPSession``) → records. As each flow closes, its counts join
/// the summary and its transactions the message table (cross-flow correlation); its
/// record is kept for ``finish()`` only with ``AnalysisOptions/retainFlowRecords``, so a
/// run that keeps none holds state bounded by its open flows and the options' limits.
///
/// Source-agnostic: the caller reads frames (file, interface, memory) and hands each
/// one in with its ``CaptureInfo``. Several captures per run (e.g. outside and inside a
/// firewall): call ``beginCapture(name:)`` before each; every capture gets its own
/// decoder and reassembler, flows are numbered per capture, correlation spans all.
///
/// A class because decoder, reassembler and trackers are mutated from inside each
/// other's synchronous callbacks; one instance is used from one thread.
public final class Analyzer {
    public let options: AnalysisOptions
    /// Live hook: called synchronously with each decided transaction and each closed flow.
    /// Setting it also turns on the once-per-second sweep that decides reply timeouts of
    /// open flows by capture time (live mode); use ``onFlow`` when only closed flows are wanted.
    public var onRecord: ((LiveRecord) -> Void)?
    /// Called synchronously with each flow record as the flow closes (offline streaming);
    /// costs nothing per packet.
    public var onFlow: ((FlowRecord) -> Void)?

    private var decoder = PacketDecoder()
    private var reassembler: TCPReassembler
    /// Boxed: a dictionary of ~1.4 KB structs copied the tracker out and back on every
    /// event and held its full size in every empty bucket.
    private final class TrackerBox {
        var tracker: FlowTracker<SMTPSession>
        init(_ tracker: FlowTracker<SMTPSession>) { self.tracker = tracker }
    }
    private var trackers: [FlowID: TrackerBox] = [:]
    private var flows: [FlowRecord] = []
    private var counts = SummaryCounts()
    private var messages: MessageTable
    private var captures: [CaptureStats] = []
    private var capturing = false
    private var now: Int64 = .min
    private var nextSweep: Int64 = .min

    public init(
        options: AnalysisOptions = AnalysisOptions(), onRecord: ((LiveRecord) -> Void)? = nil,
        onFlow: ((FlowRecord) -> Void)? = nil
    ) {
        self.options = options
        self.onFlow = onFlow
        self.onRecord = onRecord
        reassembler = TCPReassembler(options: options.reassembly)
        messages = MessageTable(options: options)
    }

    /// Flow records held for ``finish()`` (none without ``AnalysisOptions/retainFlowRecords``).
    public var retainedFlowRecords: Int { flows.count }
    /// Message identities correlation holds now.
    public var correlatedMessages: Int { messages.count }

    /// Starts a new input; ends the previous one if still open.
    public func beginCapture(name: String) {
        if capturing { endCapture() }
        captures.append(CaptureStats(index: captures.count, name: name))
        decoder = PacketDecoder()
        reassembler = TCPReassembler(options: options.reassembly)
        trackers.removeAll()
        now = .min
        nextSweep = .min
        capturing = true
    }

    /// Feeds one frame; `frame` is borrowed for the duration of the call.
    public func process(_ info: CaptureInfo, frame: UnsafeRawBufferPointer) {
        if !capturing { beginCapture(name: "capture \(captures.count)") }
        let index = captures.count - 1
        captures[index].packets += 1
        captures[index].framesAnalyzed += 1
        captures[index].capturedBytes &+= UInt64(clamping: info.capturedLength)
        if info.capturedLength < info.wireLength { captures[index].truncatedFrames += 1 }
        if captures[index].firstNanoseconds == nil { captures[index].firstNanoseconds = info.timestampNanoseconds }
        captures[index].lastNanoseconds = info.timestampNanoseconds
        now = max(now, info.timestampNanoseconds)
        let result = decoder.decode(
            frame: frame, wireLength: info.wireLength, linkType: info.linkType, timestampNanoseconds: info.timestampNanoseconds
        ) { segment, payload in
            self.reassembler.process(segment, payload: payload, frame: info.frameNumber, timestampNanoseconds: info.timestampNanoseconds) {
                self.route($0)
            }
        }
        switch result {
        case .tcp: captures[index].tcpSegments += 1
        case .failed: captures[index].decodeErrors += 1
        case .fragmentHeld, .notTCP: break
        }
        if onRecord != nil && now >= nextSweep { sweep() }
    }

    /// How reading the current input ended: `packets` becomes the number of records read
    /// (a BPF filter's skipped frames included), and a failed record is kept as the read error.
    public func noteRead(_ outcome: ReadOutcome) {
        guard !captures.isEmpty else { return }
        let index = captures.count - 1
        captures[index].packets = max(captures[index].packets, outcome.framesRead)
        if case .failed(let framesRead, let reason) = outcome {
            captures[index].readError = CaptureStats.ReadError(frame: framesRead &+ 1, reason: reason.description)
        }
    }

    /// Live capture: the kernel's drop count for the current input (libpcap `ps_drop`).
    public func noteDrops(_ dropped: UInt64) {
        guard !captures.isEmpty else { return }
        captures[captures.count - 1].drops = dropped
    }

    /// Live idle tick: advances capture time with no packet (reply and idle timeouts).
    public func advanceClock(to timestampNanoseconds: Int64) {
        guard capturing else { return }
        now = max(now, timestampNanoseconds)
        reassembler.advanceClock(to: now) { self.route($0) }
        sweep()
    }

    /// End of the current input: every open flow is closed as `capture_end`.
    public func endCapture() {
        guard capturing else { return }
        reassembler.finish { self.route($0) }
        // Flows the reassembler did not close (it should have) are closed here.
        for id in trackers.keys.sorted() { closeFlow(id, summary: nil) }
        // Fragment storage is a limit too: datagrams evicted to make room, and fragments
        // dropped because the storage was full, each count as a limit reached.
        let fragmentLimits = decoder.statistics.datagramsEvicted + decoder.statistics.fragmentsDropped
        captures[captures.count - 1].limitsHit += UInt64(max(0, fragmentLimits))
        capturing = false
    }

    /// Ends the run: flows, correlated messages and the summary.
    public func finish() -> AnalysisResult {
        endCapture()
        let found = messages.messages()
        let summary = SummaryRecord(
            captures: captures, counts: counts, messages: found, forgotten: messages.forgotten,
            correlationEvictedMessages: messages.evictedMessages,
            correlationDroppedTransactions: messages.droppedTransactions)
        return AnalysisResult(flows: flows, messages: found, summary: summary)
    }

    // MARK: events

    private func route(_ event: StreamEvent) {
        let index = captures.count - 1
        switch event {
        case .opened(let info):
            trackers[info.id] = TrackerBox(
                FlowTracker(info: info, capture: index, options: options, dialog: SMTPSession(options: options.smtp)))
        case .closed(let id, let summary):
            closeFlow(id, summary: summary)
        case .limitReached(_, let flow, _):
            captures[index].limitsHit += 1
            if let flow { forward(event, to: flow) }
        case .data(let id, _, _, _, _), .retransmission(let id, _, _, _, _, _), .gap(let id, _, _, _, _),
            .end(let id, _, _, _, _):
            forward(event, to: id)
        }
    }

    private func forward(_ event: StreamEvent, to id: FlowID) {
        guard let box = trackers[id] else { return }
        box.tracker.handle(event)
        if let onRecord {
            for record in box.tracker.drainLive() { onRecord(.transaction(record)) }
        }
    }

    private func closeFlow(_ id: FlowID, summary: FlowSummary?) {
        guard let box = trackers.removeValue(forKey: id) else { return }
        let record = box.tracker.close(summary: summary, now: now)
        if let onRecord {
            for queued in box.tracker.drainLive() { onRecord(.transaction(queued)) }
            // Decided only now (e.g. cut off by the capture's end), or the TLS placeholder.
            for transaction in record.transactions where !box.tracker.wasReported(transaction.index) {
                onRecord(.transaction(transaction))
            }
            onRecord(.flow(record))
        }
        onFlow?(record)
        counts.add(record)
        for transaction in record.transactions { messages.note(transaction) }
        if options.retainFlowRecords { flows.append(record) }
    }

    private func sweep() {
        nextSweep = now &+ 1_000_000_000
        guard let onRecord else { return }
        for id in trackers.keys.sorted() {
            guard let box = trackers[id] else { continue }
            box.tracker.advanceClock(to: now)
            for record in box.tracker.drainLive() { onRecord(.transaction(record)) }
        }
    }
}
