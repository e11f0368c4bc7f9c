// Replay of the `reassembly` fuzz harness (Tests/Fuzz): TCP reassembly (and SMTP behind it) over a sequence of
// segments decoded from the input, for two flows, both directions.
//
// Input: byte 0 selects the limits (each bit shrinks one, so limit paths run):
//   bit 0 maxFlows 1 · bit 1 out-of-order bytes per flow 512 · bit 2 total 1024
//   bit 3 out-of-order segments per direction 8 · bit 4 no compared tail
//   bit 5 idle timeout 1 s · bit 6 out-of-order timeout 1 s.
// Then records, until the input ends:
//   [control] bit 0 direction (server → client), bits 1-2 flow (0-3: flows 2
//             and 3 share flow 0's tuple and 1's, with a fresh ISN: port
//             reuse), bit 3 absolute sequence number follows instead of a
//             delta, bits 4-7 time step (0: none, k: 4^k µs);
//   [flags]   TCP flags (FIN SYN RST PSH ACK URG ECE CWR);
//   [seq]     Int16 delta from the sender's next sequence number, or UInt32;
//   [ack]     Int8 delta from the peer's next sequence number;
//   [length]  payload length on the wire 0-255, then that many payload bytes
//             (fewer when the input ends: a segment cut by the snapshot length).
// Each segment's payload is copied into an exact-size allocation.
import Reassembly
import Wire

private struct ReplayTuple {
    var client: Endpoint
    var server: Endpoint
}

private let replayTuples = [
    ReplayTuple(
        client: Endpoint(address: .v4(0xC000_0201), port: 40000),
        server: Endpoint(address: .v4(0xC633_6419), port: 25)),
    ReplayTuple(
        client: Endpoint(address: .v6(high: 0x2001_0DB8_0000_0000, low: 1), port: 40001),
        server: Endpoint(address: .v6(high: 0x2001_0DB8_0000_0000, low: 0x25), port: 587)),
]

/// Replays one input of the `reassembly` harness (format above).
enum ReassemblyReplay {
    /// What a replay did, for bounds checks.
    struct Outcome {
        var segments = 0
        var flowsOpened = 0
        var deliveredBytes: UInt64 = 0
        var peakOutOfOrderBytes = 0
        var options = ReassemblyOptions()
    }

    static func run(_ bytes: UnsafeBufferPointer<UInt8>) -> Outcome {
        var input = FuzzInput(bytes)
        let limits = input.byte()
        var options = ReassemblyOptions()
        if limits & 0x01 != 0 { options.maxFlows = 1 }
        if limits & 0x02 != 0 { options.maxOutOfOrderBytesPerFlow = 512 }
        if limits & 0x04 != 0 { options.maxOutOfOrderBytesTotal = 1024 }
        if limits & 0x08 != 0 { options.maxOutOfOrderSegmentsPerDirection = 8 }
        if limits & 0x10 != 0 { options.comparedTailBytes = 0 }
        if limits & 0x20 != 0 { options.idleTimeoutNanoseconds = 1_000_000_000 }
        if limits & 0x40 != 0 { options.outOfOrderTimeoutNanoseconds = 1_000_000_000 }
        var pipeline = Pipeline(options: options)

        // Next sequence number per [tuple][direction]; the ISNs are arbitrary.
        var next: [[UInt32]] = [[1000, 5000], [0xFFFF_FF00, 77]]
        var now: Int64 = 1_700_000_000_000_000_000
        var frame: UInt64 = 0
        while !input.isAtEnd, frame < 4096 {
            let control = input.byte()
            let flags = TCPFlags(rawValue: UInt16(input.byte()))
            let fromServer = control & 0x01 != 0
            let flow = Int(control >> 1) & 0x03
            let tuple = flow & 1
            let direction = fromServer ? 1 : 0
            var sequence: UInt32
            if control & 0x08 != 0 {
                sequence = input.uint32()
            } else {
                sequence =
                    next[tuple][direction] &+ UInt32(bitPattern: Int32(Int16(bitPattern: input.uint16())))
            }
            if flow >= 2 && flags.contains(.syn) { sequence &+= 0x4000_0000 }  // a new connection on the same tuple
            let ack =
                next[tuple][1 - direction] &+ UInt32(bitPattern: Int32(Int8(bitPattern: input.byte())))
            let declared = Int(input.byte())
            let payload = input.take(declared)
            let step = control >> 4
            if step > 0 { now &+= Int64(1) << (2 * Int64(step)) &* 1000 }
            frame += 1

            let ends = replayTuples[tuple]
            let segment = TCPSegment(
                source: fromServer ? ends.server : ends.client,
                destination: fromServer ? ends.client : ends.server,
                sequenceNumber: sequence, acknowledgmentNumber: ack, flags: flags, window: 65535,
                payloadLength: payload.count, wirePayloadLength: declared)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: payload.count, alignment: 1)
            payload.withUnsafeBytes { buffer.copyMemory(from: $0) }
            pipeline.process(
                segment, payload: UnsafeRawBufferPointer(buffer), frame: frame, timestampNanoseconds: now)
            buffer.deallocate()

            var advance = UInt32(payload.count)
            if flags.contains(.syn) { advance &+= 1 }
            if flags.contains(.fin) { advance &+= 1 }
            next[tuple][direction] = sequence &+ advance
        }
        pipeline.advanceClock(to: now &+ 10_000_000_000)
        let statistics = pipeline.reassembler.statistics
        pipeline.finish()
        return Outcome(
            segments: Int(frame), flowsOpened: pipeline.checker.openedCount,
            deliveredBytes: pipeline.checker.deliveredBytes,
            peakOutOfOrderBytes: statistics.peakOutOfOrderBytes, options: options)
    }
}
