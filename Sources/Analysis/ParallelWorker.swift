import Capture
import Wire

/// One worker thread of a parallel analysis: replays the batches it is given through its own
/// ``FlowStage`` (reassembly and trackers of its share of the flows) and hands them back with
/// the flows that opened and closed. It never writes output.
///
/// Hand-over in bursts: a worker that ran out of batches sleeps until ``wakeAfter`` are queued,
/// and a reader waiting for a processed batch sleeps until ``returnAfter`` are back (or all it
/// has out): each side wakes the other once per few rounds, not per round. A wake-up is a
/// futex call and, on a virtual machine, an interrupt to the other CPU, paid on the thread that
/// is busy; the sleeper loses nothing, as it would only have waited for the next round. Either
/// side asks for the rest at once when it cannot go on without it (the reader waiting for a
/// batch still queued, the input's end, ``stop()``), so nothing waits for a burst that never comes.
///
/// `@unchecked Sendable`: the queues and the flags are guarded by `condition`; `stage`
/// and the batch being processed are touched only by the worker thread once it has started.
/// Both queues hold at most the reader's rounds in flight (``ParallelFlows``), so they are bounded.
final class ParallelWorker: @unchecked Sendable {
    private let condition = ConditionLock()
    private var inbox: [ParallelBatch] = []
    private var outbox: [ParallelBatch] = []
    /// The worker thread is processing a batch (taken from `inbox`, not yet in `outbox`).
    private var processing = false
    /// The worker thread sleeps until `inbox` holds ``wakeAfter`` batches.
    private var workerIdle = false
    /// The reader sleeps until `outbox` holds ``returnAfter`` batches (or all it has out).
    private var readerWaiting = false
    private var stopping = false
    private var exited = false

    /// Batches queued before an idle worker is woken.
    let wakeAfter: Int
    /// Processed batches before a waiting reader is woken.
    let returnAfter: Int

    private let stage: FlowStage
    /// Takes the straight frames again for ``stage`` (worker thread only; its counts are not
    /// used: the reader's decoder counted every frame).
    @exclusivity(unchecked) private var decoder = PacketDecoder()
    /// ``LinkType/ethernet``, read once (the static is reached through an accessor call).
    private let ethernet = LinkType.ethernet
    private let currentBox: ParallelBatch.Slot
    /// Set when this is the only worker: it merges its own flows and delivers them. Both are set
    /// under `condition` before the first batch; `deliver` is read under it per batch, `ownMerge`
    /// is then used by the worker thread alone.
    @exclusivity(unchecked) private var ownMerge: FlowMerge?
    /// The batch `ownMerge` merges, in a reused one-element array (no allocation per batch).
    /// Both are the worker thread's once it runs (`ownMerge` is set before): no dynamic access checks.
    @exclusivity(unchecked) private var merging: [ParallelBatch] = []
    private var deliver: ((FlowRecord) -> Void)?

    /// A worker woken after `wakeAfter` queued batches, waking the reader after `returnAfter`
    /// processed ones (both at least 1; 1 and 1 hand over every batch at once).
    init(options: AnalysisOptions, wakeAfter: Int = 1, returnAfter: Int = 1) {
        self.wakeAfter = max(1, wakeAfter)
        self.returnAfter = max(1, returnAfter)
        // Set up before the thread starts; used only by it afterwards.
        (stage, currentBox) = ParallelBatch.collectingStage(options: options)
    }

    /// Starts the thread.
    func start() {
        let started = startDetachedThread(name: "smtpscope-worker", stackSize: 8 << 20) { [self] in run() }
        // Without a thread no batch would come back: fail loudly rather than hang.
        precondition(started, "smtpscope: cannot start a worker thread")
    }

    /// Merge and deliver this worker's closed flows on its own thread (set before the first batch).
    func mergeOwnFlows(deliver: @escaping (FlowRecord) -> Void) {
        condition.lock()
        ownMerge = FlowMerge(workers: 1)
        self.deliver = deliver
        condition.unlock()
    }

