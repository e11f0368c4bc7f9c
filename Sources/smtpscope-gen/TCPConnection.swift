import TestSupport
import Wire

/// What a planned frame carries.
enum PlannedPayload {
    case none
    case text([UInt8])
    /// The next `count` bytes of the message being sent (made when the frame is written).
    case messageData(Int)
    /// `count` opaque bytes (TLS-like bulk traffic).
    case opaque(Int)
}

/// Why the generator must remember a frame's number once it is written.
enum FrameTag {
    case none
    /// Carries bytes of the end-of-data sequence.
    case terminatorPiece
    /// Decides the outcome of the current message (its reply, or the client giving up).
    case settles
}

/// One frame a conversation has decided to send, with its time and TCP numbers fixed.
struct PlannedFrame {
    var time: Int64
    var fromClient: Bool
    var flags: TCPFlags
    var sequenceNumber: UInt32
    var acknowledgmentNumber: UInt32
    var payload: PlannedPayload
    var tag: FrameTag = .none
}

/// Both ends of one TCP connection: addresses, next sequence numbers, IP ids
/// and timestamp clocks. Frames are planned in causal order, so the ack
/// number of a frame is simply what the peer has sent so far.
struct TCPConnection {
    let client: Endpoint
    let server: Endpoint
    private(set) var clientNext: UInt32
    private(set) var serverNext: UInt32
    private var clientIPID: UInt16
    private var serverIPID: UInt16
    private let clientClockOffset: UInt32
    private let serverClockOffset: UInt32
    private var lastClientTimestamp: UInt32 = 0
    private var lastServerTimestamp: UInt32 = 0
    /// Time of the latest planned frame; later plans never go back in time.
    private(set) var lastPlanned: Int64 = .min

    init(client: Endpoint, server: Endpoint, random: inout SplitMix64) {
        self.client = client
        self.server = server
        clientNext = UInt32(truncatingIfNeeded: random.next())
        serverNext = UInt32(truncatingIfNeeded: random.next())
        clientIPID = UInt16(truncatingIfNeeded: random.next())
        serverIPID = UInt16(truncatingIfNeeded: random.next())
        clientClockOffset = UInt32(truncatingIfNeeded: random.next())
        serverClockOffset = UInt32(truncatingIfNeeded: random.next())
    }

    var isIPv6: Bool { !client.address.isIPv4 }
    /// Payload bytes per full segment: MSS 1460 (IPv6: 1440) minus 12 bytes of timestamp option.
    var segmentSize: Int { isIPv6 ? 1428 : 1448 }

    /// Fixes sequence and ack numbers for a frame sent at `time` (clamped to be no earlier than the last).
    mutating func plan(
        at time: Int64, fromClient: Bool, flags: TCPFlags, payload: PlannedPayload, length: Int, tag: FrameTag = .none
    ) -> PlannedFrame {
        let at = max(time, lastPlanned)
        lastPlanned = at
        let consumed = UInt32(length) &+ (flags.contains(.syn) ? 1 : 0) &+ (flags.contains(.fin) ? 1 : 0)
        let frame: PlannedFrame
        if fromClient {
            frame = PlannedFrame(
                time: at, fromClient: true, flags: flags, sequenceNumber: clientNext,
                acknowledgmentNumber: flags.contains(.ack) ? serverNext : 0, payload: payload, tag: tag)
            clientNext &+= consumed
        } else {
            frame = PlannedFrame(
                time: at, fromClient: false, flags: flags, sequenceNumber: serverNext,
                acknowledgmentNumber: flags.contains(.ack) ? clientNext : 0, payload: payload, tag: tag)
            serverNext &+= consumed
        }
        return frame
    }

    /// Builds the Ethernet frame for `planned` with `payload` bytes (checksums correct).
    mutating func build(_ planned: PlannedFrame, payload: [UInt8]) -> [UInt8] {
        let milliseconds = UInt32(truncatingIfNeeded: planned.time / 1_000_000)
        let source = planned.fromClient ? client : server
        let destination = planned.fromClient ? server : client
        let timestamp: UInt32
        let echo: UInt32
        let ipID: UInt16
        if planned.fromClient {
            timestamp = milliseconds &+ clientClockOffset
            echo = lastServerTimestamp
            lastClientTimestamp = timestamp
            ipID = clientIPID
            clientIPID &+= 1
        } else {
            timestamp = milliseconds &+ serverClockOffset
            echo = lastClientTimestamp
            lastServerTimestamp = timestamp
            ipID = serverIPID
            serverIPID &+= 1
        }
        var options: [PacketBuilder.TCPOption]
        if planned.flags.contains(.syn) {
            options = [
                .maximumSegmentSize(isIPv6 ? 1440 : 1460), .sackPermitted,
                .timestamp(value: timestamp, echo: planned.flags.contains(.ack) ? echo : 0), .noOperation, .windowScale(7),
            ]
        } else if planned.flags.contains(.rst) {
            options = []
        } else {
            options = [.noOperation, .noOperation, .timestamp(value: timestamp, echo: echo)]
        }
        let window: UInt16 = planned.flags.contains(.syn) ? 64240 : (planned.flags.contains(.rst) ? 0 : 501)
        let packet = PacketBuilder.tcp(
            from: source, to: destination, seq: planned.sequenceNumber, ack: planned.acknowledgmentNumber,
            flags: planned.flags, window: window, options: options, payload: payload, ipID: ipID,
            ttl: planned.fromClient ? 52 : 64)
        return PacketBuilder.ethernet(
            packet, destinationMAC: planned.fromClient ? serverMAC : routerMAC, sourceMAC: planned.fromClient ? routerMAC : serverMAC)
    }
}

private let routerMAC: [UInt8] = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x01]
private let serverMAC: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x19]
