import Testing
import Wire

@testable import Reassembly

/// The reassembler's ``FlowKey`` orders two IPv4 endpoints by one 48-bit comparison (address, then port); it
/// must pick the same low and high endpoint as ``Endpoint/precedes(_:)`` does for every pair,
/// including equal addresses, equal ports, the extremes, and mixed IPv4/IPv6 pairs.
@Suite struct FlowKeyOrderTests {
    static func endpoints(seed: UInt64) -> [Endpoint] {
        var random = SplitMix64(seed: seed)
        let addresses: [UInt32] = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xC000_0201, 0xC000_0202, 0xFFFF_FFFE, 0xFFFF_FFFF]
            + (0..<6).map { _ in UInt32.random(in: 0...UInt32.max, using: &random) }
        let ports: [UInt16] = [0, 1, 25, 587, 0x7FFF, 0x8000, 65534, 65535, UInt16.random(in: 0...65535, using: &random)]
        var all: [Endpoint] = []
        for address in addresses {
            for port in ports { all.append(Endpoint(address: .v4(address), port: port)) }
        }
        all.append(Endpoint(address: .v6(high: 0x2001_0DB8_0000_0000, low: 1), port: 25))
        all.append(Endpoint(address: .v6(high: 0, low: 0), port: 0))
        return all
    }

    @Test func orderMatchesPrecedes() {
        let all = Self.endpoints(seed: 3)
        for a in all {
            for b in all {
                let key = Reassembly.FlowKey(a, b)
                let (low, high) = a.precedes(b) ? (a, b) : (b, a)
                #expect(key.low == low && key.high == high, "\(a) \(b)")
                #expect(Reassembly.FlowKey(b, a) == key, "\(a) \(b)")
            }
        }
    }
}
