import Wire

/// The reader's side of a parallel analysis (like Suricata's autofp or Zeek's cluster
/// workers): the ``Analyzer`` decodes every frame on its own thread and hands each segment on
/// an SMTP port to the worker its flow hashes to; workers reassemble and track their flows;
/// the merger, on the reader's thread, puts their closed flows back in the exact order and
/// numbering one thread would have produced.
///
/// With `threads` N there are N − 1 workers: reading, decoding, copying segments out and
/// merging keep the reading thread busy on its own. Measured on the 1 GiB bench capture with
/// two threads, the reader took as long as the one worker; giving the reader a share of the
/// flows too (followed in place, without a copy) made it the slower of the two and the run
/// about 10 % slower with a tenth of the flows (5 % with a thirtieth). The reader only finds
/// which frames carry a segment on a followed port: a frame the straight IPv4 pass takes (nearly
/// all) goes out as its leading bytes, up to the end of its datagram, and the worker builds the
/// segment (callgrind, 100 MB bench capture, two threads: the reader's instructions 164.5 ->
/// 155.9 M with the changes around it, the worker's 253.2 -> 261.4 M); any other frame is decoded here and goes out as its segment. Handing out whole
/// frames, every one of them, left the reader's CPU time as it was (0.360 against 0.363 s: the
/// frames on other ports, a fifth of the bench capture, cost more to copy than to decode).
///
/// Frames go out in rounds: every worker gets one batch per round (maybe empty), ended when
/// any batch is full. At most ``roundsInFlight`` rounds are out at once; the reader then
/// waits for the oldest, merges it and reuses its batches (backpressure, bounded memory: at
/// most (``roundsInFlight`` + 1) × workers batches, about 1 MiB of payload in all).
///
/// Exactness: a flow's events depend only on its own segments, the capture clock shipped with
/// each segment, and the clock ticks, which go to every worker at the same frames. Flows are
/// numbered in order of their opening frame across workers; closes are ordered by
/// ``CloseOrder`` (frame, then tick / segment / capture end). Only limits that span flows
/// (``ReassemblyOptions/maxFlows``, ``ReassemblyOptions/maxOutOfOrderBytesTotal``,
/// ``ReassemblyOptions/maxClosedFlows``) differ: each worker gets an equal share.
final class ParallelFlows {
    /// Rounds out at once: about 1 MiB of payload in flight (2 MiB was slower), 4 to 32 rounds.
    let roundsInFlight: Int

    /// The followed ports as a bitmap (one test per segment, no hashing).
    private let ports: [UInt64]
    /// The lowest followed port and the span up to the highest: a port outside (a client's
    /// ephemeral port, usually) is rejected without loading its bitmap word, which the reader's
    /// streaming copies keep evicting (a quarter of the dispatch's samples waited on that load).
    private let lowestPort: UInt16
    private let portSpan: UInt16
    private let workers: [ParallelWorker]
    /// The batches being filled, one per worker (replaced in place: no copy per round).
    @exclusivity(unchecked) private var filling: [ParallelBatch]
    /// `filling` again, unretained, for the per-segment path (taking a batch out of `filling`
    /// cost a retain and release per segment); `filling` keeps them alive.
    @exclusivity(unchecked) private var fillingRefs: [Unmanaged<ParallelBatch>]
    // The round bookkeeping below is the reader's alone and never re-entered (`deliver` reaches
    // the analyzer, not these): no dynamic access checks (~1.4 M instructions on the 100 MB bench
    // capture with two threads, a few thousand a round).
    @exclusivity(unchecked) private var spare: [ParallelBatch] = []
    /// Batches handed to the workers, oldest round first, each round one batch per worker in
    /// worker order (flat, with room reserved: sending and merging a round allocate nothing).
    @exclusivity(unchecked) private var inFlight: [ParallelBatch] = []
    /// The round being merged, reused.
    @exclusivity(unchecked) private var merging: [ParallelBatch] = []
    @exclusivity(unchecked) private var roundFull = false
    private var running = true

    // Merge state of the current input (the reader's; a single worker merges its own flows).
    @exclusivity(unchecked) private var merge: FlowMerge
    @exclusivity(unchecked) private var limitsHit: UInt64 = 0
    /// The one worker merges and delivers its own flows (``deliverOnWorker(_:)``).
    @exclusivity(unchecked) private var workerMerges = false

