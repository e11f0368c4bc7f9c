import Reassembly
import Wire

/// An event with its borrowed bytes copied, so tables can compare it.
enum Recorded: Equatable, CustomStringConvertible {
    case opened(Int, clientPort: UInt16, midstream: Bool)
    case data(Int, FlowDirection, offset: UInt64, String, frame: UInt64)
    case retransmission(Int, FlowDirection, offset: UInt64, length: Int, frame: UInt64, conflicting: Bool)
    case gap(Int, FlowDirection, offset: UInt64, length: UInt64, GapReason)
    case end(Int, FlowDirection, StreamEndReason, frame: UInt64)
    case closed(Int, packets: UInt64)
    case limit(ReassemblyLimit, flow: Int?)

    init(_ event: StreamEvent) {
        switch event {
        case .opened(let info):
            self = .opened(info.id.index, clientPort: info.client.port, midstream: info.midstream)
        case .data(let flow, let direction, let offset, let bytes, let segment):
            self = .data(flow.index, direction, offset: offset, String(decoding: bytes, as: UTF8.self), frame: segment.frame)
        case .retransmission(let flow, let direction, let offset, let length, let segment, let conflicting):
            self = .retransmission(flow.index, direction, offset: offset, length: length, frame: segment.frame, conflicting: conflicting)
        case .gap(let flow, let direction, let offset, let length, let reason):
            self = .gap(flow.index, direction, offset: offset, length: length, reason)
        case .end(let flow, let direction, let reason, let frame, _):
            self = .end(flow.index, direction, reason, frame: frame)
        case .closed(let flow, let summary):
            self = .closed(flow.index, packets: summary.packets)
        case .limitReached(let limit, let flow, _):
            self = .limit(limit, flow: flow?.index)
        }
    }

    var description: String {
        switch self {
        case .opened(let f, let port, let mid): "opened(\(f) client:\(port) mid:\(mid))"
        case .data(let f, let d, let o, let s, let fr): "data(\(f) \(d) @\(o) \(s.debugDescription) f\(fr))"
        case .retransmission(let f, let d, let o, let l, let fr, let c): "rexmit(\(f) \(d) @\(o)+\(l) f\(fr) conflict:\(c))"
        case .gap(let f, let d, let o, let l, let r): "gap(\(f) \(d) @\(o)+\(l) \(r))"
        case .end(let f, let d, let r, let fr): "end(\(f) \(d) \(r) f\(fr))"
        case .closed(let f, let p): "closed(\(f) packets:\(p))"
        case .limit(let l, let f): "limit(\(l) flow:\(String(describing: f)))"
        }
    }
}

let c2s = FlowDirection.clientToServer
let s2c = FlowDirection.serverToClient

/// Feeds hand-built segments to a reassembler, numbering frames from 1.
struct Harness {
    var reassembler: TCPReassembler
    var events: [Recorded] = []
    var frame: UInt64 = 0
    var time: Int64 = 1_000_000_000
    var client = Endpoint(address: .v4(0xC000_0201), port: 40000)  // 192.0.2.1
    var server = Endpoint(address: .v4(0xC633_6419), port: 25)  // 198.51.100.25

    init(options: ReassemblyOptions = ReassemblyOptions()) {
        reassembler = TCPReassembler(options: options)
    }

    /// Sends one segment; `wire` is the on-the-wire payload length when the snaplen cut it.
    mutating func send(
        _ direction: FlowDirection, seq: UInt32, ack: UInt32? = nil, flags: TCPFlags = [], _ text: String = "",
        wire: Int? = nil, window: UInt16 = 65535, at timestamp: Int64? = nil
    ) {
        frame += 1
        if let timestamp { time = timestamp } else { time += 1_000_000 }
        let bytes = Array(text.utf8)
        var allFlags = flags
        if ack != nil { allFlags.insert(.ack) }
        let (source, destination) = direction == .clientToServer ? (client, server) : (server, client)
        let segment = TCPSegment(
            source: source, destination: destination, sequenceNumber: seq, acknowledgmentNumber: ack ?? 0,
            flags: allFlags, window: window, payloadLength: bytes.count, wirePayloadLength: wire)
        let currentFrame = frame
        let currentTime = time
        bytes.withUnsafeBytes { payload in
            reassembler.process(segment, payload: payload, frame: currentFrame, timestampNanoseconds: currentTime) {
                events.append(Recorded($0))
            }
        }
    }

    /// Client ISN 1000, server ISN 5000: frames 1-3. Stream offset 0 is seq 1001 / 5001.
    mutating func handshake(clientISN: UInt32 = 1000, serverISN: UInt32 = 5000) {
        send(c2s, seq: clientISN, flags: .syn)
        send(s2c, seq: serverISN, ack: clientISN &+ 1, flags: .syn)
        send(c2s, seq: clientISN &+ 1, ack: serverISN &+ 1)
    }

    mutating func finish() {
        reassembler.finish { events.append(Recorded($0)) }
    }

    mutating func advanceClock(to timestamp: Int64) {
        reassembler.advanceClock(to: timestamp) { events.append(Recorded($0)) }
    }

    /// Events recorded since the last call.
    mutating func take() -> [Recorded] {
        defer { events = [] }
        return events
    }
}
