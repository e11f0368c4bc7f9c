@testable import Analysis
import Testing
import Wire

@Suite struct StatisticsTests {
    /// Values from scipy 1.x `fisher_exact(table)[1]`; [[3,1],[1,3]] also by hand: 34/70.
    @Test(arguments: [
        (12, 0, 0, 340, 1.6001354710778902e-22),
        (3, 1, 1, 3, 0.48571428571428565),
        (1, 9, 11, 3, 0.0027594561852200836),
        (4, 0, 0, 0, 1.0),
        (2, 3, 5, 40, 0.13795427514206426),
        (0, 5, 5, 0, 0.007936507936507938),
        (7, 12, 3, 200, 1.0851753318946885e-06),
    ])
    func fisherMatchesScipy(a: Int, b: Int, c: Int, d: Int, expected: Double) {
        let p = FisherExact.twoSidedP(a, b, c, d)
        #expect(abs(p - expected) <= expected * 1e-9)
    }

    @Test func sentenceForTheKBPattern() {
        let association = Association(splitUnanswered: 12, splitAnswered: 0, unsplitUnanswered: 0, unsplitAnswered: 340)
        #expect(association.sentence == "12 of 12 split terminators went unanswered, 0 of 340 unsplit ones: split terminators are being dropped.")
        #expect(association.splitsDropped)
    }

    @Test func sentenceWhenSplitsAreAnswered() {
        let association = Association(splitUnanswered: 0, splitAnswered: 5, unsplitUnanswered: 1, unsplitAnswered: 300)
        #expect(association.sentence.hasSuffix("split terminators are answered normally."))
        #expect(!association.splitsDropped)
    }

    @Test func noLinkWhenBothGoUnanswered() {
        let association = Association(splitUnanswered: 3, splitAnswered: 1, unsplitUnanswered: 1, unsplitAnswered: 3)
        #expect(association.sentence.hasSuffix("no clear link between split terminators and missing replies (p = 0.486)."))
    }

    /// corelight/community-id-spec baseline_deflt.json vectors (seed 0), both directions.
    @Test func communityIDVectors() {
        let a = Endpoint(address: .v4(0x80E8_6E78), port: 34855)  // 128.232.110.120
        let b = Endpoint(address: .v4(0x4223_FACC), port: 80)  // 66.35.250.204
        #expect(CommunityID.v1(a, b) == "1:LQU9qZlK+B5F3KDmev6m5PMibrg=")
        #expect(CommunityID.v1(b, a) == "1:LQU9qZlK+B5F3KDmev6m5PMibrg=")
        let c = Endpoint(address: .v6(high: 0x2001_0470_E5BF_DEAD, low: 0x4957_2174_E82C_4887), port: 63943)
        let d = Endpoint(address: .v6(high: 0x2607_F8B0_400C_0C03, low: 0x0000_0000_0000_001A), port: 25)
        #expect(CommunityID.v1(c, d) == "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=")
        #expect(CommunityID.v1(d, c) == "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=")
        let e = Endpoint(address: .v4(0xC0A8_0134), port: 54585)  // 192.168.1.52
        let f = Endpoint(address: .v4(0x0808_0808), port: 53)
        #expect(CommunityID.v1(e, f, proto: 17) == "1:d/FP5EW3wiY1vCndhwleRRKHowQ=")
    }

    @Test func addressText() {
        #expect(IPAddress.v4(0xC000_020A).description == "192.0.2.10")
        #expect(IPAddress.v6(high: 0x2001_0DB8_0000_0000, low: 0x0000_0000_0000_0001).description == "2001:db8::1")
        #expect(IPAddress.v6(high: 0x2001_0DB8_0000_0001, low: 0x0000_0000_0001_0000).description == "2001:db8:0:1::1:0")
        #expect(IPAddress.v6(high: 0, low: 0).description == "::")
        #expect(IPAddress.v6(high: 0x2001_0DB8_0001_0001, low: 0x0001_0001_0001_0001).description == "2001:db8:1:1:1:1:1:1")
    }

    @Test func timeText() {
        #expect(TimeText.seconds(1_700_000_000_123_456_789) == "1700000000.123457")
        #expect(TimeText.seconds(45_000_000_000) == "45.000000")
        #expect(TimeText.duration(15_000_000_000) == "15.0 s")
        #expect(TimeText.duration(200_000) == "200 µs")
        #expect(TimeText.utc(1_700_000_000_000_000_000) == "2023-11-14 22:13:20.000000 UTC")
    }

    @Test func wiresharkFilters() {
        let filter = WiresharkFilter.flow(client: EndpointRecord(ip: "192.0.2.10", port: 41234),
                                          server: EndpointRecord(ip: "198.51.100.25", port: 25), firstFrame: 4, lastFrame: 40)
        #expect(filter == "ip.addr==192.0.2.10 && tcp.port==41234 && ip.addr==198.51.100.25 && tcp.port==25 && frame.number >= 4 && frame.number <= 40")
        let v6 = WiresharkFilter.flow(client: EndpointRecord(ip: "2001:db8::1", port: 5000), server: EndpointRecord(ip: "2001:db8::2", port: 587),
                                      firstFrame: 1, lastFrame: 2)
        #expect(v6.hasPrefix("ipv6.addr==2001:db8::1 && tcp.port==5000 && ipv6.addr==2001:db8::2"))
        #expect(WiresharkFilter.frames([19, 20]) == "frame.number in {19 20}")
    }
}
