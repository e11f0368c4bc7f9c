/// An IPv4 or IPv6 address held inline (no heap storage), comparable in
/// network byte order so that canonical flow keys and Community ID agree.
public enum IPAddress: Hashable, Sendable {
    /// IPv4 address, network byte order packed into a host integer (`192.0.2.1` = `0xC000_0201`).
    case v4(UInt32)
    /// IPv6 address as two big-endian halves (`high` = first 8 bytes).
    case v6(high: UInt64, low: UInt64)
}
