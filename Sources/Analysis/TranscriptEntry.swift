import Reassembly
import SMTP

/// One line of a transcript: a dialog line, an abbreviated run of message lines, an end of
/// data with its geometry, or a note (gap, repeat, TLS, end of a direction).
public struct TranscriptEntry: Sendable, Hashable {
    /// The part of one segment that falls inside an entry's byte range.
    public struct Slice: Sendable, Hashable {
        public var offset: UInt64
        public var length: Int
        public var frame: UInt64
        public var timestampNanoseconds: Int64
    }

    /// Where an end-of-data sequence fell across segments.
    public struct Terminator: Sendable, Hashable {
        public var transaction: Int
        /// Nil for a BDAT message (it ends with its LAST chunk).
        public var style: TerminatorStyle?
        /// Positions 1…length-1 after which a segment boundary falls.
        public var splitAfter: [Int]
        /// Time between the first and the last segment holding terminator bytes.
        public var spreadNanoseconds: Int64
        /// Frames that repeated terminator bytes.
        public var repeatedBy: [UInt64]
        public var mailFrom: String?
        public var rcptTo: [String]
        public var messageID: String?
        public var size: UInt64
        /// Code of the reply to the end of data, if one came.
        public var replyCode: Int?
    }

    public enum Kind: Sendable, Hashable {
        /// A client line in command mode; verb and argument when the SMTP engine read it as a command.
        case command(verb: String?, argument: String?)
        /// A server line; `code` from its first three digits.
        case reply(code: Int?)
        /// A line of message content (DATA or BDAT).
        case message
        /// Message lines left out of the text.
        case elided(lines: Int)
        case endOfData(Terminator)
        /// A non-standard end-of-data sequence inside a message (not the end: strict reading).
        case nearMiss(transaction: Int, style: TerminatorStyle)
        /// The server answered after a near miss: it took it as end of data.
        case smuggling(transaction: Int, envelope: SmuggledEnvelope)
        case gap(GapReason)
        /// Bytes beyond ``TranscriptOptions/maxStreamBytes``.
        case notKept
        /// A segment repeated stream bytes already seen.
        case repeated(frame: UInt64, conflicting: Bool)
        /// Bytes after STARTTLS took effect.
        case encrypted
        case end(StreamEndReason, frame: UInt64)
    }

    public var kind: Kind
    public var direction: FlowDirection
    /// Stream range `[offset, offset + length)` the entry covers.
    public var offset: UInt64
    public var length: UInt64
    /// The segments that carried the range, in byte order (empty for notes without bytes).
    public var slices: [Slice]
    /// The bytes of a dialog, message or terminator entry (empty otherwise).
    public var bytes: [UInt8]
    /// Reassembler event order at which the entry was complete; interleaves the two sides.
    public var order: Int
    /// Capture time at which the entry was complete, if known.
    public var timestampNanoseconds: Int64?

    /// Distinct frames in byte order.
    public var frames: [UInt64] {
        var seen: [UInt64] = []
        for slice in slices where seen.last != slice.frame { seen.append(slice.frame) }
        return seen
    }

    /// Positions inside the range after which a segment boundary falls.
    public var cuts: [Int] {
        var result: [Int] = []
        var position = 0
        for slice in slices.dropLast() {
            position += slice.length
            result.append(position)
        }
        return result
    }
}
