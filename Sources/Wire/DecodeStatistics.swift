/// Running counts kept by a ``PacketDecoder``; scalars only, so reading them never allocates.
public struct DecodeStatistics: Sendable, Equatable {
    /// Frames passed to `decode`.
    public var frames = 0
    /// Frames whose captured length is below their wire length (snapshot length).
    public var truncatedFrames = 0
    /// Results: TCP segments delivered (including reassembled ones).
    public var tcpSegments = 0
    /// TCP segments delivered with part of their payload cut by the snapshot length.
    public var truncatedPayloadSegments = 0
    /// Results: fragments stored awaiting the rest of their datagram.
    public var fragmentHeld = 0
    /// Results: well-formed frames that carry no TCP.
    public var notTCP = 0
    /// Results: failures, all layers.
    public var failed = 0

    /// Failures by reason.
    public var truncated = 0
    public var malformed = 0
    public var unsupported = 0
    public var fragmentLimit = 0

    /// Failures by layer.
    public var failedAtLink = 0
    public var failedAtVLAN = 0
    public var failedAtIPv4 = 0
    public var failedAtIPv6 = 0
    public var failedAtIPv6Extension = 0
    public var failedAtFragment = 0
    public var failedAtTCP = 0

    /// IPv4/IPv6 fragments of TCP datagrams received.
    public var fragmentsReceived = 0
    /// Datagrams completed from fragments.
    public var datagramsReassembled = 0
    /// Datagrams discarded because their first fragment was older than the timeout.
    public var datagramsExpired = 0
    /// Datagrams evicted (oldest first) to respect the datagram or byte limit.
    public var datagramsEvicted = 0
    /// Fragments (or whole datagrams in progress) dropped: malformed, truncated, inconsistent or over a limit.
    public var fragmentsDropped = 0
    /// Fragments that overlapped bytes already held; the first-seen bytes were kept.
    public var fragmentOverlaps = 0
    /// Datagrams in progress now.
    public var fragmentDatagramsInProgress = 0
    /// Fragment bytes held now.
    public var fragmentBytesHeld = 0
    /// Highest value ``fragmentBytesHeld`` reached.
    public var peakFragmentBytesHeld = 0

    public init() {}

    mutating func record(_ result: DecodeResult) {
        switch result {
        case .tcp: tcpSegments += 1
        case .fragmentHeld: fragmentHeld += 1
        case .notTCP: notTCP += 1
        case .failed(let error):
            failed += 1
            switch error.reason {
            case .truncated: truncated += 1
            case .malformed: malformed += 1
            case .unsupported: unsupported += 1
            case .fragmentLimit: fragmentLimit += 1
            }
            switch error.layer {
            case .link: failedAtLink += 1
            case .vlan: failedAtVLAN += 1
            case .ipv4: failedAtIPv4 += 1
            case .ipv6: failedAtIPv6 += 1
            case .ipv6Extension: failedAtIPv6Extension += 1
            case .fragment: failedAtFragment += 1
            case .tcp: failedAtTCP += 1
            }
        }
    }
}
