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
/// other's synchronous callbacks; one instance is used from one thread (with `threads` > 1
/// it runs workers of its own, but is still called from one thread and calls back on it).
public final class Analyzer {
    public let options: AnalysisOptions
    /// Live hook: called synchronously with each decided transaction and each closed flow.
    /// Setting it also turns on the once-per-second sweep that decides reply timeouts of
    /// open flows by capture time (live mode); use ``onFlow`` when only closed flows are wanted.
    public var onRecord: ((LiveRecord) -> Void)? {
        didSet { connectLiveHook() }
    }
    /// Called synchronously with each flow record as the flow closes (offline streaming);
    /// costs nothing per packet.
    public var onFlow: ((FlowRecord) -> Void)?

    // Touched for every frame, only from the calling thread and never re-entered (callbacks go
    // to the flows, not back here): `@exclusivity(unchecked)` spares the dynamic access checks
    // (~8% of the reader's instructions with worker threads, where the reader is the critical path).
    @exclusivity(unchecked) private var decoder = PacketDecoder()
    /// The flows of the current input, on this thread (`threads` 1).
    @exclusivity(unchecked) private var stage: FlowStage?
    /// `stage` again, unretained, for the per-frame path (a strong local cost a retain and
    /// release per frame); `stage` keeps it alive and is never replaced.
    @exclusivity(unchecked) private var stageRef: Unmanaged<FlowStage>?
    /// The flows of the current input, split over worker threads (`threads` > 1).
    @exclusivity(unchecked) private var parallel: ParallelFlows?
    /// `parallel` again, unretained, for the per-frame path, as ``stageRef``.
    @exclusivity(unchecked) private var parallelRef: Unmanaged<ParallelFlows>?
    // Changed once per closed flow by ``deliver(_:)``, never re-entered (the table and the
    // counts call nothing back): no dynamic access checks.
    @exclusivity(unchecked) private var flows: [FlowRecord] = []
    @exclusivity(unchecked) private var counts = SummaryCounts()
    @exclusivity(unchecked) private var messages: MessageTable
    @exclusivity(unchecked) private var captures: [CaptureStats] = []
    /// Per-frame counts of the current input not yet added to its `captures` entry: counted in
    /// a plain struct, without the array's uniqueness check on every frame (see ``flushCounts()``).
    @exclusivity(unchecked) private var pending = PendingCounts()
    @exclusivity(unchecked) private var capturing = false
    /// `onRecord != nil`, read per frame without the dynamic access check of an observed property.
    @exclusivity(unchecked) private var live = false
    /// The capture clock: the latest timestamp of every frame of the input so far.
    @exclusivity(unchecked) private var now: Int64 = .min
    @exclusivity(unchecked) private var nextSweep: Int64 = .min
    /// Idle flows are expired on ticks of the capture clock, at most once per second of it,
    /// before the frame that moves the clock past the tick (the same frames whichever thread
    /// holds which flow).
    @exclusivity(unchecked) private var nextTick: Int64 = .min

    /// - Parameters:
    ///   - threads: threads in all: the calling thread reads, decodes and merges, and
    ///     `threads` − 1 workers split the flows by a hash of their addresses (1, the default,
    ///     analyses on the calling thread). Records, their order and the summary are
    ///     the same for any count unless a flow-table or buffer limit of
    ///     ``AnalysisOptions/reassembly`` is reached: those limits are divided among the workers.
    ///     With `onRecord` (live) the analysis runs on the calling thread. With one worker
    ///     (`threads` 2), ``onFlow`` is called on the worker's thread (never two calls at once; all
    ///     of an input's have returned when ``endCapture()`` returns). With workers, frame
    ///     numbers must increase within an input (they order the merge), as a capture file's do.
    public init(
        options: AnalysisOptions = AnalysisOptions(), threads: Int = 1, onRecord: ((LiveRecord) -> Void)? = nil,
        onFlow: ((FlowRecord) -> Void)? = nil
    ) {
        self.options = options
        self.onFlow = onFlow
        self.onRecord = onRecord
        messages = MessageTable(options: options)
        if threads > 1 && onRecord == nil {
            let parallel = ParallelFlows(options: options, threads: threads)
            self.parallel = parallel
            parallelRef = Unmanaged.passUnretained(parallel)
        } else {
            let stage = FlowStage(options: options) { [unowned self] record, _ in self.deliver(record) }
            stage.recordsOutliveClose = options.retainFlowRecords
            self.stage = stage
            stageRef = Unmanaged.passUnretained(stage)
            connectLiveHook()
        }
        // With one worker, it merges and delivers its own flows (``onFlow`` is then called on its
        // thread, one flow at a time), leaving this thread to read and decode. `weak`: a worker
        // still finishing a batch while the analyzer goes away delivers nothing.
        parallel?.deliverOnWorker { [weak self] record in self?.deliver(record) }
    }

