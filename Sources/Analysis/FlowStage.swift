import Capture
import Reassembly
import SMTP
import Wire

/// Where a flow's close falls in the single-threaded order of closes: the frame during
/// which it happened, then the step of that frame, then the order within the step.
/// Parallel workers tag each close with it so the merger can put them back in that order.
struct CloseOrder: Comparable, Sendable {
    enum Step: UInt8, Comparable, Sendable {
        /// The clock tick before the frame: idle flows, least recently active first.
        case tick
        /// The frame's own segment (port reuse, eviction, FIN/RST close, buffer limit).
        case segment
        /// The end of the capture: every flow still open, in flow order.
        case captureEnd

        static func < (a: Step, b: Step) -> Bool { a.rawValue < b.rawValue }
    }

    var frame: UInt64
    var step: Step
    /// Tick: the flow's last active frame (unique among open flows). Segment: the close's
    /// position within the frame. Capture end: the flow index.
    var rank: UInt64

    static func < (a: CloseOrder, b: CloseOrder) -> Bool {
        (a.frame, a.step, a.rank) < (b.frame, b.step, b.rank)
    }
}

/// The per-flow half of the pipeline: one ``TCPReassembler`` (clock-driven) and one
/// ``FlowTracker`` per open flow, turning segments into flow records. The ``Analyzer`` owns
/// one on its own thread; each parallel worker owns one for its share of the flows.
///
/// The owner sets ``now`` (the latest capture time of all frames so far) before each call:
/// trackers judge outcomes at close by it, so it must be the whole capture's clock.
final class FlowStage {
    let options: AnalysisOptions
    /// Capture index of the current input (records carry it).
    var capture = 0
    var now: Int64 = .min
    /// Reassembly limits reached since the owner last took them.
    var limitsHit: UInt64 = 0
    /// Live hook: each transaction as soon as its outcome is known (drains the trackers).
    var onTransaction: ((TransactionRecord) -> Void)? {
        didSet { trackerShared.reportsLive = onTransaction != nil }
    }
    /// Each flow as it opens (its first frame), in open order.
    var onOpen: ((FlowInfo) -> Void)?
    /// Each closed flow's record, in close order, with where the close falls.
    let onClose: (FlowRecord, CloseOrder) -> Void

    // Touched for every event by the one thread that owns the stage, never re-entered (events go
    // down to the trackers): `@exclusivity(unchecked)` spares the dynamic access checks.
    @exclusivity(unchecked) private var reassembler: TCPReassembler
    /// Boxed: a dictionary of ~1.4 KB structs copied the tracker out and back on every
    /// event and held its full size in every empty bucket.
    private final class TrackerBox {
        @exclusivity(unchecked) var tracker: FlowTracker<SMTPSession>
        init(_ tracker: FlowTracker<SMTPSession>) { self.tracker = tracker }
    }
    /// Each box held retained once (taken back when its flow closes): a lookup then hands out
    /// the box without a retain and release per event.
    @exclusivity(unchecked) private var trackers = FlowIndexTable<Unmanaged<TrackerBox>>()
    /// Boxes of open flows, direct-mapped by flow index (the index alongside; -1: none): an event
    /// of a cached flow skips the table's probe. Flow indices are handed out in order, so the
    /// open flows rarely share an entry; one that does is looked up in the table again.
    /// An entry is cleared when its flow's box leaves the table.
    private struct Cached {
        var id = -1
        var box: Unmanaged<TrackerBox>?
    }
    private static var cachedCount: Int { 512 }
    @exclusivity(unchecked) private var cached = [Cached](repeating: Cached(), count: FlowStage.cachedCount)
    /// Tests turn it off to compare with every event looked up in the table.
    var trackerCache = true
    /// Tests turn it off to send every frame through the decoder's segment (``process(frame:info:decoder:)``).
    var straightFrames = true
    /// Trackers of closed flows, kept for the next flows to open (with their dialog's buffers
    /// and text stores), so that steady-state connections allocate no tracker state.
    private var spareTrackers: [TrackerBox] = []
    /// 16 left flows of a burst of opens to start their trackers from nothing (about a dozen
    /// allocations each); 64 cover the generated mix's bursts: 0.00097 allocations a frame in
    /// the bench's mid-file window against 0.00102 with 32, at the same peak RSS (21.2 MiB on
    /// the 1 GiB capture, 18.6 on the 100 MB one, either way).
    private static let maxSpareTrackers = 64
    /// Limits and dialog factory shared by every tracker (none holds its own copy).
    private let trackerShared: FlowTrackerShared<SMTPSession>
    /// The frame being handled and which step of it, for ``CloseOrder``.
    private var frame: UInt64 = 0
    private var step = CloseOrder.Step.segment
    private var closesInFrame: UInt64 = 0

