import Testing
import Wire

@testable import Reassembly

/// The reassembler's cache of recent flows (``RecentFlows``: a segment of a cached IPv4 flow
/// skips the flow table) must be invisible: many interleaved connections whose tuples differ
/// only in one port, or have the same ports swapped, IPv6 ones beside them, connections that
/// close (FIN, RST), are evicted (a small flow limit) or reused (a new SYN on the tuple), and
/// late packets of closed flows, give the same events and statistics with the cache on and off.
@Suite struct RecentFlowCacheTests {
    /// Client endpoints chosen to collide as much as they can short of being equal.
    static func clients() -> [Endpoint] {
        var endpoints: [Endpoint] = []
        for port in [40000, 40001, 25, 587] as [UInt16] {
            endpoints.append(Endpoint(address: .v4(0xC000_0201), port: port))
            endpoints.append(Endpoint(address: .v4(0xC000_0202), port: port))
        }
        endpoints.append(Endpoint(address: .v6(high: 0x2001_0db8_0000_0000, low: 1), port: 40000))
        endpoints.append(Endpoint(address: .v6(high: 0x2001_0db8_0000_0000, low: 2), port: 40000))
        return endpoints
    }

    /// Servers: two IPv4 on ports 25 and 587 (so a client on 25 talking to one on 587 and the
    /// reverse are different tuples with the same addresses and swapped ports), one IPv6.
    static func servers() -> [Endpoint] {
        [
            Endpoint(address: .v4(0xC633_6419), port: 25),
            Endpoint(address: .v4(0xC633_6419), port: 587),
            Endpoint(address: .v4(0xC000_0201), port: 25),
            Endpoint(address: .v6(high: 0x2001_0db8_0000_0000, low: 0x19), port: 25),
        ]
    }

    struct Item {
        var segment: TCPSegment
        var payload: [UInt8]
        var time: Int64
    }

    static func traffic(seed: UInt64) -> [Item] {
        var random = SplitMix64(seed: seed)
        let clients = clients()
        let servers = servers()
        // Pairs of the same address family only.
        var pairs: [(Endpoint, Endpoint)] = []
        for client in clients {
            for server in servers where (client.address.isV4 == server.address.isV4) && client != server {
                pairs.append((client, server))
            }
        }
        var next: [UInt32] = Array(repeating: 1000, count: pairs.count * 2)
        var items: [Item] = []
        var time: Int64 = 1_000_000_000
        // A few pairs at a time, so that the same flows come back often.
        let active = (0..<8).map { _ in Int.random(in: 0..<pairs.count, using: &random) }
        for _ in 0..<Int.random(in: 100...400, using: &random) {
            let pair = active[Int.random(in: 0..<active.count, using: &random)]
            let fromClient = Bool.random(using: &random)
            let (client, server) = pairs[pair]
            let side = pair * 2 + (fromClient ? 0 : 1)
            let peer = pair * 2 + (fromClient ? 1 : 0)
            var flags: TCPFlags = [.ack]
            var bytes: [UInt8] = []
            var seq = next[side]
            time += Int64.random(in: 0...5_000_000, using: &random)
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<55:
                bytes = (0..<Int.random(in: 1...30, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            case 55..<70:
                break
            case 70..<78:
                flags = fromClient ? [.syn] : [.syn, .ack]
                seq = next[side] &- 1
            case 78..<84:  // a new connection on the tuple
                next[side] = UInt32.random(in: 0...UInt32.max, using: &random)
                seq = next[side]
                next[side] &+= 1
                flags = [.syn]
            case 84..<90:
                flags = [.ack, .fin]
                next[side] &+= 1
            case 90..<94:
                flags = [.rst]
            default:  // out of order
                seq &+= UInt32.random(in: 1...20, using: &random)
                bytes = [0x41, 0x42]
            }
            if flags.contains(.syn) == false || flags.contains(.ack) { next[side] &+= UInt32(bytes.count) }
            let segment = TCPSegment(
                source: fromClient ? client : server, destination: fromClient ? server : client, sequenceNumber: seq,
                acknowledgmentNumber: flags.contains(.ack) ? next[peer] : 0, flags: flags, window: 65535,
                payloadLength: bytes.count)
            items.append(Item(segment: segment, payload: bytes, time: time))
        }
        return items
    }

    static func run(_ items: [Item], cache: Bool, maxFlows: Int) -> (events: [String], statistics: ReassemblyStatistics) {
        var options = ReassemblyOptions()
        options.maxFlows = maxFlows
        options.ports.insert(40000)
        var reassembler = TCPReassembler(options: options, seed: 7)
        reassembler.recentFlowCache = cache
        var events: [String] = []
        for (index, item) in items.enumerated() {
            item.payload.withUnsafeBytes { payload in
                reassembler.process(item.segment, payload: payload, frame: UInt64(index + 1), timestampNanoseconds: item.time) {
                    events.append(InOrderFastPathTests.describe($0))
                }
            }
        }
        reassembler.finish { events.append(InOrderFastPathTests.describe($0)) }
        return (events, reassembler.statistics)
    }

    @Test(arguments: 0..<200)
    func cachedAndTableLookupsAgree(seed: UInt64) {
        let items = Self.traffic(seed: seed)
        for maxFlows in [3, 100] {
            let cached = Self.run(items, cache: true, maxFlows: maxFlows)
            let table = Self.run(items, cache: false, maxFlows: maxFlows)
            #expect(cached.events == table.events)
            #expect(cached.statistics == table.statistics)
        }
    }

    /// The traffic reaches what the comparison must cover: evictions, reused tuples, late packets.
    @Test func trafficReachesTheEdges() {
        var total = ReassemblyStatistics()
        for seed in 0..<200 as Range<UInt64> {
            let run = Self.run(Self.traffic(seed: seed), cache: true, maxFlows: 3)
            total.flowsEvicted += run.statistics.flowsEvicted
            total.flowsReused += run.statistics.flowsReused
            total.packetsAfterClose += run.statistics.packetsAfterClose
            total.flowsOpened += run.statistics.flowsOpened
        }
        #expect(total.flowsEvicted > 0)
        #expect(total.flowsReused > 0)
        #expect(total.packetsAfterClose > 0)
        #expect(total.flowsOpened > 1000)
    }

    /// Tuples that differ only in a port, or in which side holds which port, are different keys.
    @Test func packedTuplesKeepEveryField() {
        let a = Endpoint(address: .v4(0xC000_0201), port: 25)
        let b = Endpoint(address: .v4(0xC633_6419), port: 587)
        let swapped = (Endpoint(address: .v4(0xC000_0201), port: 587), Endpoint(address: .v4(0xC633_6419), port: 25))
        #expect(RecentFlows.Tuple(a, b) == RecentFlows.Tuple(b, a))
        #expect(RecentFlows.Tuple(a, b) != RecentFlows.Tuple(swapped.0, swapped.1))
        #expect(RecentFlows.Tuple(a, b) != RecentFlows.Tuple(a, Endpoint(address: .v4(0xC633_6419), port: 588)))
        #expect(RecentFlows.Tuple(a, b) != RecentFlows.Tuple(a, Endpoint(address: .v4(0xC633_641A), port: 587)))
        #expect(!RecentFlows.Tuple(a, Endpoint(address: .v6(high: 1, low: 2), port: 25)).isCacheable)
    }
}

extension IPAddress {
    fileprivate var isV4: Bool {
        if case .v4 = self { return true }
        return false
    }
}
