import Capture
import Reassembly
import SMTP
import Wire

/// Limits of a transcript; reaching one is shown in the transcript itself.
public struct TranscriptOptions: Sendable, Hashable {
    /// Stream bytes kept per direction of the chosen flow; later bytes are shown as not kept.
    public var maxStreamBytes: Int = 64 << 20
    /// Segment-map entries kept for `--segments`.
    public var maxSegmentEntries: Int = 100_000
    /// Payload bytes the segment map shows (escaped) for `--segments`.
    public var maxSegmentBytes: Int = 1 << 20
    /// Message lines shown at the start and at the end of a message body; the lines between are counted.
    public var bodyHeadLines: Int = 3
    public var bodyTailLines: Int = 3
    /// Use `|` instead of `¦` for segment boundaries and `->` for arrows.
    public var ascii = false

    public init() {}
}

/// One direction of the chosen flow as captured: the bytes, which segment carried each run of
/// them, and what was repeated, lost and how the direction ended. `order` numbers are the
/// reassembler's event order, shared by both directions, so the two sides can be interleaved.
public struct TranscriptStream: Sendable {
    /// The new bytes one data event delivered.
    public struct Piece: Sendable, Hashable {
        public var offset: UInt64
        public var length: Int
        public var frame: UInt64
        public var timestampNanoseconds: Int64
        public var order: Int
        /// Index of the first byte in ``TranscriptStream/bytes``; nil when the byte limit kept it out.
        public var storage: Int?
    }
    public struct Gap: Sendable, Hashable {
        public var offset: UInt64
        public var length: UInt64
        public var reason: GapReason
        public var order: Int
    }
    public struct Repeat: Sendable, Hashable {
        public var offset: UInt64
        public var length: Int
        public var frame: UInt64
        public var timestampNanoseconds: Int64
        public var conflicting: Bool
        public var order: Int
    }
    public struct End: Sendable, Hashable {
        public var reason: StreamEndReason
        public var frame: UInt64
        public var timestampNanoseconds: Int64
        public var order: Int
    }

    public internal(set) var pieces: [Piece] = []
    public internal(set) var gaps: [Gap] = []
    public internal(set) var repeats: [Repeat] = []
    public internal(set) var end: End?
    /// The kept bytes, pieces back to back.
    public internal(set) var bytes: [UInt8] = []
    /// Bytes delivered but not kept (``TranscriptOptions/maxStreamBytes``).
    public internal(set) var bytesNotKept: UInt64 = 0

    /// Index of the piece holding stream `offset`, if any.
    func pieceIndex(at offset: UInt64) -> Int? {
        var low = 0, high = pieces.count
        while low < high {
            let mid = (low + high) / 2
            if pieces[mid].offset &+ UInt64(pieces[mid].length) <= offset { low = mid + 1 } else { high = mid }
        }
        guard low < pieces.count, pieces[low].offset <= offset else { return nil }
        return low
    }

    /// Stream offset just past the last delivered byte.
    var endOffset: UInt64 {
        let dataEnd = pieces.last.map { $0.offset &+ UInt64($0.length) } ?? 0
        let gapEnd = gaps.last.map { $0.offset &+ $0.length } ?? 0
        return max(dataEnd, gapEnd)
    }
}

/// Everything the transcript of one flow is made from: the flow, both streams with their
/// provenance, and the SMTP engine's events (each with the event order at which it was emitted).
public struct TranscriptRecording: Sendable {
    public var info: FlowInfo
    public var client = TranscriptStream()
    public var server = TranscriptStream()
    public var events: [(event: SMTPEvent, order: Int)] = []
    public var summary: FlowSummary?

    public init(info: FlowInfo) { self.info = info }

    func stream(_ direction: FlowDirection) -> TranscriptStream { direction == .clientToServer ? client : server }
}

/// A flow on an SMTP port, as `transcript --list` shows it.
public struct TranscriptFlowListing: Sendable, Hashable {
    public var info: FlowInfo
    /// Frames of the flow (from the reassembler's summary; 0 if it never closed).
    public var frames: UInt64
    public var lastFrame: UInt64
}

/// What one read of a capture gave the transcript.
public struct TranscriptCapture: Sendable {
    /// Every flow on an SMTP port, in flow order.
    public var flows: [TranscriptFlowListing] = []
    /// The chosen flow, when it exists.
    public var recording: TranscriptRecording?
    /// The segment map of the chosen flow.
    public var segmentLog: SegmentLog
    /// How reading ended.
    public var outcome: ReadOutcome = .endOfInput(framesRead: 0)
}

