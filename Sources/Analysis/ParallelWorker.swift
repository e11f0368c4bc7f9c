/// One worker thread of a parallel analysis: replays the batches it is given through its own
/// ``FlowStage`` (reassembly and trackers of its share of the flows) and hands them back with
/// the flows that opened and closed. It never writes output.
///
/// `@unchecked Sendable`: `inbox`, `outbox` and the flags are guarded by `condition`; `stage`
/// and the batch being processed are touched only by the worker thread once it has started.
/// Both queues hold at most the reader's rounds in flight (``ParallelFlows``), so they are bounded.
final class ParallelWorker: @unchecked Sendable {
    private let condition = ConditionLock()
    private var inbox: [ParallelBatch] = []
    private var outbox: [ParallelBatch] = []
    private var stopping = false
    private var exited = false

    private let stage: FlowStage
    private let currentBox: ParallelBatch.Slot
    /// Set when this is the only worker: it merges its own flows and delivers them. Both are set
    /// under `condition` before the first batch; `deliver` is read under it per batch, `ownMerge`
    /// is then used by the worker thread alone.
    private var ownMerge: FlowMerge?
    private var deliver: ((FlowRecord) -> Void)?

    init(options: AnalysisOptions) {
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

    /// Queues a batch for processing (called by the reader).
    func submit(_ batch: ParallelBatch) {
        condition.lock()
        inbox.append(batch)
        condition.broadcast()
        condition.unlock()
    }

    /// The oldest processed batch, waiting for it (called by the reader).
    func takeProcessed() -> ParallelBatch {
        condition.lock()
        while outbox.isEmpty { condition.wait() }
        let batch = outbox.removeFirst()
        condition.unlock()
        return batch
    }

    /// Lets the thread finish the batches queued and end; returns once it has.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !exited { condition.wait() }
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while inbox.isEmpty && !stopping { condition.wait() }
            guard !inbox.isEmpty else {
                exited = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let batch = inbox.removeFirst()
            let deliver = deliver
            condition.unlock()

            process(batch)
            if let deliver { ownMerge?.merge([batch], deliver: deliver) }

            condition.lock()
            outbox.append(batch)
            condition.broadcast()
            condition.unlock()
        }
    }

    private func process(_ batch: ParallelBatch) {
        currentBox.batch = batch
        let stage = stage
        batch.forEachEntry { entry, payload in
            switch entry.kind {
            case .segment:
                stage.now = entry.now
                stage.process(entry.segment, payload: payload, frame: entry.frame, timestampNanoseconds: entry.timestampNanoseconds)
            case .tick:
                stage.now = entry.now
                stage.tick(beforeFrame: entry.frame)
            case .finish:
                stage.now = entry.now
                stage.finish()
            case .begin:
                stage.begin(capture: Int(clamping: entry.frame))
                ownMerge?.begin()
            }
        }
        batch.limitsHit = stage.limitsHit
        stage.limitsHit = 0
        currentBox.batch = nil
    }
}
