@testable import Analysis
import Testing
import Wire

/// How ``ParallelFlows`` spreads connections over its workers: both directions of a connection
/// must land in the same worker (or its packets would be split between two reassemblers), and the
/// workers must share the connections about evenly (a hash that sent everything to one would
/// still give the right output, one thread's worth of speed: only this test would notice).
@Suite struct ParallelWorkerChoiceTests {
    static func segment(_ source: Endpoint, _ destination: Endpoint) -> TCPSegment {
        TCPSegment(
            source: source, destination: destination, sequenceNumber: 1, acknowledgmentNumber: 0,
            flags: TCPFlags(rawValue: 0x02), window: 1024, payloadLength: 0)
    }

    /// Client ports of a busy relay towards one server, IPv4 and IPv6, and many clients to one port.
    static var connections: [(Endpoint, Endpoint)] {
        let server4 = Endpoint(address: .v4(0xC633_6419), port: 25)  // 198.51.100.25
        let server6 = Endpoint(address: .v6(high: 0x2001_0DB8_0000_0001, low: 0x25), port: 25)  // 2001:db8:0:1::25
        var all: [(Endpoint, Endpoint)] = []
        for port in UInt16(40_000)..<41_000 { all.append((Endpoint(address: .v4(0xC000_020A), port: port), server4)) }
        for host in UInt32(1)..<1_001 { all.append((Endpoint(address: .v4(0xCB00_7100 | host), port: 51_000), server4)) }
        for port in UInt16(50_000)..<51_000 { all.append((Endpoint(address: .v6(high: 0x2001_0DB8_0000_0002, low: 0x10), port: port), server6)) }
        return all
    }

    @Test(arguments: [2, 10, 37])
    func bothDirectionsShareAWorkerAndWorkersShareTheLoad(slots: Int) {
        var counts = [Int](repeating: 0, count: slots)
        let connections = Self.connections
        for (client, server) in connections {
            let out = ParallelFlows.slot(for: Self.segment(client, server), count: slots)
            let back = ParallelFlows.slot(for: Self.segment(server, client), count: slots)
            #expect(out == back)
            #expect((0..<slots).contains(out))
            counts[max(0, min(slots - 1, out))] += 1
        }
        // Each slot within ±40 % of an even share (3,000 connections: a fair hash stays well inside).
        let even = Double(connections.count) / Double(slots)
        for (slot, count) in counts.enumerated() {
            #expect(Double(count) > even * 0.6 && Double(count) < even * 1.4, "slot \(slot) of \(slots): \(count) connections, even share \(even)")
        }
    }
}