    /// `threads` in all (at least 2): the reader's and `threads` − 1 worker threads.
    init(options: AnalysisOptions, threads: Int) {
        let count = max(1, threads - 1)
        var bitmap = [UInt64](repeating: 0, count: 1024)
        for port in options.reassembly.ports { bitmap[Int(port >> 6)] |= 1 << UInt64(port & 63) }
        ports = bitmap
        lowestPort = options.reassembly.ports.min() ?? 0
        portSpan = (options.reassembly.ports.max() ?? 0) &- lowestPort
        var share = options
        share.reassembly.maxFlows = Self.share(options.reassembly.maxFlows, of: count)
        share.reassembly.maxOutOfOrderBytesTotal = Self.share(options.reassembly.maxOutOfOrderBytesTotal, of: count)
        share.reassembly.maxClosedFlows = Self.share(options.reassembly.maxClosedFlows, of: count)
        filling = (0..<count).map { _ in ParallelBatch(workers: count) }
        fillingRefs = filling.map { Unmanaged.passUnretained($0) }
        let round = max(ParallelBatch.roundPayload, (filling.first?.payloadLimit ?? 0) * count)
        let rounds = min(32, max(4, (1 << 20) / round))
        roundsInFlight = rounds
        // An idle worker is woken once half the rounds in flight are queued for it, a waiting
        // reader once half are back (see ``ParallelWorker``): a wake-up per four rounds, not per
        // round. On the 1 GiB bench capture (two threads, 8 alternating runs, per-thread CPU):
        // waits 2,900 (reader) + 400 (worker) per run with every round handed over at once, about
        // 250 + 400 this way, and the reader's CPU time 0.37 -> 0.35 s (2 and 4: 310 + 900).
        workers = (0..<count).map { _ in
            ParallelWorker(options: share, wakeAfter: rounds / 2, returnAfter: rounds / 2)
        }
        inFlight.reserveCapacity(roundsInFlight * count)
        merging.reserveCapacity(count)
        spare.reserveCapacity((roundsInFlight + 1) * count)
        merge = FlowMerge(workers: count)
        for worker in workers { worker.start() }
    }

    /// Starts input `capture`: workers empty their flow tables, numbering restarts at 0.
    func begin(capture: Int) {
        for batch in filling { batch.append(.begin, frame: UInt64(max(0, capture)), now: .min) }
        merge.begin()
        limitsHit = 0
    }

    /// Hands one decoded segment to its flow's worker (copied; `payload` is borrowed).
    /// Segments on other ports are left out, as the reassembler would ignore them.
    @inline(__always)
    func dispatch(_ segment: TCPSegment, payload: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64, now: Int64) {
        guard follows(segment.source.port) || follows(segment.destination.port) else { return }
        let count = fillingRefs.count
        // One worker takes every flow: no hash.
        let full = fillingRefs[count == 1 ? 0 : Self.slot(for: segment, count: count)]._withUnsafeGuaranteedRef { batch in
            batch.appendSegment(segment, payload: payload, frame: frame, timestampNanoseconds: timestampNanoseconds, now: now)
        }
        if full { roundFull = true }
    }

    /// Hands one frame the straight IPv4 pass took (`layout`, from
    /// ``PacketDecoder/takeStraightIPv4(_:wireLength:linkType:timestampNanoseconds:)``) to its
    /// flow's worker, as its leading bytes (copied; `bytes` is borrowed): the worker builds the
    /// segment. Ports, and the addresses for the worker, are read in place; segments on other
    /// ports are left out, as ``dispatch(_:payload:frame:timestampNanoseconds:now:)`` leaves them.
    @inline(__always)
    func dispatch(
        straight bytes: UnsafeRawBufferPointer, _ layout: StraightIPv4Frame, frame: UInt64, timestampNanoseconds: Int64, now: Int64
    ) {
        let tcp = StraightIPv4Frame.tcp
        let sourcePort = bytes.u16(tcp)
        let destinationPort = bytes.u16(tcp &+ 2)
        guard follows(sourcePort) || follows(destinationPort) else { return }
        let count = fillingRefs.count
        let index = count == 1 ? 0 : Self.slot(straight: bytes, count: count)
        let full = fillingRefs[index]._withUnsafeGuaranteedRef { batch in
            batch.appendStraight(bytes, layout, frame: frame, timestampNanoseconds: timestampNanoseconds, now: now)
        }
        if full { roundFull = true }
    }

    /// The clock tick before `frame`, for every worker.
    func tick(beforeFrame frame: UInt64, now: Int64) {
        for batch in filling {
            batch.append(.tick, frame: frame, now: now)
            if batch.isFull { roundFull = true }
        }
    }

    /// After each frame: ends the round when a batch is full (merging the oldest round
    /// first when too many are out; `deliver` gets its closed flows in order).
    @inline(__always)
    func frameDone(deliver: (FlowRecord) -> Void) {
        if roundFull { sendRound(deliver: deliver) }
    }

    /// End of the input: workers close their open flows; everything is merged and delivered.
    /// Returns the reassembly limits reached in this input.
    func finish(now: Int64, deliver: (FlowRecord) -> Void) -> UInt64 {
        for batch in filling { batch.append(.finish, frame: .max, now: now) }
        sendRound(deliver: deliver)
        while !inFlight.isEmpty { mergeOldest(deliver: deliver) }
        defer { limitsHit = 0 }
        return limitsHit
    }

