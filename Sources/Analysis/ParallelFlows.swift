import Wire

/// The reader's side of a parallel analysis (like Suricata's autofp or Zeek's cluster
/// workers): the ``Analyzer`` decodes every frame on its own thread and hands each segment on
/// an SMTP port to the lane its flow hashes to; lanes reassemble and track their flows; the
/// merger, on the reader's thread, puts their closed flows back in the exact order and
/// numbering one thread would have produced.
///
/// With `threads` N there are N lanes: N − 1 worker threads, and the reader's own lane, whose
/// flows the reader handles itself as it decodes them (no copy, no hand-over). Reading,
/// decoding and merging already keep the reader busy, so its lane takes a smaller share of
/// the flows: one hash slot against nine per worker (a tenth of the flows with two threads;
/// on the 1 GiB bench capture a fifth and a sixteenth were slower, and with none the reader
/// sat idle waiting for the worker). N threads, not N + 1, share N cores.
///
/// Frames go out in rounds: every lane gets one batch per round (maybe empty), ended when
/// any batch is full. At most ``roundsInFlight`` rounds are out at once; the reader then
/// waits for the oldest, merges it and reuses its batches (backpressure, bounded memory: at
/// most (``roundsInFlight`` + 1) × lanes batches, about 8 MiB of payload in all).
///
/// Exactness: a flow's events depend only on its own segments, the capture clock shipped with
/// each segment, and the clock ticks, which go to every lane at the same frames. Flows are
/// numbered in order of their opening frame across lanes; closes are ordered by
/// ``CloseOrder`` (frame, then tick / segment / capture end). Only limits that span flows
/// (``ReassemblyOptions/maxFlows``, ``ReassemblyOptions/maxOutOfOrderBytesTotal``,
/// ``ReassemblyOptions/maxClosedFlows``) differ: each lane gets a share by its hash slots.
final class ParallelFlows {
    /// Rounds out at once: about 8 MiB of payload in flight, 4 to 32 rounds.
    let roundsInFlight: Int

    /// Hash slots of a worker lane; the reader's lane has one.
    static let workerSlots = 9

    /// The followed ports as a bitmap (one test per segment, no hashing).
    private let ports: [UInt64]
    /// Lane of each hash slot (slot 0 is the reader's lane 0; lane `l` > 0 is `workers[l - 1]`).
    private let laneOfSlot: [Int]
    private let workers: [ParallelWorker]
    /// The reader's own lane: its stage, and the slot through which it writes into `filling[0]`.
    @exclusivity(unchecked) private var inline: FlowStage
    private let inlineSlot: ParallelBatch.Slot
    /// The batches being filled, one per lane.
    @exclusivity(unchecked) private var filling: [ParallelBatch]
    private var spare: [ParallelBatch] = []
    /// Rounds handed to the workers, oldest first (each one batch per lane).
    private var inFlight: [[ParallelBatch]] = []
    @exclusivity(unchecked) private var roundFull = false
    private var running = true

    // Merge state of the current input.
    private var nextFlow = 0
    /// Per lane: its flow numbers of open flows → numbers in the whole input.
    private var flowNumbers: [[Int: Int]]
    private var limitsHit: UInt64 = 0
    private var openScratch: [(frame: UInt64, lane: Int, flow: Int)] = []
    private var closeScratch: [(order: CloseOrder, lane: Int, index: Int)] = []

    /// `threads` lanes (at least 2): the reader's and `threads` − 1 worker threads.
    init(options: AnalysisOptions, threads count: Int) {
        let lanes = max(2, count)
        var bitmap = [UInt64](repeating: 0, count: 1024)
        for port in options.reassembly.ports { bitmap[Int(port >> 6)] |= 1 << UInt64(port & 63) }
        ports = bitmap
        laneOfSlot = [0] + (1..<lanes).flatMap { lane in Array(repeating: lane, count: Self.workerSlots) }
        let slots = laneOfSlot.count
        (inline, inlineSlot) = ParallelBatch.collectingStage(options: Self.share(options, slots: 1, of: slots))
        let workerOptions = Self.share(options, slots: Self.workerSlots, of: slots)
        workers = (1..<lanes).map { _ in ParallelWorker(options: workerOptions) }
        filling = (0..<lanes).map { _ in ParallelBatch(workers: lanes) }
        inlineSlot.batch = filling[0]
        let round = max(ParallelBatch.roundPayload, (filling.first?.payloadLimit ?? 0) * lanes)
        roundsInFlight = min(32, max(4, (8 << 20) / round))
        flowNumbers = Array(repeating: [:], count: lanes)
        for worker in workers { worker.start() }
    }

