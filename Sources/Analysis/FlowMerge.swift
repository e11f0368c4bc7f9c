/// Puts workers' flows back in the numbering and order one thread would have given them: flows
/// are numbered in order of their opening frame across workers, closes delivered by
/// ``CloseOrder`` (frame, then tick / segment / capture end, then flow number at the end).
///
/// With several workers the reader merges each round; with one worker, that worker merges its
/// own batches as it finishes them (its flows are all the flows), so the reader's thread, which
/// also reads and decodes every frame, does not write the output too.
struct FlowMerge {
    private var nextFlow = 0
    /// Per worker: its flow numbers of open flows → numbers in the whole input.
    private var flowNumbers: [[Int: Int]]
    private var openScratch: [(frame: UInt64, worker: Int, flow: Int)] = []
    private var closeScratch: [(order: CloseOrder, worker: Int, index: Int)] = []

    init(workers: Int) {
        flowNumbers = Array(repeating: [:], count: max(1, workers))
    }

    /// A new input: numbering restarts at 0.
    mutating func begin() {
        nextFlow = 0
        for index in flowNumbers.indices { flowNumbers[index].removeAll(keepingCapacity: true) }
    }

    /// Numbers the flows `round` opened (one batch per worker, in worker order) and hands its
    /// closed flows to `deliver` in order; empties the batches' lists of opened and closed flows.
    mutating func merge(_ round: [ParallelBatch], deliver: (FlowRecord) -> Void) {
        openScratch.removeAll(keepingCapacity: true)
        for (worker, batch) in round.enumerated() {
            for opened in batch.opened { openScratch.append((opened.frame, worker, opened.flow)) }
        }
        openScratch.sort { $0.frame < $1.frame }
        for opened in openScratch {
            flowNumbers[opened.worker][opened.flow] = nextFlow
            nextFlow += 1
        }

        closeScratch.removeAll(keepingCapacity: true)
        for (worker, batch) in round.enumerated() {
            for index in batch.closed.indices {
                let local = batch.closed[index].record.flow
                let global = flowNumbers[worker].removeValue(forKey: local) ?? local
                Self.renumber(&batch.closed[index].record, as: global)
                var order = batch.closed[index].order
                if order.step == .captureEnd { order.rank = UInt64(clamping: global) }
                closeScratch.append((order, worker, index))
            }
        }
        closeScratch.sort { $0.order < $1.order }
        for close in closeScratch { deliver(round[close.worker].closed[close.index].record) }
        for batch in round {
            batch.opened.removeAll(keepingCapacity: true)
            batch.closed.removeAll(keepingCapacity: true)
        }
    }

    /// Every place a flow's number appears in its record.
    private static func renumber(_ record: inout FlowRecord, as flow: Int) {
        record.flow = flow
        for index in record.transactions.indices { record.transactions[index].flow = flow }
    }
}