    /// No more deliveries (the analysis is going away): batches still queued are processed and
    /// their flows left for the reader to drop.
    func stopDelivering() {
        condition.lock()
        deliver = nil  // `ownMerge` is the worker thread's: left alone
        condition.unlock()
    }

    /// Queues a batch for processing (called by the reader); wakes an idle worker once
    /// ``wakeAfter`` are queued.
    func submit(_ batch: ParallelBatch) {
        condition.lock()
        inbox.append(batch)
        if workerIdle && inbox.count >= wakeAfter { condition.broadcast() }
        condition.unlock()
    }

    /// The oldest processed batch (called by the reader). When none is back yet, waits until
    /// ``returnAfter`` are, or every batch out is; a worker idle with fewer than ``wakeAfter``
    /// queued is woken to process them.
    func takeProcessed() -> ParallelBatch {
        condition.lock()
        if outbox.isEmpty {
            readerWaiting = true
            if workerIdle { condition.broadcast() }
            while outbox.isEmpty || outbox.count < min(returnAfter, outstanding) { condition.wait() }
            readerWaiting = false
        }
        let batch = outbox.removeFirst()
        condition.unlock()
        return batch
    }

    /// Batches handed in and not yet taken back (under `condition`).
    private var outstanding: Int { inbox.count + (processing ? 1 : 0) + outbox.count }

    /// Lets the thread finish the batches queued and end; returns once it has.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !exited { condition.wait() }
        condition.unlock()
    }

    private func run() {
        condition.lock()
        while true {
            if inbox.isEmpty {
                workerIdle = true
                while !stopping && (inbox.isEmpty || (inbox.count < wakeAfter && !readerWaiting)) { condition.wait() }
                workerIdle = false
                if inbox.isEmpty {
                    exited = true
                    condition.broadcast()
                    condition.unlock()
                    return
                }
            }
            let batch = inbox.removeFirst()
            processing = true
            let deliver = deliver
            condition.unlock()

            process(batch)
            if let deliver, ownMerge != nil {
                merging.append(batch)
                ownMerge?.merge(merging, deliver: deliver)
                merging.removeAll(keepingCapacity: true)
            }

            condition.lock()
            processing = false
            outbox.append(batch)
            if readerWaiting && outbox.count >= min(returnAfter, outstanding) { condition.broadcast() }
        }
    }

    private func process(_ batch: ParallelBatch) {
        currentBox.batch = batch
        let stage = stage
        let ethernet = ethernet
        batch.forEachEntry { entry, contents in
            switch contents {
            case .straight(let frame):
                // The frame's headers as the reader's straight pass took them: the stage takes it
                // the single-threaded way (the same pass again, then the reassembler reads it in place).
                stage.now = entry.now
                let info = CaptureInfo(
                    frameNumber: entry.frame, timestampNanoseconds: entry.timestampNanoseconds, capturedLength: frame.count,
                    wireLength: frame.count, linkType: ethernet)
                _ = stage.process(frame: frame, info: info, decoder: &decoder)
            case .segment(let segment, let payload):
                stage.now = entry.now
                stage.process(segment, payload: payload, frame: entry.frame, timestampNanoseconds: entry.timestampNanoseconds)
            case .none:
                switch entry.kind {
                case .tick:
                    stage.now = entry.now
                    stage.tick(beforeFrame: entry.frame)
                case .finish:
                    stage.now = entry.now
                    stage.finish()
                case .begin:
                    stage.begin(capture: Int(clamping: entry.frame))
                    decoder = PacketDecoder()
                    ownMerge?.begin()
                case .segment, .straight:
                    break
                }
            }
        }
        batch.limitsHit = stage.limitsHit
        stage.limitsHit = 0
        currentBox.batch = nil
    }
}
