/// A direction-independent TCP connection key: the 5-tuple (protocol always TCP)
/// with the two endpoints in canonical order, so both directions of a
/// connection map to the same key. Scalars only: hashing it never allocates.
public struct FlowKey: Hashable, Sendable, CustomStringConvertible {
    /// The endpoint that sorts first (``Endpoint`` order: address, then port).
    public var lower: Endpoint
    /// The endpoint that sorts second.
    public var upper: Endpoint

    /// The key of the connection between `a` and `b`, in either direction.
    public init(_ a: Endpoint, _ b: Endpoint) {
        if b < a {
            lower = b
            upper = a
        } else {
            lower = a
            upper = b
        }
    }

    /// The key of the connection `segment` belongs to.
    public init(_ segment: TCPSegment) {
        self.init(segment.source, segment.destination)
    }

    /// True when a packet sent by `source` travels from ``lower`` to ``upper``.
    public func isForward(from source: Endpoint) -> Bool {
        source == lower
    }

    public var description: String { "tcp \(lower) <-> \(upper)" }
}
