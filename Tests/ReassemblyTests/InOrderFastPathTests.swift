import Testing
import Wire

@testable import Reassembly

/// The reassembler's in-order fast path (``FlowState/handleInOrder(_:payload:frame:timestampNanoseconds:statistics:emit:)``)
/// must be invisible: random conversations that mix in-order data with everything at its
/// boundary (keep-alives, zero-window probes, snaplen-cut payloads, retransmissions,
/// out-of-order pieces, acknowledgements of bytes never seen, FIN, RST, SYN, segments
/// without ACK, port reuse) give the same events, in the same order, and the same
/// statistics with the fast path on and off.
@Suite struct InOrderFastPathTests {
    /// Everything an event carries, borrowed bytes copied.
    static func describe(_ event: StreamEvent) -> String {
        switch event {
        case .opened(let info): return "opened \(info)"
        case .data(let flow, let direction, let offset, let bytes, let segment):
            return "data \(flow) \(direction) @\(offset) \(Array(bytes)) \(segment)"
        case .retransmission(let flow, let direction, let offset, let length, let segment, let conflicting):
            return "rexmit \(flow) \(direction) @\(offset)+\(length) \(segment) \(conflicting)"
        case .gap(let flow, let direction, let offset, let length, let reason):
            return "gap \(flow) \(direction) @\(offset)+\(length) \(reason)"
        case .end(let flow, let direction, let reason, let frame, let time):
            return "end \(flow) \(direction) \(reason) \(frame) \(time)"
        case .closed(let flow, let summary): return "closed \(flow) \(summary)"
        case .limitReached(let limit, let flow, let frame): return "limit \(limit) \(String(describing: flow)) \(frame)"
        }
    }

    struct Segment {
        var segment: TCPSegment
        var payload: [UInt8]
        var time: Int64
    }

    /// One side of a connection as the generator drives it.
    struct Side {
        var endpoint: Endpoint
        var isn: UInt32
        /// Stream bytes sent so far (offset of the next new byte).
        var sent: UInt32 = 0
        var window: UInt16 = 65535
    }