    /// With one worker, lets it merge and deliver its closed flows itself, on its thread, as it
    /// finishes each batch (before any frame is handed over; see ``FlowMerge``). `deliver` is
    /// then called on that thread only, and every call has returned once ``finish(now:deliver:)``
    /// has. Returns false (and changes nothing) with several workers.
    @discardableResult
    func deliverOnWorker(_ deliver: @escaping (FlowRecord) -> Void) -> Bool {
        guard workers.count == 1, let worker = workers.first else { return false }
        worker.mergeOwnFlows(deliver: deliver)
        workerMerges = true
        return true
    }

    /// Ends the worker threads (after ``finish(now:deliver:)``; records still out are dropped).
    func stop() {
        guard running else { return }
        running = false
        for worker in workers { worker.stopDelivering() }
        while !inFlight.isEmpty { mergeOldest(deliver: { _ in }) }
        for worker in workers { worker.stop() }
    }

    // MARK: rounds

    private func sendRound(deliver: (FlowRecord) -> Void) {
        while inFlight.count >= roundsInFlight * workers.count { mergeOldest(deliver: deliver) }
        for (worker, batch) in zip(workers, filling) { worker.submit(batch) }
        inFlight.append(contentsOf: filling)
        for index in filling.indices {
            let next = spare.popLast() ?? ParallelBatch(workers: workers.count)
            filling[index] = next
            fillingRefs[index] = Unmanaged.passUnretained(next)
        }
        roundFull = false
    }

    /// Waits for the oldest round, numbers the flows it opened and delivers the flows it
    /// closed, in the order one thread would have: opens by first frame, closes by ``CloseOrder``.
    private func mergeOldest(deliver: (FlowRecord) -> Void) {
        guard !inFlight.isEmpty else { return }
        inFlight.removeFirst(min(inFlight.count, workers.count))
        merging.removeAll(keepingCapacity: true)
        // Each worker hands its batches back in the order it was given them: the oldest round's.
        for worker in workers { merging.append(worker.takeProcessed()) }

        for batch in merging { limitsHit &+= batch.limitsHit }
        // Batches a single worker merged itself come back with nothing opened or closed (or, once
        // it stopped delivering, with flows to drop): nothing to merge here.
        if !workerMerges { merge.merge(merging, deliver: deliver) }

        for batch in merging {
            batch.reset()
            spare.append(batch)
        }
        merging.removeAll(keepingCapacity: true)
    }

    // MARK: helpers

    @inline(__always)
    func follows(_ port: UInt16) -> Bool {
        port &- lowestPort <= portSpan && ports.withUnsafeBufferPointer { $0[Int(port >> 6)] & (1 << UInt64(port & 63)) != 0 }
    }

    private static func share(_ limit: Int, of count: Int) -> Int {
        max(1, limit / count + (limit % count == 0 ? 0 : 1))
    }

    /// The worker (of `count`) of `segment`'s flow: a fixed hash of its two endpoints that is
    /// the same both ways (the addresses and the ports combined with XOR), so both directions go
    /// to the same worker and a run is reproducible. Only the balance between workers depends on it.
    @inline(__always)
    static func slot(for segment: TCPSegment, count: Int) -> Int {
        let ports = segment.source.port ^ segment.destination.port
        switch (segment.source.address, segment.destination.address) {
        case (.v4(let a), .v4(let b)):
            return slot(v4: a, b, ports: ports, count: count)
        case (.v6(let aHigh, let aLow), .v6(let bHigh, let bLow)):
            var hash = UInt64(ports) &* 0x9E37_79B9_7F4A_7C15
            hash ^= (aHigh ^ bHigh) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= aLow ^ bLow
            return slot(hash: hash, count: count)
        case (.v4(let a), .v6(let high, let low)), (.v6(let high, let low), .v4(let a)):
            return slot(hash: UInt64(ports) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(a) ^ high ^ low, count: count)
        }
    }

    /// ``slot(for:count:)`` of a frame the straight IPv4 pass took, from its addresses and ports
    /// read in place (IPv4 addresses at 26 and 30, TCP ports at 34 and 36): the frame goes to the
    /// worker its segment would go to, so a flow whose frames take either path stays in one.
    @inline(__always)
    static func slot(straight bytes: UnsafeRawBufferPointer, count: Int) -> Int {
        let tcp = StraightIPv4Frame.tcp
        return slot(v4: bytes.u32(26), bytes.u32(30), ports: bytes.u16(tcp) ^ bytes.u16(tcp &+ 2), count: count)
    }

    /// ``slot(for:count:)`` of an IPv4 segment from its two addresses and its ports combined with XOR.
    @inline(__always)
    static func slot(v4 a: UInt32, _ b: UInt32, ports: UInt16, count: Int) -> Int {
        slot(hash: UInt64(ports) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(a ^ b), count: count)
    }

    @inline(__always)
    private static func slot(hash: UInt64, count: Int) -> Int {
        let hash = (hash ^ (hash >> 32)) &* 0xD6E8_FEB8_6659_FD93
        // The high 32 bits scaled to 0..<count (no division).
        return Int(truncatingIfNeeded: ((hash >> 32) &* UInt64(truncatingIfNeeded: max(1, count))) >> 32)
    }
}
