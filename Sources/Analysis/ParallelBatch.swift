import Wire

/// One worker's share of a round of frames, and what the worker made of it. The reader
/// copies each dispatched segment in (the frame's bytes are only borrowed): a frame the straight
/// IPv4 pass took as its leading bytes, any other as its decoded header and payload; the worker
/// replays them and adds the flows that opened and closed, and
/// the merger empties it for reuse: batches circulate, so their storage is allocated once.
///
/// `@unchecked Sendable`: a batch belongs to one thread at a time, handed over through a
/// ``ParallelWorker``'s locked queues (reader fills → worker processes → reader merges).
final class ParallelBatch: @unchecked Sendable {
    /// One step for the worker, in frame order: a fixed header, and for segments what follows
    /// it in the storage (see ``Contents``).
    struct Entry {
        enum Kind: UInt8 {
            /// Reassemble a decoded segment: its ``TCPSegment`` follows the entry, then its payload.
            case segment
            /// Reassemble a frame the straight IPv4 pass took: the frame's first `layout.end` bytes
            /// (headers and captured payload) follow the entry.
            case straight
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
        /// Bytes stored after the entry's header (and a segment entry's ``TCPSegment``), unpadded.
        var byteCount: Int
    }

    /// What an entry carries besides its header, borrowed from the batch for the call.
    enum Contents {
        /// A decoded segment and its payload.
        case segment(TCPSegment, payload: UnsafeRawBufferPointer)
        /// The leading bytes of a frame the straight IPv4 pass took, up to the end of its
        /// datagram (its Ethernet padding left out).
        case straight(frame: UnsafeRawBufferPointer)
        /// A tick, the input's end or start.
        case none
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
    /// Payload bytes of the segments (without headers and padding), for ``isFull``.
    @exclusivity(unchecked) private var payloadCount = 0
    // Also one thread's at a time (the worker's stage appends, then the merger reads and empties).
    @exclusivity(unchecked) var opened: [Opened] = []
    @exclusivity(unchecked) var closed: [Closed] = []
    /// Reassembly limits the worker reached while processing this batch.
    @exclusivity(unchecked) var limitsHit: UInt64 = 0

    /// Payload bytes of one round over all workers. Measured on the 1 GiB bench capture with two
    /// threads (median of 10 alternating runs each): 128 KiB rounds, 8 in flight, 0.45 s; 64 KiB
    /// 0.465; 32 KiB 0.48; 256 KiB 0.47; 1 MiB rounds, 8 in flight, 0.525. What the reader copies
    /// out is read by the worker while it is still in the shared cache; rounds much smaller
    /// wake the worker too often.
    static let roundPayload = 128 << 10

    /// Entries and what follows them start at multiples of this (they are read in place).
    static let recordAlignment = 8
    /// Bytes an entry's header takes.
    static let entryStride = aligned(MemoryLayout<Entry>.stride)
    /// Bytes a segment entry's ``TCPSegment`` takes after the header, before the payload.
    static let segmentStride = aligned(MemoryLayout<TCPSegment>.stride)
    /// Most bytes a straight frame has before its payload: Ethernet, IPv4 without options, and
    /// the longest TCP header.
    static let straightHeaderBytes = StraightIPv4Frame.tcp + 60
    /// Most bytes an entry takes besides its payload (and the payload's padding).
    static let entryReserve = entryStride + max(segmentStride, straightHeaderBytes) + recordAlignment

    @inline(__always)
    static func aligned(_ count: Int) -> Int {
        (count &+ recordAlignment &- 1) & ~(recordAlignment &- 1)
    }

    /// A batch of one of `workers` workers: a round holds about ``roundPayload`` bytes and 2,048
    /// entries over all workers (at least 16 KiB and 128 per batch). Storage is reserved once,
    /// with room for one frame past the limit (a tick and a segment, plus begin or finish, and a
    /// full-size Ethernet segment); a larger segment grows it once, then the batch keeps it.
    /// Only the part a round fills is ever touched (about 150 KiB on the bench capture).
    init(workers: Int) {
        let workers = max(1, workers)
        entryLimit = max(128, 2_048 / workers)
        payloadLimit = max(16 << 10, Self.roundPayload / workers)
        capacity = (entryLimit + 4) * Self.entryReserve + payloadLimit + 2_048
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
    }

    deinit {
        storage.deallocate()
    }

