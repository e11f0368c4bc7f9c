import Wire

/// The canonical 5-tuple of a TCP connection (protocol is always TCP): the two
/// endpoints in a fixed order, so both directions of a connection map to one key.
struct FlowKey: Hashable {
    var low: Endpoint
    var high: Endpoint

    @inline(__always)
    init(_ a: Endpoint, _ b: Endpoint) {
        // Two IPv4 endpoints (per segment, nearly always): address then port is the order of
        // one 48-bit number each, compared once instead of walking both enums' cases.
        if case .v4(let x) = a.address, case .v4(let y) = b.address {
            if UInt64(x) << 16 | UInt64(a.port) < UInt64(y) << 16 | UInt64(b.port) {
                low = a
                high = b
            } else {
                low = b
                high = a
            }
            return
        }
        if a.precedes(b) {
            low = a
            high = b
        } else {
            low = b
            high = a
        }
    }

    /// Two words for IPv4 (the common case) instead of the synthesized enum tags and
    /// fields, one Hasher round each: the flow table hashes a key per packet.
    func hash(into hasher: inout Hasher) {
        let ports = UInt64(low.port) << 16 | UInt64(high.port)
        switch (low.address, high.address) {
        case (.v4(let a), .v4(let b)):
            hasher.combine(UInt64(a) << 32 | UInt64(b))
            hasher.combine(ports)
        default:
            hasher.combine(low.address)
            hasher.combine(high.address)
            hasher.combine(ports)
        }
    }
}

extension Endpoint {
    /// Order by address (IPv4 before IPv6, then network byte order), then port.
    func precedes(_ other: Endpoint) -> Bool {
        switch (address, other.address) {
        case (.v4(let a), .v4(let b)) where a != b: return a < b
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        case (.v6(let ah, let al), .v6(let bh, let bl)) where ah != bh || al != bl:
            return ah != bh ? ah < bh : al < bl
        default: return port < other.port
        }
    }
}