    /// Starts input `capture`: lanes empty their flow tables, numbering restarts at 0.
    func begin(capture: Int) {
        inline.begin(capture: capture)
        for batch in filling.dropFirst() { batch.append(.begin, frame: UInt64(max(0, capture)), now: .min) }
        nextFlow = 0
        for index in flowNumbers.indices { flowNumbers[index].removeAll(keepingCapacity: true) }
        limitsHit = 0
    }

    /// Hands one decoded segment to its flow's lane: the reader's own is handled at once,
    /// a worker's is copied into its batch (`payload` is borrowed). Segments on other ports are
    /// left out, as the reassembler would ignore them.
    @inline(__always)
    func dispatch(_ segment: TCPSegment, payload: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64, now: Int64) {
        guard follows(segment.source.port) || follows(segment.destination.port) else { return }
        let lane = laneOfSlot.withUnsafeBufferPointer { $0[Self.slot(for: segment, count: $0.count)] }
        let batch = filling[lane]
        if lane == 0 {
            inline.now = now
            inline.process(segment, payload: payload, frame: frame, timestampNanoseconds: timestampNanoseconds)
            batch.countInline(payloadCount: payload.count)
        } else {
            batch.appendSegment(segment, payload: payload, frame: frame, timestampNanoseconds: timestampNanoseconds, now: now)
        }
        if batch.isFull { roundFull = true }
    }

    /// The clock tick before `frame`, for every lane.
    func tick(beforeFrame frame: UInt64, now: Int64) {
        inline.now = now
        inline.tick(beforeFrame: frame)
        filling[0].countInline(payloadCount: 0)
        for batch in filling.dropFirst() { batch.append(.tick, frame: frame, now: now) }
        if filling.contains(where: \.isFull) { roundFull = true }
    }

    /// After each frame: ends the round when a batch is full (merging the oldest round
    /// first when too many are out; `deliver` gets its closed flows in order).
    @inline(__always)
    func frameDone(deliver: (FlowRecord) -> Void) {
        if roundFull { sendRound(deliver: deliver) }
    }

    /// End of the input: lanes close their open flows; everything is merged and delivered.
    /// Returns the reassembly limits reached in this input.
    func finish(now: Int64, deliver: (FlowRecord) -> Void) -> UInt64 {
        inline.now = now
        inline.finish()
        for batch in filling.dropFirst() { batch.append(.finish, frame: .max, now: now) }
        sendRound(deliver: deliver)
        while !inFlight.isEmpty { mergeOldest(deliver: deliver) }
        defer { limitsHit = 0 }
        return limitsHit
    }

    /// Ends the worker threads (after ``finish(now:deliver:)``; records still out are dropped).
    func stop() {
        guard running else { return }
        running = false
        while !inFlight.isEmpty { mergeOldest(deliver: { _ in }) }
        for worker in workers { worker.stop() }
    }

    // MARK: rounds

    private func sendRound(deliver: (FlowRecord) -> Void) {
        while inFlight.count >= roundsInFlight { mergeOldest(deliver: deliver) }
        // The reader's lane is done with its batch already.
        filling[0].limitsHit = inline.limitsHit
        inline.limitsHit = 0
        for (worker, batch) in zip(workers, filling.dropFirst()) { worker.submit(batch) }
        inFlight.append(filling)
        for index in filling.indices { filling[index] = spare.popLast() ?? ParallelBatch(workers: filling.count) }
        inlineSlot.batch = filling[0]
        roundFull = false
    }

