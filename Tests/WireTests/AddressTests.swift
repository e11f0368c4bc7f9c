import Testing
import Wire

@Suite struct AddressTests {
    /// Expected strings are what tshark 4.0 printed for ipv6.src/ipv6.dst of packets
    /// carrying these addresses, and RFC 5952 §4 examples.
    @Test(arguments: [
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("::192.0.2.1", "::192.0.2.1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("::2", "::2"),
        ("fe80::", "fe80::"),
        ("2001:db8:1:2:3:4:5:0", "2001:db8:1:2:3:4:5:0"),
        ("0:0:1::", "0:0:1::"),
        ("2001:0DB8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("::", "::"),
        ("::1", "::1"),
    ])
    func ipv6TextMatchesTshark(input: String, expected: String) {
        #expect(IPAddress(input)?.description == expected)
    }

    /// Hand-written RFC 5952 §4 cases for the text written without intermediate strings:
    /// leading zeros dropped, lower case, the longest zero run compressed (the first on a
    /// tie), a single zero group left alone, the longest text, mixed notation.
    @Test(arguments: [
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0db8:000a:0b00:0000:0000:0000:0001", "2001:db8:a:b00::1"),
        ("2001:DB8:ABCD:EF01:0:0:0:0", "2001:db8:abcd:ef01::"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
        ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("0:1:0:0:0:0:0:0", "0:1::"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("1000:200:30:4:5:60:700:8000", "1000:200:30:4:5:60:700:8000"),
        ("::ffff:255.255.255.255", "::ffff:255.255.255.255"),
        ("::ffff:10.0.100.9", "::ffff:10.0.100.9"),
        ("::10.0.0.1", "::10.0.0.1"),
    ])
    func ipv6TextRFC5952(input: String, expected: String) {
        #expect(IPAddress(input)?.description == expected)
    }

    @Test func ipv6TextFromValues() {
        #expect(IPAddress.v6(high: 0x2001_0db8_0000_0000, low: 1).description == "2001:db8::1")
        #expect(IPAddress.v6(high: 0, low: 0).description == "::")
        #expect(IPAddress.v6(high: 0, low: 0x0000_ffff_c000_0201).description == "::ffff:192.0.2.1")
    }

    @Test func ipv4Text() {
        #expect(IPAddress("192.0.2.1") == .v4(0xC000_0201))
        #expect(IPAddress.v4(0xC000_0201).description == "192.0.2.1")
        #expect(IPAddress.v4(0).description == "0.0.0.0")
        #expect(IPAddress.v4(0xffff_ffff).description == "255.255.255.255")
        #expect(IPAddress("2001:db8::1") == .v6(high: 0x2001_0db8_0000_0000, low: 1))
        #expect(IPAddress("192.0.2") == nil)
        #expect(IPAddress("256.0.0.1") == nil)
        #expect(IPAddress("2001:db8:::1") == nil)
        #expect(IPAddress("") == nil)
    }

    @Test func flowKeyIsDirectionIndependent() {
        let client = endpoint("192.0.2.10", 40000)
        let server = endpoint("192.0.2.2", 25)
        let forward = FlowKey(client, server)
        let backward = FlowKey(server, client)
        #expect(forward == backward)
        #expect(forward.hashValue == backward.hashValue)
        // 192.0.2.2 < 192.0.2.10 numerically (not as strings).
        #expect(forward.lower == server)
        #expect(forward.isForward(from: server))
        #expect(!forward.isForward(from: client))
        // Same addresses, different ports: ordered by port.
        let a = endpoint("2001:db8::1", 80)
        let b = endpoint("2001:db8::1", 25)
        #expect(FlowKey(a, b).lower == b)
        // A different connection is a different key.
        #expect(FlowKey(client, server) != FlowKey(endpoint("192.0.2.10", 40001), server))
        var table: [FlowKey: Int] = [:]
        table[forward, default: 0] += 1
        table[backward, default: 0] += 1
        #expect(table.count == 1 && table[forward] == 2)
        // IPv4 sorts before IPv6.
        #expect(FlowKey(a, client).lower == client)
    }

    @Test func sequenceNumbersWrap() {
        #expect(seqLessThan(1, 2))
        #expect(!seqLessThan(2, 1))
        #expect(!seqLessThan(5, 5))
        #expect(seqLessOrEqual(5, 5))
        // Across the wrap: 0xFFFF_FFF0 is before 0x10.
        #expect(seqLessThan(0xFFFF_FFF0, 0x10))
        #expect(!seqLessThan(0x10, 0xFFFF_FFF0))
        #expect(seqDistance(from: 0xFFFF_FFF0, to: 0x10) == 32)
        #expect(seqDistance(from: 0x10, to: 0xFFFF_FFF0) == -32)
        #expect(SequenceNumber(0xFFFF_FFFF) + 2 == SequenceNumber(1))
        #expect(SequenceNumber(0xFFFF_FFFF) < SequenceNumber(1))
        #expect(SequenceNumber(100).distance(to: SequenceNumber(40)) == -60)
        // Half the space away: the comparison is antisymmetric except at exactly 2^31.
        #expect(seqLessThan(0, 0x7FFF_FFFF))
        #expect(!seqLessThan(0, 0x8000_0001))
    }
}
