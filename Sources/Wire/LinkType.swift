/// A libpcap link-layer header type (`DLT_*` / `LINKTYPE_*` value).
///
/// An open set: unknown values round-trip so that a capture with an unusual
/// link type is counted and reported rather than rejected.
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// BSD loopback: 4-byte protocol family in host byte order of the capturing machine.
    public static let null = LinkType(rawValue: 0)
    /// Ethernet II, possibly with 802.1Q / QinQ tags.
    public static let ethernet = LinkType(rawValue: 1)
    /// Raw IP as some BSDs write it (DLT_RAW on those systems).
    public static let rawBSD12 = LinkType(rawValue: 12)
    /// Raw IP, another historical DLT_RAW value.
    public static let rawBSD14 = LinkType(rawValue: 14)
    /// Raw IPv4 or IPv6 (LINKTYPE_RAW).
    public static let raw = LinkType(rawValue: 101)
    /// OpenBSD loopback: 4-byte protocol family in network byte order.
    public static let loop = LinkType(rawValue: 108)
    /// Linux cooked capture v1 (`tcpdump -i any` before libpcap 1.10).
    public static let linuxSLL = LinkType(rawValue: 113)
    /// Raw IPv4 (LINKTYPE_IPV4).
    public static let ipv4 = LinkType(rawValue: 228)
    /// Raw IPv6 (LINKTYPE_IPV6).
    public static let ipv6 = LinkType(rawValue: 229)
    /// Linux cooked capture v2 (`tcpdump -i any` with libpcap ≥ 1.10).
    public static let linuxSLL2 = LinkType(rawValue: 276)

    public var description: String {
        switch self {
        case .null: return "NULL"
        case .ethernet: return "EN10MB"
        case .rawBSD12, .rawBSD14, .raw: return "RAW"
        case .loop: return "LOOP"
        case .linuxSLL: return "LINUX_SLL"
        case .ipv4: return "IPV4"
        case .ipv6: return "IPV6"
        case .linuxSLL2: return "LINUX_SLL2"
        default: return "DLT(\(rawValue))"
        }
    }
}