    /// Waits for the oldest round, numbers the flows it opened and delivers the flows it
    /// closed, in the order one thread would have: opens by first frame, closes by ``CloseOrder``.
    private func mergeOldest(deliver: (FlowRecord) -> Void) {
        guard !inFlight.isEmpty else { return }
        let sent = inFlight.removeFirst()
        let round = [sent[0]] + workers.map { $0.takeProcessed() }

        openScratch.removeAll(keepingCapacity: true)
        for (lane, batch) in round.enumerated() {
            for opened in batch.opened { openScratch.append((opened.frame, lane, opened.flow)) }
        }
        openScratch.sort { $0.frame < $1.frame }
        for opened in openScratch {
            flowNumbers[opened.lane][opened.flow] = nextFlow
            nextFlow += 1
        }

        closeScratch.removeAll(keepingCapacity: true)
        for (lane, batch) in round.enumerated() {
            limitsHit &+= batch.limitsHit
            for index in batch.closed.indices {
                let local = batch.closed[index].record.flow
                let global = flowNumbers[lane].removeValue(forKey: local) ?? local
                Self.renumber(&batch.closed[index].record, as: global)
                var order = batch.closed[index].order
                if order.step == .captureEnd { order.rank = UInt64(clamping: global) }
                closeScratch.append((order, lane, index))
            }
        }
        closeScratch.sort { $0.order < $1.order }
        for close in closeScratch { deliver(round[close.lane].closed[close.index].record) }

        for batch in round {
            batch.reset()
            spare.append(batch)
        }
    }

    // MARK: helpers

    @inline(__always)
    private func follows(_ port: UInt16) -> Bool {
        ports.withUnsafeBufferPointer { $0[Int(port >> 6)] & (1 << UInt64(port & 63)) != 0 }
    }

    /// Every place a flow's number appears in its record.
    private static func renumber(_ record: inout FlowRecord, as flow: Int) {
        record.flow = flow
        for index in record.transactions.indices { record.transactions[index].flow = flow }
    }

    /// `options` with the limits that span flows cut to `slots` of `total` hash slots (rounded up).
    private static func share(_ options: AnalysisOptions, slots: Int, of total: Int) -> AnalysisOptions {
        func cut(_ limit: Int) -> Int {
            let (product, overflow) = limit.multipliedReportingOverflow(by: slots)
            return overflow ? limit / total * slots : max(1, (product + total - 1) / total)
        }
        var share = options
        share.reassembly.maxFlows = cut(options.reassembly.maxFlows)
        share.reassembly.maxOutOfOrderBytesTotal = cut(options.reassembly.maxOutOfOrderBytesTotal)
        share.reassembly.maxClosedFlows = cut(options.reassembly.maxClosedFlows)
        return share
    }

    /// The hash slot of `segment`'s flow: a fixed hash of its two endpoints that is the same
    /// both ways (the addresses and the ports combined with XOR), so both directions go to the
    /// same lane and a run is reproducible. Only the balance between lanes depends on it.
    @inline(__always)
    static func slot(for segment: TCPSegment, count: Int) -> Int {
        var hash = UInt64(segment.source.port ^ segment.destination.port) &* 0x9E37_79B9_7F4A_7C15
        switch (segment.source.address, segment.destination.address) {
        case (.v4(let a), .v4(let b)):
            hash ^= UInt64(a ^ b)
        case (.v6(let aHigh, let aLow), .v6(let bHigh, let bLow)):
            hash ^= (aHigh ^ bHigh) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= aLow ^ bLow
        case (.v4(let a), .v6(let high, let low)), (.v6(let high, let low), .v4(let a)):
            hash ^= UInt64(a) ^ high ^ low
        }
        hash = (hash ^ (hash >> 32)) &* 0xD6E8_FEB8_6659_FD93
        // The high 32 bits scaled to 0..<count (no division).
        return Int(truncatingIfNeeded: ((hash >> 32) &* UInt64(truncatingIfNeeded: max(1, count))) >> 32)
    }
}
