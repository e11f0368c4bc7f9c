/// Records the segment map of reassembled streams from the events, for
/// debugging output (`--debug-segments`, `transcript`): which frame carried
/// each stream-offset range, what was repeated, what is missing. Feed it every
/// event; it keeps at most `maxEntries` entries and `maxBytes` payload bytes
/// (counting what it had to leave out).
public struct SegmentLog: Sendable {
    /// One line of the map.
    public struct Entry: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            case data
            case retransmission(conflicting: Bool)
            case gap(GapReason)
            case end(StreamEndReason)
        }
        public var flow: FlowID
        public var direction: FlowDirection
        public var kind: Kind
        /// Stream-offset range `[offset, offset + length)`.
        public var offset: UInt64
        public var length: UInt64
        /// Frame that carried the bytes (0 for gaps).
        public var frame: UInt64
        public var sequenceNumber: UInt32
        public var timestampNanoseconds: Int64
        /// The bytes, when kept (data entries only, within `maxBytes`).
        public var bytes: [UInt8]
    }

    public private(set) var entries: [Entry] = []
    /// Entries not recorded because `maxEntries` was reached.
    public private(set) var droppedEntries = 0
    public let maxEntries: Int
    public let maxBytes: Int
    private var keptBytes = 0

    /// - Parameters:
    ///   - maxEntries: entries kept at most.
    ///   - maxBytes: payload bytes kept at most (0: keep none, render the map only).
    public init(maxEntries: Int = 100_000, maxBytes: Int = 0) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    /// Records one event (others than data, retransmission, gap and end are ignored).
    public mutating func record(_ event: StreamEvent) {
        let entry: Entry
        switch event {
        case .data(let flow, let direction, let offset, let bytes, let segment):
            var copied: [UInt8] = []
            if keptBytes < maxBytes {
                let count = min(bytes.count, maxBytes - keptBytes)
                copied = Array(UnsafeRawBufferPointer(rebasing: bytes[0..<count]))
                keptBytes += count
            }
            entry = Entry(
                flow: flow, direction: direction, kind: .data, offset: offset, length: UInt64(bytes.count),
                frame: segment.frame, sequenceNumber: segment.sequenceNumber,
                timestampNanoseconds: segment.timestampNanoseconds, bytes: copied)
        case .retransmission(let flow, let direction, let offset, let length, let segment, let conflicting):
            entry = Entry(
                flow: flow, direction: direction, kind: .retransmission(conflicting: conflicting), offset: offset,
                length: UInt64(max(length, 0)), frame: segment.frame, sequenceNumber: segment.sequenceNumber,
                timestampNanoseconds: segment.timestampNanoseconds, bytes: [])
        case .gap(let flow, let direction, let offset, let length, let reason):
            entry = Entry(
                flow: flow, direction: direction, kind: .gap(reason), offset: offset, length: length, frame: 0,
                sequenceNumber: 0, timestampNanoseconds: 0, bytes: [])
        case .end(let flow, let direction, let reason, let frame, let timestamp):
            entry = Entry(
                flow: flow, direction: direction, kind: .end(reason), offset: 0, length: 0, frame: frame,
                sequenceNumber: 0, timestampNanoseconds: timestamp, bytes: [])
        case .opened, .closed, .limitReached:
            return
        }
        guard entries.count < maxEntries else {
            droppedEntries += 1
            return
        }
        entries.append(entry)
    }

    /// Entries of one flow, optionally one direction, in recorded order.
    public func entries(of flow: FlowID, direction: FlowDirection? = nil) -> [Entry] {
        entries.filter { $0.flow == flow && (direction == nil || $0.direction == direction) }
    }

    /// The segment map of one flow as text, one line per entry, e.g.
    /// `C>S [0,12) frame 4 seq 1001 t=1.000000000 "EHLO x\r\n"`; bytes are
    /// shown (escaped) when they were kept.
    public func render(flow: FlowID) -> String {
        var text = ""
        for entry in entries(of: flow) {
            let side = entry.direction == .clientToServer ? "C>S" : "S>C"
            let range = "[\(entry.offset),\(entry.offset &+ entry.length))"
            switch entry.kind {
            case .data:
                text += "\(side) \(range) frame \(entry.frame) seq \(entry.sequenceNumber) t=\(Self.seconds(entry.timestampNanoseconds))"
                if !entry.bytes.isEmpty { text += " \"\(Self.escaped(entry.bytes))\"" }
            case .retransmission(let conflicting):
                text += "\(side) \(range) repeated by frame \(entry.frame) seq \(entry.sequenceNumber)"
                if conflicting { text += " CONFLICTING" }
            case .gap(let reason):
                text += "\(side) \(range) gap \(reason.rawValue)"
            case .end(let reason):
                text += "\(side) end \(reason.rawValue) frame \(entry.frame)"
            }
            text += "\n"
        }
        return text
    }

    static func seconds(_ nanoseconds: Int64) -> String {
        let whole = nanoseconds / 1_000_000_000
        let fraction = String(abs(nanoseconds % 1_000_000_000))
        return "\(whole).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)"
    }

    static func escaped(_ bytes: [UInt8]) -> String {
        var text = ""
        for byte in bytes {
            switch byte {
            case 0x0D: text += "\\r"
            case 0x0A: text += "\\n"
            case 0x5C: text += "\\\\"
            case 0x22: text += "\\\""
            case 0x20...0x7E: text.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16)
                text += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            }
        }
        return text
    }
}