/// Runs Capture → PacketDecoder → TCPReassembler → SMTPSession for one flow, on its own
/// (no Analyzer), and records what the transcript needs.
public enum TranscriptReader {
    public static func read(
        from source: some PacketSource, ports: Set<UInt16>, flow chosen: FlowID?, options: TranscriptOptions = TranscriptOptions()
    ) -> TranscriptCapture {
        var result = TranscriptCapture(segmentLog: SegmentLog(maxEntries: options.maxSegmentEntries, maxBytes: options.maxSegmentBytes))
        var decoder = PacketDecoder()
        var reassemblyOptions = ReassemblyOptions()
        reassemblyOptions.ports = ports
        var reassembler = TCPReassembler(options: reassemblyOptions)
        var session = SMTPSession()
        var order = 0
        var listingIndex: [FlowID: Int] = [:]
        // The chosen flow's streams grow here (not inside the optional recording, which would copy them).
        var clientStream = TranscriptStream(), serverStream = TranscriptStream()

        func handle(_ event: StreamEvent) {
            order += 1
            switch event {
            case .opened(let info):
                listingIndex[info.id] = result.flows.count
                result.flows.append(TranscriptFlowListing(info: info, frames: 0, lastFrame: info.firstFrame))
                if info.id == chosen { result.recording = TranscriptRecording(info: info) }
            case .closed(let id, let summary):
                if let index = listingIndex[id] {
                    result.flows[index].frames = summary.packets
                    result.flows[index].lastFrame = summary.lastFrame
                }
                if id == chosen { result.recording?.summary = summary }
            default:
                break
            }
            guard chosen != nil, result.recording != nil else { return }
            record(event)
        }

        func record(_ event: StreamEvent) {
            let current = order
            let emit: (SMTPEvent) -> Void = { result.recording?.events.append(($0, current)) }
            switch event {
            case .data(let id, let direction, let offset, let bytes, let segment) where id == chosen:
                result.segmentLog.record(event)
                var piece = TranscriptStream.Piece(
                    offset: offset, length: bytes.count, frame: segment.frame,
                    timestampNanoseconds: segment.timestampNanoseconds, order: current, storage: nil)
                update(direction) { stream in
                    if stream.bytes.count + bytes.count <= options.maxStreamBytes {
                        piece.storage = stream.bytes.count
                        stream.bytes.append(contentsOf: bytes)
                    } else {
                        stream.bytesNotKept &+= UInt64(bytes.count)
                    }
                    stream.pieces.append(piece)
                }
                session.feed(side(direction), bytes, at: offset, emit: emit)
            case .retransmission(let id, let direction, let offset, let length, let segment, let conflicting) where id == chosen:
                result.segmentLog.record(event)
                update(direction) {
                    $0.repeats.append(.init(
                        offset: offset, length: length, frame: segment.frame,
                        timestampNanoseconds: segment.timestampNanoseconds, conflicting: conflicting, order: current))
                }
            case .gap(let id, let direction, let offset, let length, let reason) where id == chosen:
                result.segmentLog.record(event)
                update(direction) { $0.gaps.append(.init(offset: offset, length: length, reason: reason, order: current)) }
                session.gap(side(direction), at: offset, length: length, emit: emit)
            case .end(let id, let direction, let reason, let frame, let timestamp) where id == chosen:
                result.segmentLog.record(event)
                update(direction) { $0.end = .init(reason: reason, frame: frame, timestampNanoseconds: timestamp, order: current) }
                session.end(side(direction), emit: emit)
            default:
                break
            }
        }

        func update(_ direction: FlowDirection, _ body: (inout TranscriptStream) -> Void) {
            if direction == .clientToServer { body(&clientStream) } else { body(&serverStream) }
        }

        result.outcome = source.readPackets { info, frame in
            _ = decoder.decode(
                frame: frame, wireLength: info.wireLength, linkType: info.linkType,
                timestampNanoseconds: info.timestampNanoseconds
            ) { segment, payload in
                reassembler.process(
                    segment, payload: payload, frame: info.frameNumber, timestampNanoseconds: info.timestampNanoseconds,
                    emit: handle)
            }
            return .next
        }
        reassembler.finish(emit: handle)
        result.recording?.client = clientStream
        result.recording?.server = serverStream
        return result
    }

    static func side(_ direction: FlowDirection) -> SMTPSide { direction == .clientToServer ? .client : .server }
}
