/// Limits of a ``PacketDecoder``: every table it keeps is bounded by one of these.
public struct DecoderOptions: Sendable, Equatable {
    /// Fragmented datagrams kept in progress at once; the oldest is evicted to make room.
    public var maxFragmentedDatagrams: Int
    /// Bytes of fragment data held across all datagrams in progress.
    public var maxFragmentBytesHeld: Int
    /// Largest reassembled IP payload accepted (IPv4/IPv6 without jumbograms: 65535).
    public var maxDatagramSize: Int
    /// Fragments accepted per datagram before it is dropped (bounds the coverage list).
    public var maxFragmentsPerDatagram: Int
    /// A datagram whose first fragment is older than this (capture time) is discarded.
    public var fragmentTimeoutNanoseconds: Int64
    /// 802.1Q/802.1ad tags walked before the frame is rejected.
    public var maxVLANTags: Int
    /// IPv6 extension headers walked before the packet is rejected.
    public var maxIPv6ExtensionHeaders: Int

    public init(
        maxFragmentedDatagrams: Int = 256, maxFragmentBytesHeld: Int = 4 << 20, maxDatagramSize: Int = 65535,
        maxFragmentsPerDatagram: Int = 128, fragmentTimeoutNanoseconds: Int64 = 30_000_000_000,
        maxVLANTags: Int = 8, maxIPv6ExtensionHeaders: Int = 8
    ) {
        self.maxFragmentedDatagrams = max(1, maxFragmentedDatagrams)
        self.maxFragmentBytesHeld = max(0, maxFragmentBytesHeld)
        self.maxDatagramSize = min(max(0, maxDatagramSize), 65535)
        self.maxFragmentsPerDatagram = max(1, maxFragmentsPerDatagram)
        self.fragmentTimeoutNanoseconds = max(0, fragmentTimeoutNanoseconds)
        self.maxVLANTags = max(0, maxVLANTags)
        self.maxIPv6ExtensionHeaders = max(0, maxIPv6ExtensionHeaders)
    }
}
