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
            /// Reassemble `segment`, whose payload (`payloadCount` bytes) follows the entry.
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
        /// Payload bytes stored right after the entry (segments only).
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

    // Written for every segment by the one thread that owns the batch: `@exclusivity(unchecked)`
    // spares the dynamic access checks of class properties on that path.
    /// Every entry, each followed by its payload (padded to ``recordAlignment``), back to back in
    /// raw storage: `used` bytes of `capacity`. One stream written in order, one bounds check
    /// and one copy per segment (no array append, no separate payload store).
    @exclusivity(unchecked) private var storage: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var used = 0
    @exclusivity(unchecked) private var capacity: Int
    @exclusivity(unchecked) private(set) var entryCount = 0
    /// Payload bytes of the entries (without headers and padding), for ``isFull``.
    @exclusivity(unchecked) private var payloadCount = 0
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

    /// Entries and payloads start at multiples of this (an entry's alignment: it is read in place).
    static let recordAlignment = 8
    /// Bytes an entry takes before its payload.
    static let entryStride = (MemoryLayout<Entry>.stride + recordAlignment - 1) & ~(recordAlignment - 1)

    /// A batch of one of `workers` workers: a round holds about ``roundPayload`` bytes and 2,048
    /// entries over all workers (at least 16 KiB and 128 per batch). Storage is reserved once,
    /// with room for one frame past the limit (a tick and a segment, plus begin or finish, and a
    /// full-size Ethernet segment); a larger segment grows it once, then the batch keeps it.
    /// Only the part a round fills is ever touched (about 150 KiB on the bench capture).
    init(workers: Int) {
        let workers = max(1, workers)
        entryLimit = max(128, 2_048 / workers)
        payloadLimit = max(16 << 10, Self.roundPayload / workers)
        capacity = (entryLimit + 4) * (Self.entryStride + Self.recordAlignment) + payloadLimit + 2_048
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
    }

    deinit {
        storage.deallocate()
    }

    /// True when the round this batch belongs to should end.
    var isFull: Bool { entryCount >= entryLimit || payloadCount >= payloadLimit }

    /// Appends a segment and a copy of its payload; returns ``isFull``.
    @inline(__always) @discardableResult
    func appendSegment(
        _ segment: TCPSegment, payload bytes: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64, now: Int64
    ) -> Bool {
        let count = bytes.count
        let start = reserve(payload: count)
        storage.storeBytes(
            of: Entry(kind: .segment, frame: frame, timestampNanoseconds: timestampNanoseconds, now: now, payloadCount: count, segment: segment),
            toByteOffset: start, as: Entry.self)
        if let source = bytes.baseAddress { (storage + (start &+ Self.entryStride)).copyMemory(from: source, byteCount: count) }
        payloadCount &+= count
        return isFull
    }

    func append(_ kind: Entry.Kind, frame: UInt64, now: Int64) {
        let start = reserve(payload: 0)
        storage.storeBytes(
            of: Entry(kind: kind, frame: frame, timestampNanoseconds: now, now: now, payloadCount: 0, segment: Self.noSegment),
            toByteOffset: start, as: Entry.self)
    }

    /// Room for one entry with `count` payload bytes: returns where it starts and counts it.
    @inline(__always)
    private func reserve(payload count: Int) -> Int {
        let start = used
        let size = Self.entryStride &+ ((count &+ Self.recordAlignment &- 1) & ~(Self.recordAlignment &- 1))
        if size > capacity &- start { grow(toHold: size) }
        used = start &+ size
        entryCount &+= 1
        return start
    }

    /// A segment larger than the room left (a batch holds one frame past its limit; a 64 KiB
    /// offloaded segment needs more), or entries past the limit without a frame between them
    /// (clock ticks on their own): the storage grows once and the batch keeps it.
    private func grow(toHold size: Int) {
        let larger = max(capacity * 2, used + size)
        let moved = UnsafeMutableRawPointer.allocate(byteCount: larger, alignment: 64)
        moved.copyMemory(from: storage, byteCount: used)
        storage.deallocate()
        storage = moved
        capacity = larger
    }

    /// Calls `body` with each entry in order and, for segments, its payload (borrowed for the call).
    @inline(__always)
    func forEachEntry(_ body: (Entry, UnsafeRawBufferPointer) -> Void) {
        var offset = 0
        let end = used
        while end &- offset >= Self.entryStride {
            let entry = storage.load(fromByteOffset: offset, as: Entry.self)
            let count = entry.payloadCount
            let payloadStart = offset &+ Self.entryStride
            guard count >= 0, count <= end &- payloadStart else { return }
            body(entry, UnsafeRawBufferPointer(start: count == 0 ? nil : storage + payloadStart, count: count))
            offset = payloadStart &+ ((count &+ Self.recordAlignment &- 1) & ~(Self.recordAlignment &- 1))
        }
    }

    /// Empties the batch for reuse, keeping its storage.
    func reset() {
        used = 0
        entryCount = 0
        payloadCount = 0
        opened.removeAll(keepingCapacity: true)
        closed.removeAll(keepingCapacity: true)
        limitsHit = 0
    }

    private static let noSegment = TCPSegment(
        source: Endpoint(address: .v4(0), port: 0), destination: Endpoint(address: .v4(0), port: 0),
        sequenceNumber: 0, acknowledgmentNumber: 0, flags: TCPFlags(rawValue: 0), window: 0, payloadLength: 0)
}
