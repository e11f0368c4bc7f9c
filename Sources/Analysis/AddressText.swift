import Wire

extension IPAddress {
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

extension IPAddress {
    /// Writes the network-order bytes (4 or 16) at `destination`, which has room for 16;
    /// returns how many. ``bytes`` without an array.
    func writeBytes(to destination: UnsafeMutablePointer<UInt8>) -> Int {
        switch self {
        case .v4(let value):
            UnsafeMutableRawPointer(destination).storeBytes(of: value.bigEndian, as: UInt32.self)
            return 4
        case .v6(let high, let low):
            UnsafeMutableRawPointer(destination).storeBytes(of: high.bigEndian, as: UInt64.self)
            UnsafeMutableRawPointer(destination).storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
            return 16
        }
    }
}
