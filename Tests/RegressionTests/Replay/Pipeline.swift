import Reassembly
import SMTP
import Wire

/// Reassembly → SMTP for the harnesses: every stream event is checked by a
/// ``StreamChecker`` and handed to one ``SMTPSession`` per flow, whose events
/// are counted (and their offsets checked against what it was fed).
struct Pipeline {
    var reassembler: TCPReassembler
    var checker = StreamChecker()
    private var sessions: [FlowID: SMTPSession] = [:]
    private(set) var smtpEvents = 0

    init(options: ReassemblyOptions) {
        reassembler = TCPReassembler(options: options)
    }

    mutating func process(
        _ segment: TCPSegment, payload: UnsafeRawBufferPointer, frame: UInt64,
        timestampNanoseconds: Int64
    ) {
        var events: [StreamEventCopy] = []
        reassembler.process(
            segment, payload: payload, frame: frame, timestampNanoseconds: timestampNanoseconds
        ) { event in
            checker.check(event)
            if let copy = StreamEventCopy(event) { events.append(copy) }
        }
        checker.checkBounds(reassembler, lastPayload: payload.count)
        for event in events { deliver(event) }
    }

    /// The clock-driven mode the ``Analysis/Analyzer`` uses: idle flows end only on
    /// ``advanceClock(to:)`` ticks, judged by `clock` (the capture's latest time).
    mutating func process(
        _ segment: TCPSegment, payload: UnsafeRawBufferPointer, frame: UInt64,
        timestampNanoseconds: Int64, clock: Int64
    ) {
        var events: [StreamEventCopy] = []
        reassembler.process(
            segment, payload: payload, frame: frame, timestampNanoseconds: timestampNanoseconds, clock: clock
        ) { event in
            checker.check(event)
            if let copy = StreamEventCopy(event) { events.append(copy) }
        }
        checker.checkBounds(reassembler, lastPayload: payload.count)
        for event in events { deliver(event) }
    }

    mutating func advanceClock(to timestampNanoseconds: Int64) {
        var events: [StreamEventCopy] = []
        reassembler.advanceClock(to: timestampNanoseconds) { event in
            checker.check(event)
            if let copy = StreamEventCopy(event) { events.append(copy) }
        }
        for event in events { deliver(event) }
    }

    mutating func finish() {
        var events: [StreamEventCopy] = []
        reassembler.finish { event in
            checker.check(event)
            if let copy = StreamEventCopy(event) { events.append(copy) }
        }
        checker.checkFinished(reassembler)
        for event in events { deliver(event) }
        require(sessions.isEmpty, "SMTP sessions left after finish")
    }

    private mutating func deliver(_ event: StreamEventCopy) {
        var count = 0
        switch event {
        case .opened(let id):
            sessions[id] = SMTPSession()
        case .data(let id, let direction, let offset, let bytes):
            bytes.withUnsafeBytes { buffer in
                sessions[id]?.feed(Self.side(direction), buffer, at: offset) { _ in count += 1 }
            }
        case .gap(let id, let direction, let offset, let length):
            sessions[id]?.gap(Self.side(direction), at: offset, length: length) { _ in count += 1 }
        case .end(let id, let direction):
            sessions[id]?.end(Self.side(direction)) { _ in count += 1 }
        case .closed(let id):
            sessions[id] = nil
        }
        smtpEvents += count
    }

    private static func side(_ direction: FlowDirection) -> SMTPSide {
        direction == .clientToServer ? .client : .server
    }
}

/// A stream event with its borrowed bytes copied, so SMTP can run after the
/// reassembler call returns (the harness is not the hot path).
enum StreamEventCopy {
    case opened(FlowID)
    case data(FlowID, FlowDirection, offset: UInt64, bytes: [UInt8])
    case gap(FlowID, FlowDirection, offset: UInt64, length: UInt64)
    case end(FlowID, FlowDirection)
    case closed(FlowID)

    init?(_ event: StreamEvent) {
        switch event {
        case .opened(let info): self = .opened(info.id)
        case .data(let id, let direction, let offset, let bytes, _):
            self = .data(id, direction, offset: offset, bytes: Array(bytes))
        case .gap(let id, let direction, let offset, let length, _):
            self = .gap(id, direction, offset: offset, length: length)
        case .end(let id, let direction, _, _, _): self = .end(id, direction)
        case .closed(let id, _): self = .closed(id)
        case .retransmission, .limitReached: return nil
        }
    }
}
