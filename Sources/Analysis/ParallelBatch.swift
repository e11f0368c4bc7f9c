import Wire

/// One worker's share of a round of frames, and what the worker made of it. The reader
/// copies each dispatched segment's decoded header and payload in (the frame's bytes are
/// only borrowed), the worker replays them and adds the flows that opened and closed, and
/// the merger empties it for reuse: batches circulate, so their storage is allocated once.
///
/// `@unchecked Sendable`: a batch belongs to one thread at a time, handed over through a
/// ``ParallelWorker``'s locked queues (reader fills → worker processes → reader merges).
final class ParallelBatch: @unchecked Sendable {
    /// One step for the worker, in frame order.
    struct Entry {
        enum Kind: UInt8 {
            /// Reassemble `segment`, whose payload is `payloadCount` bytes at `payloadStart` of the arena.
            case segment
            /// The capture clock's tick before `frame`: expire idle flows by `now`.
            case tick
            /// End of the input: close every open flow (`now` is the input's last clock).
            case finish
            /// Start input number `frame` with an empty flow table.
            case begin
        }

        var kind: Kind
        var frame: UInt64
        var timestampNanoseconds: Int64
        /// The reader's capture clock at this frame (the latest time of all frames so far).
        var now: Int64
        var payloadStart: Int
        var payloadCount: Int
        var segment: TCPSegment
    }

    /// A flow that opened: its first frame and its number within the worker.
    struct Opened {
        var frame: UInt64
        var flow: Int
    }

    /// A flow that closed, numbered within the worker until the merger renumbers it.
    struct Closed {
        var order: CloseOrder
        var record: FlowRecord
    }

    /// Where a stage's callbacks write: the batch being processed (a reference the closures
    /// can hold without capturing their owner before it exists).
    final class Slot {
        var batch: ParallelBatch?
    }

    /// A stage for one worker's share of the flows whose opens and closes go into the slot's batch.
    static func collectingStage(options: AnalysisOptions) -> (FlowStage, Slot) {
        let slot = Slot()
        let stage = FlowStage(options: options) { record, order in
            slot.batch?.closed.append(Closed(order: order, record: record))
        }
        stage.recordsOutliveClose = true  // they wait in the batch for the merge
        stage.onOpen = { info in
            slot.batch?.opened.append(Opened(frame: info.firstFrame, flow: info.id.index))
        }
        return (stage, slot)
    }

    /// Entries past which the reader ends the round.
    let entryLimit: Int
    /// Payload bytes past which the reader ends the round (one more segment may follow).
    let payloadLimit: Int

    // Appended to for every segment by the one thread that owns the batch: `@exclusivity(unchecked)`
    // spares the dynamic access checks of class properties on that path.
    @exclusivity(unchecked) private(set) var entries: [Entry] = []
    /// Payload of every segment entry, back to back: `payloadCount` bytes used of
    /// `payloadCapacity` (raw storage: one copy per segment, no generic append).
    @exclusivity(unchecked) private var payload: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var payloadCount = 0
    @exclusivity(unchecked) private var payloadCapacity: Int
    var opened: [Opened] = []
    var closed: [Closed] = []
    /// Reassembly limits the worker reached while processing this batch.
    var limitsHit: UInt64 = 0

    /// Payload bytes of one round over all workers. Measured on the 1 GiB bench capture with two
    /// threads (median of 10 alternating runs each): 128 KiB rounds, 8 in flight, 0.45 s; 64 KiB
    /// 0.465; 32 KiB 0.48; 256 KiB 0.47; 1 MiB rounds, 8 in flight, 0.525. What the reader copies
    /// out is read by the worker while it is still in the shared cache; rounds much smaller
    /// wake the worker too often.
    static let roundPayload = 128 << 10

    /// A batch of one of `workers` workers: a round holds about ``roundPayload`` bytes and 2,048
    /// entries over all workers (at least 16 KiB and 128 per batch). Storage is reserved once,
    /// with room for one frame past the limit (a tick and a segment, plus begin or finish, and a
    /// full-size Ethernet segment); a larger segment grows it once, then the batch keeps it.
    init(workers: Int) {
        let workers = max(1, workers)
        entryLimit = max(128, 2_048 / workers)
        payloadLimit = max(16 << 10, Self.roundPayload / workers)
        entries.reserveCapacity(entryLimit + 4)
        payloadCapacity = payloadLimit + 2_048
        payload = UnsafeMutableRawPointer.allocate(byteCount: payloadCapacity, alignment: 16)
    }

    deinit {
        payload.deallocate()
    }

    /// True when the round this batch belongs to should end.
    var isFull: Bool { entries.count >= entryLimit || payloadCount >= payloadLimit }

    func appendSegment(_ segment: TCPSegment, payload bytes: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64, now: Int64) {
        let start = payloadCount
        if bytes.count > payloadCapacity &- start { grow(toHold: bytes.count) }
        if let source = bytes.baseAddress { (payload + start).copyMemory(from: source, byteCount: bytes.count) }
        payloadCount = start &+ bytes.count
        entries.append(Entry(
            kind: .segment, frame: frame, timestampNanoseconds: timestampNanoseconds, now: now, payloadStart: start,
            payloadCount: bytes.count, segment: segment))
    }

    func append(_ kind: Entry.Kind, frame: UInt64, now: Int64) {
        entries.append(Entry(
            kind: kind, frame: frame, timestampNanoseconds: now, now: now, payloadStart: 0, payloadCount: 0,
            segment: Self.noSegment))
    }

    /// A segment larger than the room left (a batch holds one frame past its limit; a 64 KiB
    /// offloaded segment needs more): the storage grows once and the batch keeps it.
    private func grow(toHold count: Int) {
        let capacity = max(payloadCapacity * 2, payloadCount + count)
        let larger = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        larger.copyMemory(from: payload, byteCount: payloadCount)
        payload.deallocate()
        payload = larger
        payloadCapacity = capacity
    }

    /// Calls `body` with each entry and, for segments, its payload (borrowed for the call).
    func forEachEntry(_ body: (Entry, UnsafeRawBufferPointer) -> Void) {
        let arena = UnsafeRawBufferPointer(start: payload, count: payloadCount)
        for entry in entries {
            let end = entry.payloadStart + entry.payloadCount
            let bytes = entry.kind == .segment && entry.payloadStart >= 0 && end <= arena.count
                ? UnsafeRawBufferPointer(rebasing: arena[entry.payloadStart..<end])
                : UnsafeRawBufferPointer(start: nil, count: 0)
            body(entry, bytes)
        }
    }

    /// Empties the batch for reuse, keeping its storage.
    func reset() {
        entries.removeAll(keepingCapacity: true)
        payloadCount = 0
        opened.removeAll(keepingCapacity: true)
        closed.removeAll(keepingCapacity: true)
        limitsHit = 0
    }

    private static let noSegment = TCPSegment(
        source: Endpoint(address: .v4(0), port: 0), destination: Endpoint(address: .v4(0), port: 0),
        sequenceNumber: 0, acknowledgmentNumber: 0, flags: TCPFlags(rawValue: 0), window: 0, payloadLength: 0)
}