    /// True when the round this batch belongs to should end.
    var isFull: Bool { entryCount >= entryLimit || payloadCount >= payloadLimit }

    /// Appends a decoded segment and a copy of its payload; returns ``isFull``.
    @inline(__always) @discardableResult
    func appendSegment(
        _ segment: TCPSegment, payload bytes: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64, now: Int64
    ) -> Bool {
        let count = bytes.count
        let start = reserve(Self.segmentStride, bytes: count)
        storage.storeBytes(
            of: Entry(kind: .segment, frame: frame, timestampNanoseconds: timestampNanoseconds, now: now, byteCount: count),
            toByteOffset: start, as: Entry.self)
        storage.storeBytes(of: segment, toByteOffset: start &+ Self.entryStride, as: TCPSegment.self)
        if let source = bytes.baseAddress {
            (storage + (start &+ Self.entryStride &+ Self.segmentStride)).copyMemory(from: source, byteCount: count)
        }
        payloadCount &+= count
        return isFull
    }

    /// Appends a frame the straight IPv4 pass took (`layout` from
    /// ``PacketDecoder/takeStraightIPv4(_:wireLength:linkType:timestampNanoseconds:)`` of `frame`):
    /// a copy of its first `layout.end` bytes, headers and captured payload in one stream, so
    /// the worker builds the segment, not the reader (the worker takes the copy through the
    /// same straight pass again: the layout is not stored). Returns ``isFull``.
    @inline(__always) @discardableResult
    func appendStraight(
        _ bytes: UnsafeRawBufferPointer, _ layout: StraightIPv4Frame, frame: UInt64, timestampNanoseconds: Int64, now: Int64
    ) -> Bool {
        // `end` is within the frame (the straight pass checked it); clamped all the same.
        let count = min(max(0, layout.end), bytes.count)
        let start = reserve(0, bytes: count)
        // The storage's address in a local: a store through it could otherwise be the batch's own
        // fields, and the address would be loaded again after each.
        let entry = storage + start
        entry.storeBytes(
            of: Entry(kind: .straight, frame: frame, timestampNanoseconds: timestampNanoseconds, now: now, byteCount: count),
            as: Entry.self)
        if let source = bytes.baseAddress { (entry + Self.entryStride).copyMemory(from: source, byteCount: count) }
        // Rounds are sized by payload, as for decoded segments.
        payloadCount &+= max(0, count &- StraightIPv4Frame.tcp &- layout.headerLength)
        return isFull
    }

    func append(_ kind: Entry.Kind, frame: UInt64, now: Int64) {
        let start = reserve(0, bytes: 0)
        storage.storeBytes(
            of: Entry(kind: kind, frame: frame, timestampNanoseconds: now, now: now, byteCount: 0),
            toByteOffset: start, as: Entry.self)
    }

    /// Room for one entry with `fixed` bytes after its header and then `count` bytes: returns
    /// where it starts and counts it.
    @inline(__always)
    private func reserve(_ fixed: Int, bytes count: Int) -> Int {
        let start = used
        let size = Self.entryStride &+ fixed &+ Self.aligned(count)
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

    /// Calls `body` with each entry in order and what it carries (borrowed for the call).
    @inline(__always)
    func forEachEntry(_ body: (Entry, Contents) -> Void) {
        var offset = 0
        let end = used
        while end &- offset >= Self.entryStride {
            let entry = storage.load(fromByteOffset: offset, as: Entry.self)
            let count = entry.byteCount
            let fixed: Int
            switch entry.kind {
            case .segment: fixed = Self.segmentStride
            case .straight: fixed = 0
            case .tick, .finish, .begin: fixed = 0
            }
            let fixedStart = offset &+ Self.entryStride
            let bytesStart = fixedStart &+ fixed
            guard bytesStart <= end, count >= 0, count <= end &- bytesStart else { return }
            let bytes = UnsafeRawBufferPointer(start: count == 0 ? nil : storage + bytesStart, count: count)
            switch entry.kind {
            case .segment:
                body(entry, .segment(storage.load(fromByteOffset: fixedStart, as: TCPSegment.self), payload: bytes))
            case .straight:
                body(entry, .straight(frame: bytes))
            case .tick, .finish, .begin:
                body(entry, .none)
            }
            offset = bytesStart &+ Self.aligned(count)
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
}