    /// The flow stage's cache of tracker boxes (single thread); tests turn it off to compare.
    var trackerCache: Bool {
        get { stage?.trackerCache ?? true }
        set { stage?.trackerCache = newValue }
    }

    /// Trackers queue decided transactions for the live hook only when there is one.
    private func connectLiveHook() {
        live = onRecord != nil
        stage?.onTransaction = onRecord == nil ? nil : { [unowned self] record in self.onRecord?(.transaction(record)) }
    }

    /// Worker threads live as long as the analyzer (it may read another input after ``finish()``).
    deinit {
        parallel?.stop()
    }

    /// Flow records held for ``finish()`` (none without ``AnalysisOptions/retainFlowRecords``).
    public var retainedFlowRecords: Int { flows.count }
    /// Message identities correlation holds now.
    public var correlatedMessages: Int { messages.count }

    /// Starts a new input; ends the previous one if still open.
    public func beginCapture(name: String) {
        if capturing { endCapture() }
        flushCounts()
        captures.append(CaptureStats(index: captures.count, name: name))
        decoder = PacketDecoder()
        stage?.begin(capture: captures.count - 1)
        parallel?.begin(capture: captures.count - 1)
        now = .min
        nextSweep = .min
        nextTick = .min
        capturing = true
    }

    /// Feeds one frame; `frame` is borrowed for the duration of the call.
    public func process(_ info: CaptureInfo, frame: UnsafeRawBufferPointer) {
        if !capturing { beginCapture(name: "capture \(captures.count)") }
        pending.count(info)
        now = max(now, info.timestampNanoseconds)
        if now >= nextTick {
            nextTick = now > .max - 1_000_000_000 ? .max : now + 1_000_000_000
            tick(beforeFrame: info.frameNumber)
        }
        let result: DecodeResult
        if let stageRef {
            result = stageRef._withUnsafeGuaranteedRef { stage in
                stage.now = now
                return stage.process(frame: frame, info: info, decoder: &decoder)
            }
        } else if let parallelRef {
            // A local function rather than a closure literal: compiled on its own either way, it
            // took 1.0 M instructions fewer on the 100 MB bench capture (fewer registers saved).
            func handOver(_ parallel: ParallelFlows) -> DecodeResult {
                // Nearly every frame: the straight IPv4 pass, its leading bytes copied out as they
                // are (the worker builds the segment); any other, decoded here (`S9ReaderStraightTests`).
                let result: DecodeResult
                if let layout = decoder.takeStraightIPv4(
                    frame, wireLength: info.wireLength, linkType: info.linkType, timestampNanoseconds: info.timestampNanoseconds)
                {
                    parallel.dispatch(
                        straight: frame, layout, frame: info.frameNumber, timestampNanoseconds: info.timestampNanoseconds, now: now)
                    result = .tcp
                } else {
                    result = decodeLayered(frame, info: info, parallel: parallel)
                }
                parallel.frameDone { self.deliver($0) }
                return result
            }
            result = parallelRef._withUnsafeGuaranteedRef(handOver)
        } else {
            return
        }
        switch result {
        case .tcp: pending.tcpSegments &+= 1
        case .failed: pending.decodeErrors &+= 1
        case .fragmentHeld, .notTCP: break
        }
        if live && now >= nextSweep { sweep() }
    }

    /// A frame the straight IPv4 pass did not take, with workers: decoded here, its segment (if
    /// any) copied out. Out of line: the per-frame path stays short.
    @inline(never)
    private func decodeLayered(_ frame: UnsafeRawBufferPointer, info: CaptureInfo, parallel: ParallelFlows) -> DecodeResult {
        let now = now
        return decoder.decode(
            frame: frame, wireLength: info.wireLength, linkType: info.linkType, timestampNanoseconds: info.timestampNanoseconds
        ) { segment, payload in
            parallel.dispatch(
                segment, payload: payload, frame: info.frameNumber, timestampNanoseconds: info.timestampNanoseconds, now: now)
        }
    }