    /// Whether the records handed to `onClose` stay alive after it returns (kept for the run's
    /// end, or queued for the ordered merge): then their storage is not recycled for later flows.
    var recordsOutliveClose: Bool {
        get { !trackerShared.recyclesRecordStorage }
        set { trackerShared.recyclesRecordStorage = !newValue }
    }

    init(options: AnalysisOptions, onClose: @escaping (FlowRecord, CloseOrder) -> Void) {
        self.options = options
        self.onClose = onClose
        reassembler = TCPReassembler(options: options.reassembly)
        trackerShared = FlowTrackerShared(options: options)
    }

    /// Starts input `capture` with an empty flow table (flows are numbered per capture).
    func begin(capture: Int) {
        self.capture = capture
        reassembler = TCPReassembler(options: options.reassembly)
        releaseTrackers()
        now = .min
    }

    deinit {
        releaseTrackers()
    }

    /// Empties the tracker table, giving back the reference each entry held.
    private func releaseTrackers() {
        forgetCached()
        for id in trackers.sortedIDs { trackers.remove(id)?.release() }
        trackers.removeAll()
    }

    /// Feeds one decoded segment of frame `frame`; `payload` is borrowed for the call.
    @inline(__always)
    func process(_ segment: TCPSegment, payload: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64) {
        if frame != self.frame || step != .segment {
            self.frame = frame
            step = .segment
            closesInFrame = 0
        }
        reassembler.process(segment, payload: payload, frame: frame, timestampNanoseconds: timestampNanoseconds, clock: now) {
            self.routeSegmentEvent($0)
        }
    }

    /// Decodes and feeds one frame (single-threaded analysis): a frame the straight IPv4 pass
    /// takes goes to the reassembler as it lies in `bytes` (see
    /// ``TCPReassembler/process(straight:_:frame:timestampNanoseconds:clock:emit:)``); any other
    /// through `decoder` and ``process(_:payload:frame:timestampNanoseconds:)``, as before.
    /// `S8FrameStraightTests` compares the two ways.
    @inline(__always)
    func process(frame bytes: UnsafeRawBufferPointer, info: CaptureInfo, decoder: inout PacketDecoder) -> DecodeResult {
        let frame = info.frameNumber
        let timestampNanoseconds = info.timestampNanoseconds
        guard straightFrames,
            let layout = decoder.takeStraightIPv4(
                bytes, wireLength: info.wireLength, linkType: info.linkType, timestampNanoseconds: timestampNanoseconds)
        else { return processLayered(frame: bytes, info: info, decoder: &decoder) }
        if frame != self.frame || step != .segment {
            self.frame = frame
            step = .segment
            closesInFrame = 0
        }
        reassembler.process(straight: bytes, layout, frame: frame, timestampNanoseconds: timestampNanoseconds, clock: now) {
            self.routeSegmentEvent($0)
        }
        return .tcp
    }

    /// Any other frame, through the decoder's segment. Out of line: the caller stays small.
    @inline(never)
    private func processLayered(frame bytes: UnsafeRawBufferPointer, info: CaptureInfo, decoder: inout PacketDecoder) -> DecodeResult {
        let frame = info.frameNumber
        let timestampNanoseconds = info.timestampNanoseconds
        return decoder.decode(
            frame: bytes, wireLength: info.wireLength, linkType: info.linkType, timestampNanoseconds: timestampNanoseconds
        ) { segment, payload in
            self.process(segment, payload: payload, frame: frame, timestampNanoseconds: timestampNanoseconds)
        }
    }

    /// The capture clock's tick before frame `frame`: idle flows end (by ``now``).
    func tick(beforeFrame frame: UInt64) {
        self.frame = frame
        step = .tick
        reassembler.advanceClock(to: now) { self.route($0) }
    }

