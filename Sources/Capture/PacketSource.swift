/// Anything that hands out captured frames one at a time: a capture file, a
/// live interface, or frames held in memory (tests).
public protocol PacketSource: AnyObject {
    /// The input's name for messages: a path, `-`, or an interface.
    var name: String { get }

    /// Calls `body` once per frame, in capture order, until the input ends,
    /// `body` returns ``PacketLoopControl/stop``, or reading fails.
    ///
    /// The bytes are borrowed: valid only inside `body`, never to be stored.
    /// Calling again after a stop resumes with the next frame; frame numbers keep counting.
    func readPackets(_ body: (CaptureInfo, UnsafeRawBufferPointer) -> PacketLoopControl) -> ReadOutcome
}

/// How a ``PacketSource/readPackets(_:)`` call ended. `framesRead` counts every
/// record read from the input so far (also those a filter skipped), so the
/// frame that failed is `framesRead + 1`.
public enum ReadOutcome: Sendable, Equatable {
    /// The input has no more records.
    case endOfInput(framesRead: UInt64)
    /// The packet callback returned ``PacketLoopControl/stop`` (or, live, the loop was broken).
    case stopped(framesRead: UInt64)
    /// Record `framesRead + 1` could not be read.
    case failed(framesRead: UInt64, reason: ReadFailure)

    /// Records read before the loop ended.
    public var framesRead: UInt64 {
        switch self {
        case .endOfInput(let count), .stopped(let count), .failed(let count, _): return count
        }
    }
}

/// Why reading a record failed, classified from libpcap's report.
public struct ReadFailure: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// The input ends in the middle of a record (`truncated dump file`).
        case cutMidRecord
        /// A record header holds impossible values (captured length beyond any snapshot length).
        case invalidRecord
        /// A pcapng file mixes interfaces of different link types, which libpcap 1.10 does not read.
        case mixedLinkTypes
        /// Anything else libpcap reported (I/O error, corrupt pcapng block, …).
        case other
    }

    public var kind: Kind
    /// libpcap's own words.
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    /// Classifies libpcap's error text.
    init(libpcapMessage message: String) {
        let kind: Kind
        if message.hasPrefix("truncated dump file") || message.contains("truncated pcapng") {
            kind = .cutMidRecord
        } else if message.contains("invalid packet capture length") {
            kind = .invalidRecord
        } else if message.contains("different from the type of the first interface") {
            kind = .mixedLinkTypes
        } else {
            kind = .other
        }
        self.init(kind: kind, message: message)
    }

    public var description: String {
        switch kind {
        case .cutMidRecord: return "file cut in the middle of a record (\(message))"
        case .invalidRecord: return "invalid record header (\(message))"
        case .mixedLinkTypes:
            return "pcapng interfaces with different link types, which libpcap \(libpcapShortVersion) cannot read in one file (\(message)); "
                + "split it per interface, e.g. `tshark -r FILE -Y frame.interface_id==1 -w part.pcapng`"
        case .other: return message
        }
    }
}

/// `1.10.3` out of the full libpcap version string.
var libpcapShortVersion: String {
    let words = libpcapVersion.split(separator: " ")
    return words.count > 2 ? String(words[2]) : libpcapVersion
}
