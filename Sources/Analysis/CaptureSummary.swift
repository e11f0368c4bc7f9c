import Capture
import Wire

/// Per-input counts of what a capture holds at the frame and TCP level: the
/// foundation summary `smtpscope analyze` prints until full analysis lands.
///
/// Feed every frame with ``add(info:result:segment:)`` (no allocation once each
/// link type and problem kind has been seen), then ``finish(_:)`` with how reading ended.
public struct CaptureSummary: Sendable {
    /// The input's name (path, `-`).
    public var capture: String
    /// TCP ports counted as SMTP.
    public var smtpPorts: [UInt16]

    /// Records read, all of them (also those a filter skipped).
    public var packets: UInt64 = 0
    /// Frames that passed the filter and were decoded.
    public var framesDecoded: UInt64 = 0
    /// Bytes present in the decoded frames.
    public var capturedBytes: UInt64 = 0
    /// Bytes those frames had on the wire.
    public var wireBytes: UInt64 = 0
    /// Capture time of the first and last decoded frame (ns since the epoch).
    public var firstTimestamp: Int64?
    public var lastTimestamp: Int64?
    /// Decoded frames per link type.
    public var linkTypes: [LinkType: UInt64] = [:]
    /// TCP segments decoded (a fragmented one counts once, when complete).
    public var tcpSegments: UInt64 = 0
    /// TCP segments with an SMTP port as source or destination.
    public var smtpSegments: UInt64 = 0
    /// TCP payload bytes on the wire (from the IP lengths) and present in the capture.
    public var tcpPayloadWireBytes: UInt64 = 0
    public var tcpPayloadCapturedBytes: UInt64 = 0
    /// Frames that hold no TCP (ARP, UDP, ICMP, …).
    public var notTCP: UInt64 = 0
    /// IP fragments stored while waiting for the rest of their datagram.
    public var fragmentsHeld: UInt64 = 0
    /// Frames whose decoding stopped, by layer and reason.
    public var decodeProblems: [DecodeProblem: UInt64] = [:]
    /// Frames the snapshot length cut (captured length < wire length).
    public var truncatedFrames: UInt64 = 0
    /// How reading ended; nil until ``finish(_:)``.
    public var ending: ReadOutcome?
    /// Records longer than the file's snapshot length (a damaged header), if any.
    public var recordsOverSnapshot: RecordsOverSnapshot?

    /// A kind of decode failure: layer plus reason.
    public struct DecodeProblem: Hashable, Sendable, Comparable, CustomStringConvertible {
        public var layer: WireError.Layer
        public var reason: WireError.Reason

        public init(layer: WireError.Layer, reason: WireError.Reason) {
            self.layer = layer
            self.reason = reason
        }

        /// `layer.reason`, e.g. `tcp.truncated`.
        public var description: String { "\(layer.rawValue).\(reason.rawValue)" }
        public static func < (a: Self, b: Self) -> Bool { a.description < b.description }
    }

    /// The default SMTP ports: 25 (relay), 587 (submission), 2525 (common alternative).
    public static let defaultSMTPPorts: [UInt16] = [25, 587, 2525]

    public init(capture: String, smtpPorts: [UInt16] = CaptureSummary.defaultSMTPPorts) {
        self.capture = capture
        self.smtpPorts = smtpPorts
    }

    /// Counts one decoded frame. `segment` is the TCP segment the decoder handed
    /// out for it, if any.
    public mutating func add(info: CaptureInfo, result: DecodeResult, segment: TCPSegment?) {
        framesDecoded &+= 1
        capturedBytes &+= UInt64(clamping: info.capturedLength)
        wireBytes &+= UInt64(clamping: info.wireLength)
        if firstTimestamp == nil { firstTimestamp = info.timestampNanoseconds }
        lastTimestamp = info.timestampNanoseconds
        linkTypes[info.linkType, default: 0] &+= 1
        if info.capturedLength < info.wireLength { truncatedFrames &+= 1 }
        switch result {
        case .tcp: break
        case .fragmentHeld: fragmentsHeld &+= 1
        case .notTCP: notTCP &+= 1
        case .failed(let error): decodeProblems[DecodeProblem(layer: error.layer, reason: error.reason), default: 0] &+= 1
        }
        if let segment {
            tcpSegments &+= 1
            tcpPayloadWireBytes &+= UInt64(clamping: segment.wirePayloadLength)
            tcpPayloadCapturedBytes &+= UInt64(clamping: segment.payloadLength)
            if smtpPorts.contains(segment.source.port) || smtpPorts.contains(segment.destination.port) {
                smtpSegments &+= 1
            }
        }
    }

    /// Records how reading ended; `packets` becomes the number of records read.
    public mutating func finish(_ outcome: ReadOutcome, recordsOverSnapshot: RecordsOverSnapshot? = nil) {
        ending = outcome
        packets = outcome.framesRead
        self.recordsOverSnapshot = recordsOverSnapshot
    }

    /// Total frames with a decode problem.
    public var decodeProblemCount: UInt64 { decodeProblems.values.reduce(0, &+) }

    /// Why reading stopped early, if it did.
    public var readFailure: (frame: UInt64, reason: ReadFailure)? {
        guard case .failed(let framesRead, let reason) = ending else { return nil }
        return (framesRead &+ 1, reason)
    }
}
