import SMTP
import TestSupport
import Testing
import Wire

@testable import Analysis

/// The close path's fast ways of writing a flow line, each against a path that does not
/// share its code: kept text and recipient lines copied in one pass (``JSONByteWriter/keyedText(_:)``,
/// ``JSONByteWriter/keyedLines(_:)``), IPv4 endpoints and the Wireshark filter written in one
/// go, and the cached hundreds of seconds in times.
@Suite struct S8CloseFastPathTests {
    // MARK: kept text

    /// Text kept in a store, as the tracker keeps it (not a `String`).
    static func stored(_ bytes: [UInt8], in arena: inout TextArena) -> SMTPText {
        bytes.withUnsafeBytes { arena.text($0) }
    }

    /// `"k":` and the string the bytes decode to, escaped by hand.
    static func expectedKeyed(_ bytes: [UInt8]) -> String {
        "{\"k\":" + JSONWriterEdgeTests.escapedByHand(String(decoding: bytes, as: UTF8.self)) + "}"
    }

    static func keyed(_ text: SMTPText?) -> String {
        JSONWriterEdgeTests.written { writer in
            writer.beginObject()
            writer.key("k")
            writer.keyedText(text)
            writer.endObject()
        }
    }

    /// Each byte class at each position of texts from 0 to 25 bytes (the one-pass copy works
    /// 8 bytes at a time, the last 8 overlapping), kept in a store and as a `String`.
    @Test func keyedTextEveryClassAtEveryPosition() {
        var arena = TextArena(initialCapacity: 64, maxCapacity: 4096)
        for length in 0...25 {
            let plain = [UInt8](repeating: UInt8(ascii: "a"), count: length)
            for piece in JSONPlainASCIIFastPathTests.classes {
                for position in 0...length {
                    var bytes = plain
                    bytes.insert(contentsOf: piece, at: position)
                    let expected = Self.expectedKeyed(bytes)
                    #expect(Self.keyed(Self.stored(bytes, in: &arena)) == expected, "\(piece) at \(position) of \(length)")
                    #expect(Self.keyed(SMTPText(String(decoding: bytes, as: UTF8.self))) == expected)
                }
            }
            #expect(Self.keyed(Self.stored(plain, in: &arena)) == Self.expectedKeyed(plain))
        }
        #expect(Self.keyed(nil) == "{\"k\":null}")
    }

    /// A long text grows the buffer from inside the one-pass copy (the writer starts at 64 bytes).
    @Test func keyedTextGrowsTheBuffer() {
        var arena = TextArena(initialCapacity: 64, maxCapacity: 1 << 16)
        for length in [56, 57, 61, 62, 63, 64, 65, 200, 5000] {
            let bytes = (0..<length).map { UInt8(ascii: "a") + UInt8($0 % 26) }
            #expect(Self.keyed(Self.stored(bytes, in: &arena)) == Self.expectedKeyed(bytes), "\(length)")
        }
    }

    /// Recipient lists whose lines take either path, in every order: commas come from the
    /// line's own path (a fast-path miss writes nothing, the general path then separates).
    @Test func keyedLinesMixPaths() {
        let lines: [[UInt8]] = [
            Array("a@example.com".utf8), [], Array("x\"y@example.com".utf8), [0xC3, 0xA9, 0x40, 0x78],
            [0xFF, 0x61], Array("tab\there".utf8), Array("short".utf8), Array("0123456789abcdef".utf8),
        ]
        var arena = TextArena(initialCapacity: 64, maxCapacity: 1 << 16)
        for first in lines.indices {
            for second in lines.indices {
                for third in lines.indices {
                    let chosen = [lines[first], lines[second], lines[third]]
                    for count in 0...3 {
                        var list: ReplyLines?
                        for line in chosen.prefix(count) { list = line.withUnsafeBytes { arena.appending(line: $0, to: list) } }
                        let kept = list ?? ReplyLines([])
                        let expected = "{\"k\":[" + chosen.prefix(count).map {
                            JSONWriterEdgeTests.escapedByHand(String(decoding: $0, as: UTF8.self))
                        }.joined(separator: ",") + "]}"
                        let written = JSONWriterEdgeTests.written { writer in
                            writer.beginObject()
                            writer.key("k")
                            writer.keyedLines(kept)
                            writer.endObject()
                        }
                        #expect(written == expected, "\(first) \(second) \(third) × \(count)")
                        let asStrings = JSONWriterEdgeTests.written { writer in
                            writer.beginObject()
                            writer.key("k")
                            writer.keyedLines(ReplyLines(kept.strings))
                            writer.endObject()
                        }
                        #expect(asStrings == expected)
                    }
                }
            }
        }
    }

    // MARK: endpoints and the Wireshark filter

