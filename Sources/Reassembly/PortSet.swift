/// A set of TCP ports as a 65,536-bit map: membership is one load and a mask, where
/// `Set<UInt16>.contains` hashed the port (twice per packet on the reassembler's path).
struct PortSet {
    private var words: [UInt64]

    init(_ ports: Set<UInt16>) {
        words = [UInt64](repeating: 0, count: 1024)
        for port in ports { words[Int(port >> 6)] |= 1 << UInt64(port & 63) }
    }

    @inline(__always)
    func contains(_ port: UInt16) -> Bool {
        words.withUnsafeBufferPointer { $0[Int(port >> 6)] } & (1 << UInt64(port & 63)) != 0
    }
}
