import Wire

extension IPAddress {
    /// Dotted quad for IPv4; RFC 5952 text for IPv6 (lower case, longest zero run as `::`).
    public var text: String {
        switch self {
        case .v4(let value):
            return "\(value >> 24).\((value >> 16) & 0xFF).\((value >> 8) & 0xFF).\(value & 0xFF)"
        case .v6(let high, let low):
            var groups = [UInt16](repeating: 0, count: 8)
            for index in 0..<4 {
                groups[index] = UInt16(truncatingIfNeeded: high >> (48 - 16 * UInt64(index)))
                groups[index + 4] = UInt16(truncatingIfNeeded: low >> (48 - 16 * UInt64(index)))
            }
            return Self.ipv6Text(groups)
        }
    }

    /// Network-order bytes (4 or 16), for hashing.
    var bytes: [UInt8] {
        switch self {
        case .v4(let value):
            return (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32($0))) }
        case .v6(let high, let low):
            let h = (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) }
            let l = (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64($0))) }
            return h + l
        }
    }

    var isV6: Bool {
        if case .v6 = self { return true }
        return false
    }

    private static func ipv6Text(_ groups: [UInt16]) -> String {
        // Longest run of at least two zero groups, first one on ties (RFC 5952 §4.2).
        var bestStart = -1
        var bestLength = 1
        var index = 0
        while index < groups.count {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < groups.count && groups[end] == 0 { end += 1 }
            if end - index > bestLength {
                bestStart = index
                bestLength = end - index
            }
            index = end
        }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}

/// Wireshark display filters for flows and evidence.
public enum WiresharkFilter {
    /// The conversation between two endpoints within a frame range (port reuse safe).
    public static func flow(client: EndpointRecord, server: EndpointRecord, firstFrame: UInt64, lastFrame: UInt64)
        -> String
    {
        let field = client.ip.contains(":") ? "ipv6.addr" : "ip.addr"
        return "\(field)==\(client.ip) && tcp.port==\(client.port) && \(field)==\(server.ip) && tcp.port==\(server.port)"
            + " && frame.number >= \(firstFrame) && frame.number <= \(lastFrame)"
    }

    /// Exactly the given frames.
    public static func frames(_ frames: [UInt64]) -> String {
        "frame.number in {" + frames.map(String.init).joined(separator: " ") + "}"
    }
}
