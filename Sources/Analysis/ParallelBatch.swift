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

    /// Entries past which the reader ends the round.
    let entryLimit: Int
    /// Payload bytes past which the reader ends the round (one more segment may follow).
    let payloadLimit: Int

    // Appended to for every segment by the one thread that owns the batch: `@exclusivity(unchecked)`
    // spares the dynamic access checks of class properties on that path.
    @exclusivity(unchecked) private(set) var entries: [Entry] = []
    /// Payload of every segment entry, back to back.
    @exclusivity(unchecked) private(set) var payload: [UInt8] = []
    var opened: [Opened] = []
    var closed: [Closed] = []
    /// Reassembly limits the worker reached while processing this batch.
    var limitsHit: UInt64 = 0

    /// A batch of one of `workers` workers: a round holds about 2 MiB of payload and 16,384
    /// entries over all workers (at least 64 KiB and 512 per batch). Storage is reserved once:
    /// beyond the limit by one frame's entries (a tick and a segment, plus begin or finish) and
    /// one segment's payload (at most 64 KiB, an IP datagram).
    init(workers: Int) {
        let workers = max(1, workers)
        entryLimit = max(512, 16_384 / workers)
        payloadLimit = max(64 << 10, (2 << 20) / workers)
        entries.reserveCapacity(entryLimit + 4)
        payload.reserveCapacity(payloadLimit + 65_536)
    }

    /// True when the round this batch belongs to should end.
    var isFull: Bool { entries.count >= entryLimit || payload.count >= payloadLimit }

    func appendSegment(_ segment: TCPSegment, payload bytes: UnsafeRawBufferPointer, frame: UInt64, timestampNanoseconds: Int64, now: Int64) {
        let start = payload.count
        payload.append(contentsOf: bytes)
        entries.append(Entry(
            kind: .segment, frame: frame, timestampNanoseconds: timestampNanoseconds, now: now, payloadStart: start,
            payloadCount: bytes.count, segment: segment))
    }

    func append(_ kind: Entry.Kind, frame: UInt64, now: Int64) {
        entries.append(Entry(
            kind: kind, frame: frame, timestampNanoseconds: now, now: now, payloadStart: 0, payloadCount: 0,
            segment: Self.noSegment))
    }

    /// Calls `body` with each entry and, for segments, its payload (borrowed for the call).
    func forEachEntry(_ body: (Entry, UnsafeRawBufferPointer) -> Void) {
        payload.withUnsafeBytes { arena in
            for entry in entries {
                let end = entry.payloadStart + entry.payloadCount
                let bytes = entry.kind == .segment && entry.payloadStart >= 0 && end <= arena.count
                    ? UnsafeRawBufferPointer(rebasing: arena[entry.payloadStart..<end])
                    : UnsafeRawBufferPointer(start: nil, count: 0)
                body(entry, bytes)
            }
        }
    }

    /// Empties the batch for reuse, keeping its storage.
    func reset() {
        entries.removeAll(keepingCapacity: true)
        payload.removeAll(keepingCapacity: true)
        opened.removeAll(keepingCapacity: true)
        closed.removeAll(keepingCapacity: true)
        limitsHit = 0
    }

    private static let noSegment = TCPSegment(
        source: Endpoint(address: .v4(0), port: 0), destination: Endpoint(address: .v4(0), port: 0),
        sequenceNumber: 0, acknowledgmentNumber: 0, flags: TCPFlags(rawValue: 0), window: 0, payloadLength: 0)
}