    /// End of the input: every open flow is closed as `capture_end`, in flow order.
    func finish() {
        frame = .max
        step = .captureEnd
        reassembler.finish { self.route($0) }
        // Flows the reassembler did not close (it should have) are closed here.
        for id in trackers.sortedIDs { closeFlow(id, summary: nil) }
        reassembler = TCPReassembler(options: options.reassembly)
    }

    /// Live: decides reply timeouts of open flows by ``now``, in flow order.
    func sweep() {
        guard let onTransaction else { return }
        for id in trackers.sortedIDs {
            guard let held = trackers[id] else { continue }
            held._withUnsafeGuaranteedRef { box in
                box.tracker.advanceClock(to: now)
                for record in box.tracker.drainLive() { onTransaction(record) }
            }
        }
    }

    // MARK: events

    /// The per-segment event closures: data (nearly every event) goes straight to its tracker;
    /// the rest out of line, so the closure keeps a small frame (~15 instructions an event less).
    @inline(__always)
    private func routeSegmentEvent(_ event: StreamEvent) {
        if case .data(let id, _, _, _, _) = event {
            forward(event, to: id)
        } else {
            routeOther(event)
        }
    }

    @inline(never)
    private func routeOther(_ event: StreamEvent) {
        route(event)
    }

    /// Inlined into the reassembler's event closures: a call between them cost a frame per event.
    @inline(__always)
    private func route(_ event: StreamEvent) {
        switch event {
        case .opened(let info):
            if let spare = spareTrackers.popLast() {
                spare.tracker.reuse(info: info, capture: capture)
                trackers.insert(Unmanaged.passRetained(spare), for: info.id)
            } else {
                let box = TrackerBox(FlowTracker(info: info, capture: capture, shared: trackerShared))
                trackers.insert(Unmanaged.passRetained(box), for: info.id)
            }
            onOpen?(info)
        case .closed(let id, let summary):
            closeFlow(id, summary: summary)
        case .limitReached(_, let flow, _):
            limitsHit &+= 1
            if let flow { forward(event, to: flow) }
        case .data(let id, _, _, _, _), .retransmission(let id, _, _, _, _, _), .gap(let id, _, _, _, _),
            .end(let id, _, _, _, _):
            forward(event, to: id)
        }
    }

    /// Inlined into ``route(_:)``: per event.
    @inline(__always)
    private func forward(_ event: StreamEvent, to id: FlowID) {
        let held: Unmanaged<TrackerBox>
        let position = id.index & (Self.cachedCount - 1)
        if trackerCache, cached[position].id == id.index, let box = cached[position].box {
            held = box
        } else {
            guard let found = trackers[id] else { return }
            cached[position] = Cached(id: id.index, box: found)
            held = found
        }
        held._withUnsafeGuaranteedRef { box in
            box.tracker.handle(event)
            if let onTransaction {
                for record in box.tracker.drainLive() { onTransaction(record) }
            }
        }
    }

    private func forgetCached() {
        for position in cached.indices { cached[position] = Cached() }
    }

    private func closeFlow(_ id: FlowID, summary: FlowSummary?) {
        let position = id.index & (Self.cachedCount - 1)
        if cached[position].id == id.index { cached[position] = Cached() }
        guard let box = trackers.remove(id)?.takeRetainedValue() else { return }
        let record = box.tracker.close(summary: summary, now: now)
        if let onTransaction {
            for queued in box.tracker.drainLive() { onTransaction(queued) }
            // Decided only now (e.g. cut off by the capture's end), or the TLS placeholder.
            for transaction in record.transactions where !box.tracker.wasReported(transaction.index) {
                onTransaction(transaction)
            }
        }
        let rank: UInt64
        switch step {
        case .tick: rank = summary?.lastFrame ?? 0
        case .segment:
            rank = closesInFrame
            closesInFrame &+= 1
        case .captureEnd: rank = UInt64(clamping: id.index)
        }
        onClose(record, CloseOrder(frame: frame, step: step, rank: rank))
        if spareTrackers.count < Self.maxSpareTrackers {
            if spareTrackers.capacity == 0 { spareTrackers.reserveCapacity(Self.maxSpareTrackers) }
            spareTrackers.append(box)
        }
    }
}