    static func flow(client: EndpointRecord, server: EndpointRecord, firstFrame: UInt64 = 1, lastFrame: UInt64 = 2) -> FlowRecord {
        FlowRecord(
            capture: 0, flow: 3, communityID: "1:abc=", client: client, server: server, startNanoseconds: 0,
            endNanoseconds: 1, firstFrame: firstFrame, lastFrame: lastFrame, packets: 4, endReason: .fin, closedBy: nil,
            banner: nil, tls: false, midstream: false, transactions: [], findings: [])
    }

    /// An IPv4 flow written by hand (neither encoder): address text, ports at their extremes,
    /// and the filter with frame numbers of every width.
    @Test func ipv4FlowByHand() {
        let client = EndpointRecord(Endpoint(address: .v4(0xC000_0201), port: 0))  // 192.0.2.1
        let server = EndpointRecord(Endpoint(address: .v4(0xFFFF_FFFF), port: 65535))
        let line = JSONLinesEncoder.encode(Self.flow(client: client, server: server, firstFrame: 7, lastFrame: .max))
        #expect(line.contains(#","client":{"ip":"192.0.2.1","port":0},"server":{"ip":"255.255.255.255","port":65535},"#))
        #expect(line.hasSuffix(#","wireshark_filter":"ip.addr==192.0.2.1 && tcp.port==0 && ip.addr==255.255.255.255 && tcp.port==65535 && frame.number >= 7 && frame.number <= 18446744073709551615"}"#))
    }

    /// Every kind of endpoint (IPv4 and IPv6 as captured, text as given) against the
    /// reference encoder, which prints `ip` and builds the filter with `WiresharkFilter`.
    @Test func endpointKindsAgainstReference() {
        let endpoints: [EndpointRecord] = [
            EndpointRecord(Endpoint(address: .v4(0), port: 25)),
            EndpointRecord(Endpoint(address: .v4(0x0A00_0A09), port: 587)),  // 10.0.10.9: zeros inside octets
            EndpointRecord(Endpoint(address: .v4(0xCB00_7164), port: 65535)),  // 203.0.113.100
            EndpointRecord(Endpoint(address: .v6(high: 0x2001_0DB8_0000_0000, low: 1), port: 25)),
            EndpointRecord(Endpoint(address: .v6(high: 0, low: 0xFFFF_C000_0201), port: 2525)),  // ::ffff:192.0.2.1
            EndpointRecord(ip: "192.0.2.7", port: 1),
            EndpointRecord(ip: "a\"b\\c", port: 2),
            EndpointRecord(ip: "fe80::1%eth0", port: 3),
            EndpointRecord(ip: "", port: 4),
            EndpointRecord(ip: "é::", port: 5),
        ]
        for client in endpoints {
            for server in endpoints {
                for frames in [(UInt64(0), UInt64(0)), (9, 10_000_000_000), (.max, .max)] {
                    let flow = Self.flow(client: client, server: server, firstFrame: frames.0, lastFrame: frames.1)
                    #expect(JSONLinesEncoder.encode(flow) == JSONReferenceEncoder.encode(flow), "\(client.ip) \(server.ip)")
                }
            }
        }
    }

    // MARK: times

    /// Times in one writer, in an order that keeps and breaks the cached hundreds of seconds
    /// (same hundred, next hundred, back, a carry from rounding, durations, negatives,
    /// extremes), each as ``TimeText/seconds(_:)`` prints it.
    @Test func secondsAcrossHundreds() {
        let base: Int64 = 1_704_067_200_000_000_000
        let times: [Int64] = [
            base, base + 1_000_000_000, base + 99_000_000_000, base + 100_000_000_000, base + 7_123_456_789,
            base - 1, base - 100_000_000_000, base - 1_000_000_000, base - 500, base - 501, base,
            500_000_000, 99_999_999_999, 99_999_999_500, 100_000_000_000, 150_000_000_000, 1_000_000_000_000,
            -5_000_000_000, -150_000_000_000, -base, base, .max, .min, .min + 1, 0, base + 100_000_000_000,
            999_999_999_999_999_999, 1_000_000_000_000_000_000, base,
        ]
        let written = JSONWriterEdgeTests.written { writer in
            writer.beginArray()
            for time in times { writer.seconds(time) }
            writer.endArray()
        }
        #expect(written == "[" + times.map(TimeText.seconds).joined(separator: ",") + "]")
        // And each alone in a fresh writer.
        for time in times {
            #expect(JSONWriterEdgeTests.written { $0.seconds(time) } == TimeText.seconds(time), "\(time)")
        }
    }

    // MARK: finding messages and frames

