import Reassembly
import Testing
import Wire

/// SplitMix64 (Steele, Lea, Flood 2014): a small seeded generator, so every
/// case can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One side of a random conversation: the bytes it sends and, per byte, the
/// first frame that carried it (the provenance the reassembler must report).
private struct Side {
    var bytes: [UInt8]
    var isn: UInt32
    var firstFrame: [UInt64]
}

private struct PlannedSegment {
    var direction: FlowDirection
    var start: Int
    var end: Int
}

/// Plans one random conversation, feeds it, and returns a failure description or nil.
private func runCase(seed: UInt64) -> String? {
    var random = SplitMix64(seed: seed)
    func side() -> Side {
        let count = Int.random(in: 0...1500, using: &random)
        let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
        // Half the cases start close below 2^32 so the stream wraps.
        let isn = Bool.random(using: &random)
            ? UInt32.max &- UInt32.random(in: 0...2000, using: &random) : UInt32.random(in: 0...UInt32.max, using: &random)
        return Side(bytes: bytes, isn: isn, firstFrame: Array(repeating: 0, count: count))
    }
    var sides = [side(), side()]

    // Random segmentation of each direction, in stream order.
    var segments: [PlannedSegment] = []
    for (index, direction) in [FlowDirection.clientToServer, .serverToClient].enumerated() {
        var offset = 0
        let total = sides[index].bytes.count
        while offset < total {
            let length = min(total - offset, Int.random(in: 1...400, using: &random))
            segments.append(PlannedSegment(direction: direction, start: offset, end: offset + length))
            offset += length
        }
    }
    // Interleave the directions and reorder (any permutation).
    segments.shuffle(using: &random)
    var schedule = segments
    // Duplicates and same-byte overlapping retransmissions, inserted anywhere.
    let extras = Int.random(in: 0...6, using: &random)
    for _ in 0..<extras where !schedule.isEmpty {
        let original = schedule[Int.random(in: 0..<schedule.count, using: &random)]
        var copy = original
        if Bool.random(using: &random) {
            let total = sides[copy.direction == .clientToServer ? 0 : 1].bytes.count
            copy.start = max(0, original.start - Int.random(in: 0...50, using: &random))
            copy.end = min(total, original.end + Int.random(in: 0...50, using: &random))
        }
        schedule.insert(copy, at: Int.random(in: 0...schedule.count, using: &random))
    }

    var reassembler = TCPReassembler()
    let client = Endpoint(address: .v4(0xC000_0201), port: 40000)
    let server = Endpoint(address: .v4(0xCB00_7107), port: 25)
    var frame: UInt64 = 0
    var received: [[UInt8]] = [[], []]
    var failure: String?
    var ends = 0

    func feed(_ direction: FlowDirection, seq: UInt32, flags: TCPFlags, payload: ArraySlice<UInt8>) {
        frame += 1
        let (source, destination) = direction == .clientToServer ? (client, server) : (server, client)
        let peer = direction == .clientToServer ? 1 : 0
        let segment = TCPSegment(
            source: source, destination: destination, sequenceNumber: seq,
            acknowledgmentNumber: sides[peer].isn &+ 1, flags: flags == .syn && direction == .clientToServer ? flags : flags.union(.ack),
            window: 65535,
            payloadLength: payload.count)
        let currentFrame = frame
        payload.withUnsafeBytes { bytes in
            reassembler.process(segment, payload: bytes, frame: currentFrame, timestampNanoseconds: Int64(currentFrame) * 1000) {
                event in
                switch event {
                case .data(_, let direction, let offset, let bytes, let info):
                    let side = direction == .clientToServer ? 0 : 1
                    if offset != UInt64(received[side].count) {
                        failure = failure ?? "seed \(seed): \(direction) data at \(offset), expected \(received[side].count)"
                    }
                    for position in 0..<bytes.count {
                        let streamOffset = Int(offset) + position
                        guard streamOffset < sides[side].firstFrame.count else { continue }
                        if sides[side].firstFrame[streamOffset] != info.frame {
                            failure = failure ?? "seed \(seed): \(direction) byte \(streamOffset) from frame \(info.frame), first carried by \(sides[side].firstFrame[streamOffset])"
                        }
                    }
                    received[side].append(contentsOf: bytes)
                case .gap(_, let direction, let offset, let length, let reason):
                    failure = failure ?? "seed \(seed): unexpected gap \(direction) @\(offset)+\(length) \(reason)"
                case .retransmission(_, _, _, _, _, let conflicting) where conflicting:
                    failure = failure ?? "seed \(seed): same-byte retransmission reported as conflicting"
                case .limitReached(let limit, _, _):
                    failure = failure ?? "seed \(seed): limit \(limit)"
                case .end(_, _, let reason, _, _):
                    if reason != .fin { failure = failure ?? "seed \(seed): end \(reason)" }
                    ends += 1
                default:
                    break
                }
            }
        }
    }

    // Handshake: SYN, SYN+ACK (frames 1-2).
    feed(.clientToServer, seq: sides[0].isn, flags: .syn, payload: [])
    feed(.serverToClient, seq: sides[1].isn, flags: .syn, payload: [])
    for planned in schedule {
        let side = planned.direction == .clientToServer ? 0 : 1
        let carried = frame + 1
        for offset in planned.start..<planned.end where sides[side].firstFrame[offset] == 0 {
            sides[side].firstFrame[offset] = carried
        }
        feed(
            planned.direction, seq: sides[side].isn &+ 1 &+ UInt32(planned.start), flags: [],
            payload: sides[side].bytes[planned.start..<planned.end])
    }
    // FINs once all data is out.
    for side in 0..<2 {
        let direction: FlowDirection = side == 0 ? .clientToServer : .serverToClient
        feed(direction, seq: sides[side].isn &+ 1 &+ UInt32(sides[side].bytes.count), flags: .fin, payload: [])
    }
    if let failure { return failure }
    for side in 0..<2 where received[side] != sides[side].bytes {
        return "seed \(seed): side \(side) reassembled \(received[side].count) bytes, sent \(sides[side].bytes.count)"
    }
    if ends != 2 { return "seed \(seed): \(ends) ends" }
    return nil
}

@Suite struct ReassemblyPropertyTests {
    /// 10,000 random conversations: random payloads both ways, random
    /// segmentation, interleaving and reordering, duplicates and same-byte
    /// overlapping retransmissions. Every stream must come out byte for byte,
    /// every byte attributed to the first frame that carried it.
    @Test func randomConversationsReassembleExactly() {
        var failures: [String] = []
        for seed in 0..<10_000 as Range<UInt64> {
            if let failure = runCase(seed: seed) {
                failures.append(failure)
                if failures.count >= 5 { break }
            }
        }
        #expect(failures.isEmpty, "\(failures)")
    }
}