    /// How reading the current input ended: `packets` becomes the number of records read
    /// (a BPF filter's skipped frames included), and a failed record is kept as the read error.
    public func noteRead(_ outcome: ReadOutcome) {
        flushCounts()
        guard !captures.isEmpty else { return }
        let index = captures.count - 1
        captures[index].packets = max(captures[index].packets, outcome.framesRead)
        if case .failed(let framesRead, let reason) = outcome {
            captures[index].readError = CaptureStats.ReadError(frame: framesRead &+ 1, reason: reason.description)
        }
    }

    /// Live capture: the kernel's drop count for the current input (libpcap `ps_drop`).
    public func noteDrops(_ dropped: UInt64) {
        flushCounts()
        guard !captures.isEmpty else { return }
        captures[captures.count - 1].drops = dropped
    }

    /// Live idle tick: advances capture time with no packet (reply and idle timeouts).
    public func advanceClock(to timestampNanoseconds: Int64) {
        guard capturing else { return }
        flushCounts()
        now = max(now, timestampNanoseconds)
        tick(beforeFrame: captures[captures.count - 1].packets &+ 1)
        sweep()
    }

    /// End of the current input: every open flow is closed as `capture_end`.
    public func endCapture() {
        guard capturing else { return }
        flushCounts()
        let index = captures.count - 1
        if let stage {
            stage.now = now
            stage.finish()
            captures[index].limitsHit += stage.limitsHit
            stage.limitsHit = 0
        }
        if let parallel {
            captures[index].limitsHit += parallel.finish(now: now) { self.deliver($0) }
        }
        // Fragment storage is a limit too: datagrams evicted to make room, and fragments
        // dropped because the storage was full, each count as a limit reached.
        let fragmentLimits = decoder.statistics.datagramsEvicted + decoder.statistics.fragmentsDropped
        captures[index].limitsHit += UInt64(max(0, fragmentLimits))
        capturing = false
    }

    /// Ends the run: flows, correlated messages and the summary.
    public func finish() -> AnalysisResult {
        endCapture()
        flushCounts()
        let found = messages.messages()
        let summary = SummaryRecord(
            captures: captures, counts: counts, messages: found, forgotten: messages.forgotten,
            correlationEvictedMessages: messages.evictedMessages,
            correlationDroppedTransactions: messages.droppedTransactions)
        return AnalysisResult(flows: flows, messages: found, summary: summary)
    }

    /// Adds the pending per-frame counts to the current input's entry.
    private func flushCounts() {
        guard !captures.isEmpty else { return }
        pending.add(to: &captures[captures.count - 1])
        pending = PendingCounts()
    }

    // MARK: flows

    private func tick(beforeFrame frame: UInt64) {
        if let stage {
            stage.now = now
            stage.tick(beforeFrame: frame)
        }
        parallel?.tick(beforeFrame: frame, now: now)
    }

    /// A closed flow, in close order: joins the summary and correlation, and goes out.
    private func deliver(_ record: FlowRecord) {
        onRecord?(.flow(record))
        onFlow?(record)
        counts.add(record)
        messages.add(contentsOf: record.transactions)
        if options.retainFlowRecords { flows.append(record) }
    }

    private func sweep() {
        nextSweep = now > .max - 1_000_000_000 ? .max : now + 1_000_000_000
        guard let stage, onRecord != nil else { return }
        stage.now = now
        stage.sweep()
    }
}

/// What ``Analyzer/process(_:frame:)`` counts per frame, added to a ``CaptureStats`` in one go.
private struct PendingCounts {
    var frames: UInt64 = 0
    var capturedBytes: UInt64 = 0
    var truncatedFrames: UInt64 = 0
    var tcpSegments: UInt64 = 0
    var decodeErrors: UInt64 = 0
    var firstNanoseconds: Int64?
    var lastNanoseconds: Int64 = 0

    @inline(__always)
    mutating func count(_ info: CaptureInfo) {
        frames &+= 1
        capturedBytes &+= UInt64(clamping: info.capturedLength)
        if info.capturedLength < info.wireLength { truncatedFrames &+= 1 }
        if firstNanoseconds == nil { firstNanoseconds = info.timestampNanoseconds }
        lastNanoseconds = info.timestampNanoseconds
    }

    func add(to stats: inout CaptureStats) {
        stats.packets &+= frames
        stats.framesAnalyzed &+= frames
        stats.capturedBytes &+= capturedBytes
        stats.truncatedFrames &+= truncatedFrames
        stats.tcpSegments &+= tcpSegments
        stats.decodeErrors &+= decodeErrors
        guard frames > 0 else { return }
        if stats.firstNanoseconds == nil { stats.firstNanoseconds = firstNanoseconds }
        stats.lastNanoseconds = lastNanoseconds
    }
}
