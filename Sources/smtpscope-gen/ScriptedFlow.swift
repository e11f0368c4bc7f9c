import Wire

/// A TCP connection played from a short script of planned frames; subclasses
/// plan the next few frames whenever the script runs dry, so no connection
/// ever holds more than one window of frames.
class ScriptedFlow: TrafficActor {
    var connection: TCPConnection
    var random: SplitMix64
    private var script: [PlannedFrame] = []
    private var head = 0
    /// Reused payload buffer.
    var payload: [UInt8] = []

    init(connection: TCPConnection, random: SplitMix64) {
        self.connection = connection
        self.random = random
        payload.reserveCapacity(1_500)
    }

    /// Whether frames of this flow count as SMTP traffic for the mix.
    var isSMTP: Bool { false }

    var nextTime: Int64? {
        if head == script.count {
            script.removeAll(keepingCapacity: true)
            head = 0
            planMore()
        }
        return head < script.count ? script[head].time : nil
    }

    func emitNext(_ generator: Generator) {
        guard nextTime != nil else { return }
        let planned = script[head]
        head += 1
        payload.removeAll(keepingCapacity: true)
        switch planned.payload {
        case .none: break
        case .text(let bytes): payload.append(contentsOf: bytes)
        case .messageData(let count): fillMessageData(count, into: &payload)
        case .opaque(let count):
            for _ in 0..<count { payload.append(UInt8(truncatingIfNeeded: random.next())) }
        }
        let frame = connection.build(planned, payload: payload)
        let number = generator.sink.write(frame, at: planned.time, smtp: isSMTP)
        written(planned, frame: number, generator: generator)
    }

    /// Adds a frame to the script (sequence and ack numbers fixed now).
    func send(
        at time: Int64, fromClient: Bool, _ flags: TCPFlags, _ payload: PlannedPayload = .none, tag: FrameTag = .none
    ) {
        let length: Int
        switch payload {
        case .none: length = 0
        case .text(let bytes): length = bytes.count
        case .messageData(let count), .opaque(let count): length = count
        }
        script.append(connection.plan(at: time, fromClient: fromClient, flags: flags, payload: payload, length: length, tag: tag))
    }

    /// Time of the last planned frame.
    var lastPlanned: Int64 { connection.lastPlanned }

    // Subclass hooks.
    func planMore() {}
    func fillMessageData(_ count: Int, into out: inout [UInt8]) {}
    func written(_ planned: PlannedFrame, frame: UInt64, generator: Generator) {}
}