    /// A random conversation over two tuples, biased towards in-order data and pure ACKs.
    static func conversation(seed: UInt64) -> [Segment] {
        var random = SplitMix64(seed: seed)
        var segments: [Segment] = []
        var time: Int64 = 1_000_000_000
        var flows: [(client: Side, server: Side)] = (0..<2).map { index in
            let client = Endpoint(address: .v4(0xC000_0201), port: UInt16(40000 + index))
            let server = Endpoint(address: .v4(0xC633_6419), port: 25)
            // The server's ISN close below 2^32, so its stream wraps.
            return (
                Side(endpoint: client, isn: UInt32.random(in: 0...UInt32.max, using: &random)),
                Side(endpoint: server, isn: UInt32.max &- UInt32.random(in: 0...3000, using: &random))
            )
        }
        func payload(_ count: Int) -> [UInt8] {
            (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
        for _ in 0..<Int.random(in: 20...120, using: &random) {
            let flowIndex = Int.random(in: 0..<flows.count, using: &random)
            let fromClient = Bool.random(using: &random)
            var this = fromClient ? flows[flowIndex].client : flows[flowIndex].server
            var peer = fromClient ? flows[flowIndex].server : flows[flowIndex].client
            // Sequence numbers count the SYN: stream offset 0 is isn + 1.
            var seq = this.isn &+ 1 &+ this.sent
            var ack = peer.isn &+ 1 &+ peer.sent
            var flags: TCPFlags = [.ack]
            var bytes: [UInt8] = []
            var wire: Int?
            time += Int64.random(in: 0...2_000_000, using: &random)
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<40:  // in order
                bytes = payload(Int.random(in: 1...40, using: &random))
                this.sent &+= UInt32(bytes.count)
            case 40..<55:  // pure ACK
                break
            case 55..<58:  // a lone byte (a probe when the peer's window is 0)
                bytes = payload(1)
                this.sent &+= 1
            case 58..<62:  // keep-alive: one byte before the next, with or without a byte
                seq = seq &- 1
                if Bool.random(using: &random) { bytes = payload(1) }
            case 62..<65:  // zero window, or open again
                this.window = this.window == 0 ? 65535 : 0
            case 65..<68:  // cut by the snapshot length
                bytes = payload(Int.random(in: 0...20, using: &random))
                wire = bytes.count + Int.random(in: 1...30, using: &random)
                this.sent &+= UInt32(wire ?? 0)
            case 68..<74:  // retransmission of recent bytes (maybe different ones)
                let back = UInt32.random(in: 1...60, using: &random)
                seq = seq &- back
                bytes = payload(Int(back) + Int.random(in: 0...5, using: &random))
                this.sent &+= UInt32(bytes.count) &- back
            case 74..<80:  // ahead of a hole (filled later by in-order data, or declared lost)
                let skip = UInt32.random(in: 1...30, using: &random)
                seq = seq &+ skip
                bytes = payload(Int.random(in: 1...20, using: &random))
            case 80..<84:  // acknowledges bytes the capture never showed
                ack = ack &+ UInt32.random(in: 1...50, using: &random)
                peer.sent &+= UInt32.random(in: 0...50, using: &random)
            case 84..<87:  // no ACK flag
                flags = []
                bytes = payload(Int.random(in: 0...10, using: &random))
                this.sent &+= UInt32(bytes.count)
            case 87..<90:  // FIN (maybe with data)
                flags.insert(.fin)
                bytes = payload(Int.random(in: 0...10, using: &random))
                this.sent &+= UInt32(bytes.count) &+ 1
            case 90..<92:  // RST
                flags = [.rst]
            case 92..<95:  // SYN (the handshake, or a repeat)
                flags = fromClient ? [.syn] : [.syn, .ack]
                seq = this.isn
            case 95..<97:  // a new connection on the tuple (port reuse)
                this.isn = UInt32.random(in: 0...UInt32.max, using: &random)
                this.sent = 0
                peer.sent = 0
                flags = [.syn]
                seq = this.isn
            default:  // a long pause (holes time out)
                time += 20_000_000_000
                bytes = payload(Int.random(in: 1...10, using: &random))
                this.sent &+= UInt32(bytes.count)
            }
            let segment = TCPSegment(
                source: this.endpoint, destination: peer.endpoint, sequenceNumber: seq, acknowledgmentNumber: flags.contains(.ack) ? ack : 0,
                flags: flags, window: this.window, payloadLength: bytes.count, wirePayloadLength: wire)
            segments.append(Segment(segment: segment, payload: bytes, time: time))
            if fromClient {
                flows[flowIndex] = (this, peer)
            } else {
                flows[flowIndex] = (peer, this)
            }
        }
        return segments
    }

    static func run(_ segments: [Segment], fastPath: Bool) -> (events: [String], statistics: ReassemblyStatistics) {
        var reassembler = TCPReassembler(options: ReassemblyOptions(), seed: 42)
        reassembler.inOrderFastPath = fastPath
        var events: [String] = []
        for (index, item) in segments.enumerated() {
            item.payload.withUnsafeBytes { payload in
                reassembler.process(item.segment, payload: payload, frame: UInt64(index + 1), timestampNanoseconds: item.time) {
                    events.append(describe($0))
                }
            }
        }
        reassembler.finish { events.append(describe($0)) }
        return (events, reassembler.statistics)
    }

    @Test(arguments: 0..<400)
    func fastAndGeneralPathsAgree(seed: UInt64) {
        let segments = Self.conversation(seed: seed)
        let fast = Self.run(segments, fastPath: true)
        let general = Self.run(segments, fastPath: false)
        #expect(fast.events == general.events)
        #expect(fast.statistics == general.statistics)
    }

    /// The generator reaches the boundary cases the fast path must hand over (otherwise the
    /// comparison above would prove little): probes, keep-alives, cut payloads, lost bytes.
    @Test func conversationsReachTheBoundaries() {
        var total = ReassemblyStatistics()
        var delivered = 0
        for seed in 0..<400 as Range<UInt64> {
            let run = Self.run(Self.conversation(seed: seed), fastPath: true)
            delivered += run.events.filter { $0.hasPrefix("data") }.count
            total.zeroWindowProbes += run.statistics.zeroWindowProbes
            total.keepAlives += run.statistics.keepAlives
            total.snaplenGapBytes += run.statistics.snaplenGapBytes
            total.captureLossBytes += run.statistics.captureLossBytes
            total.retransmittedSegments += run.statistics.retransmittedSegments
            total.outOfOrderSegments += run.statistics.outOfOrderSegments
        }
        #expect(delivered > 5000)
        #expect(total.zeroWindowProbes > 0)
        #expect(total.keepAlives > 0)
        #expect(total.snaplenGapBytes > 0)
        #expect(total.captureLossBytes > 0)
        #expect(total.retransmittedSegments > 0)
        #expect(total.outOfOrderSegments > 0)
    }
}