    /// Durations in finding messages are written as bytes: each as ``TimeText/duration(_:)``
    /// (the `String` it made before), at every unit's edges and rounding points.
    @Test func durationBytesEqualTimeText() {
        var values: [Int64] = [0, 1, 499, 500, 999, 1_000, 1_499, 1_500, .max, .min, .min + 1, -1, -500, -999_500]
        for edge: Int64 in [1_000, 1_000_000, 1_000_000_000, 1_000_000_000_000] {
            for delta: Int64 in [-50_001, -50_000, -49_999, -501, -500, -499, -1, 0, 1, 499, 500, 49_999, 50_000] {
                values.append(edge + delta)
                values.append(-(edge + delta))
            }
        }
        var random = SplitMix64(seed: 8)
        for _ in 0..<2000 { values.append(Int64(bitPattern: random.next()) >> Int64(random.next() % 64)) }
        var arena = TextArena(initialCapacity: 64, maxCapacity: 1 << 16)
        for value in values {
            let written = MessageWriter.text(into: &arena) { $0.appendDuration(value) }
            #expect(written.string == TimeText.duration(value), "\(value)")
        }
    }

    /// A finding's frames: ascending and distinct, at most the limit, however they were
    /// reported (the first report's list is kept whole when it already is that).
    @Test func findingFramesAscendingDistinctLimited() {
        let lists: [[UInt64]] = [
            [], [5], [1, 2, 3], [3, 2, 1], [1, 1, 2], [2, 2], [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6, 7, 8],
            [8, 7, 6, 5, 4, 3, 2, 1], [0, .max], [.max, 0], [4, 9, 9, 12],
        ]
        for limit in [1, 2, 3, 6, 7, 20] {
            for first in lists {
                for second in lists {
                    var set = FindingSet(maxFrames: limit)
                    set.add(.eodSplit, frames: first, message: "m")
                    var expected = Array(Set(first)).sorted().prefix(limit)
                    #expect(set.all.first.map { Array($0.frameList) } == Array(expected), "\(first) limit \(limit)")
                    set.add(.eodSplit, frames: second, message: "m")
                    expected = Array(Set(Array(expected) + second)).sorted().prefix(limit)
                    #expect(set.all.first.map { Array($0.frameList) } == Array(expected), "\(first) + \(second) limit \(limit)")
                }
            }
        }
    }

    // MARK: Community ID

    /// IPv4 tuples are ordered by the addresses' numbers (their big-endian bytes): the spec's
    /// hashlib value for equal addresses taken the other way round (the port breaks the tie),
    /// and either order of addresses that differ in each byte gives one ID.
    @Test func communityIDOrdersIPv4ByNumber() {
        let low = Endpoint(address: .v4(0xCB00_7105), port: 1)  // 203.0.113.5
        let high = Endpoint(address: .v4(0xCB00_7105), port: 2)
        #expect(CommunityID.v1(high, low) == "1:xNwFKf0BiMqvl9Cl7Bclh0r9IHQ=")
        var arena = TextArena(initialCapacity: 64, maxCapacity: 1024)
        #expect(CommunityID.v1(high, low, into: &arena).string == "1:xNwFKf0BiMqvl9Cl7Bclh0r9IHQ=")
        let pairs: [(UInt32, UInt32)] = [
            (0x0A00_0001, 0x09FF_FFFF), (0xC000_0201, 0xC000_0202), (0xC000_0201, 0xC001_0201), (0x0000_0000, 0xFFFF_FFFF),
            (0x8000_0000, 0x7FFF_FFFF), (0xC633_6407, 0xC000_020A),
        ]
        for (x, y) in pairs {
            let a = Endpoint(address: .v4(x), port: 25)
            let b = Endpoint(address: .v4(y), port: 25)
            #expect(CommunityID.v1(a, b) == CommunityID.v1(b, a), "\(x) \(y)")
            #expect(CommunityID.v1(a, b, into: &arena).string == CommunityID.v1(b, a))
        }
    }

    // MARK: contract words

    /// Severities are written as literals; finding codes copied as plain ASCII.
    @Test func severityLiteralsAndCodeNames() {
        for severity in Severity.allCases { #expect(severity.jsonText.description == severity.rawValue) }
        for code in FindingCode.allCases {
            var name = code.rawValue
            #expect(name.withUTF8 { JSONByteWriter.isPlainASCII($0) }, "\(code)")
        }
    }

    /// The schema is written as a literal: it must be the contract's.
    @Test func schemaLiteral() {
        let line = JSONLinesEncoder.encode(Self.flow(client: EndpointRecord(ip: "a", port: 1), server: EndpointRecord(ip: "b", port: 2)))
        #expect(line.hasPrefix("{\"type\":\"flow\",\"schema\":\"" + SMTPScopeVersion.schema + "\","))
    }
}
