@testable import Analysis
import SMTP
import Testing
import Wire

/// The pieces that let a record be made without strings: finding frames kept in place and
/// merged, finding messages written as bytes, an IPv6 address written as text where it is
/// printed, a fingerprint identity built in place, kept text written to JSON from its bytes.
@Suite struct RecordBytesTests {
    @Test func findingFramesMergeSortedDistinctAndCapped() {
        var texts = TextArena(initialCapacity: 64, maxCapacity: 1024)
        var set = FindingSet(maxFrames: 5)
        set.add(.gap, frames: FrameList([9, 3, 3, 12]), texts: &texts) { $0.append("first" as StaticString) }
        set.add(.gap, frames: FrameList([1, 7, 20]), texts: &texts) { $0.append("second" as StaticString) }
        set.add(.reset, frames: FrameList([4, 4]), texts: &texts) { $0.append("reset" as StaticString) }
        // {1, 3, 7, 9, 12, 20} capped at five; the same evidence again is no new occurrence.
        set.add(.gap, frames: FrameList([3, 9]), texts: &texts) { $0.append("third" as StaticString) }
        #expect(set.all.map(\.code) == [.gap, .reset])
        #expect(set.all.map(\.frames) == [[1, 3, 7, 9, 12], [4]])
        #expect(set.all.map(\.message) == ["first (2 times in this flow)", "reset"])

        // More than six frames leave the in-place list for an array and keep their order.
        var wide = FindingSet(maxFrames: 32)
        wide.add(.gap, frames: FrameList([40, 8, 30, 2, 16, 4, 10, 1]), texts: &texts) { $0.append("wide" as StaticString) }
        #expect(wide.all.first?.frames == [1, 2, 4, 8, 10, 16, 30, 40])
        var list = FrameList([1, 2, 3, 4, 5, 6, 7, 8])
        list.keepFirst(3)
        #expect(list == FrameList([1, 2, 3]))
        #expect(Array(list) == [1, 2, 3])
    }

    @Test func splitPositionsComeBackAsGiven() {
        #expect(Array(SplitPositions([1, 3])) == [1, 3])
        #expect(Array(SplitPositions([4])) == [4])
        #expect(Array(SplitPositions()) == [])
        #expect(SplitPositions().isEmpty && !SplitPositions([0]).isEmpty)
        // Not ascending, repeated or past the bits: kept as the list it is.
        #expect(Array(SplitPositions([3, 1])) == [3, 1])
        #expect(Array(SplitPositions([2, 2])) == [2, 2])
        #expect(Array(SplitPositions([1, 70, 2])) == [1, 70, 2])
        #expect(Array(SplitPositions([-1])) == [-1])
        #expect(SplitPositions([1, 2]) == SplitPositions([1, 2]))
        #expect(SplitPositions([1, 2]) != SplitPositions([2, 1]))
        var record = TerminatorRecord(seen: true, splitAfter: [2, 4])
        #expect(record.splitAfter == [2, 4])
        #expect(record.isSplit)
        record.splitAfter = []
        #expect(!record.isSplit)
    }

    @Test func messageNumbersAreWrittenAsStringsWriteThem() {
        var texts = TextArena(initialCapacity: 16, maxCapacity: 1024)
        let text = MessageWriter.text(into: &texts) { m in
            m.append(UInt64(0))
            m.append(" " as StaticString)
            m.append(UInt64.max)
            m.append(" " as StaticString)
            m.append(Int.min)
            m.append(" " as StaticString)
            m.append(-7)
            m.append(" " as StaticString)
            m.appendDuration(1_500_000)
            m.append(" " as StaticString)
            m.append(FrameList([10, 11, 12]), separator: "/")
        }
        #expect(text.string == "0 18446744073709551615 -9223372036854775808 -7 1.5 ms 10/11/12")
        // Past the writer's 512 bytes the message goes on whole.
        let long = MessageWriter.text(into: &texts) { m in
            for _ in 0..<100 { m.append("0123456789" as StaticString) }
        }
        #expect(long.string == String(repeating: "0123456789", count: 100))
    }

    @Test func wellFormedUTF8IsToldFromBytesThatDecodingRepairs() {
        func valid(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBufferPointer { JSONByteWriter.isValidUTF8($0) } }
        #expect(valid(Array("µs é € 😀".utf8)))
        #expect(valid([]))
        #expect(!valid([0xC0, 0x80]))  // overlong NUL
        #expect(!valid([0xE0, 0x80, 0x80]))  // overlong
        #expect(!valid([0xED, 0xA0, 0x80]))  // a surrogate
        #expect(!valid([0xF4, 0x90, 0x80, 0x80]))  // past U+10FFFF
        #expect(!valid([0xC3]))  // cut short
        #expect(!valid([0x80]))  // a lone continuation
        #expect(valid([0xF4, 0x8F, 0xBF, 0xBF]))  // U+10FFFF
        // Kept text is written as the string it decodes to, valid or repaired.
        var arena = TextArena(initialCapacity: 16, maxCapacity: 64)
        for bytes: [UInt8] in [Array("1.0 µs".utf8), [0x61, 0xC3], [0xED, 0xA0, 0x80]] {
            let text = bytes.withUnsafeBytes { arena.text($0) }
            var fromBytes = JSONByteWriter()
            fromBytes.text(text)
            var fromString = JSONByteWriter()
            fromString.string(String(decoding: bytes, as: UTF8.self))
            #expect(fromBytes.bytes == fromString.bytes)
        }
    }

    @Test func anIPv6EndpointPrintsAndComparesAsItsText() throws {
        let address = try #require(IPAddress("2001:db8::1"))
        let kept = EndpointRecord(Endpoint(address: address, port: 25))
        let typed = EndpointRecord(ip: "2001:db8::1", port: 25)
        #expect(kept.ip == "2001:db8::1")
        #expect(kept == typed)
        #expect(Set([kept, typed]).count == 1)
        #expect(kept != EndpointRecord(ip: "2001:db8::2", port: 25))
        #expect(kept != EndpointRecord(ip: "2001:db8::1", port: 26))
        let long = try #require(IPAddress("2001:db8:1234:5678:9abc:def0:1234:5678"))
        #expect(EndpointRecord(Endpoint(address: long, port: 1)).withIPBytes { Array($0) } == Array("2001:db8:1234:5678:9abc:def0:1234:5678".utf8))
        var writer = JSONByteWriter()
        writer.liveTransaction(TransactionRecord(capture: 0, flow: 0, client: kept, server: typed, index: 0, startNanoseconds: 0,
                                                 outcome: .accepted, diagnosis: .ok))
        let line = String(decoding: writer.bytes, as: UTF8.self)
        #expect(line.contains(#""client":{"ip":"2001:db8::1","port":25}"#))
        #expect(line.contains(#""server":{"ip":"2001:db8::1","port":25}"#))
    }

    @Test func aFingerprintIdentityIsBuiltAsTheStringsWouldBe() {
        var arena = TextArena(initialCapacity: 16, maxCapacity: 1024)
        func text(_ s: String) -> SMTPText { Array(s.utf8).withUnsafeBytes { arena.text($0) } }
        var record = TransactionRecord(capture: 0, flow: 0, client: EndpointRecord(ip: "192.0.2.1", port: 1),
                                       server: EndpointRecord(ip: "192.0.2.2", port: 25), index: 0, startNanoseconds: 0,
                                       outcome: .noReply, diagnosis: .unanswered)
        record.fingerprintText = text("0011223344556677")
        record.mailFromText = text("m@example.org")
        var lines: ReplyLines?
        for rcpt in ["b@example.net", "a@example.net", "b@example.net"] {
            lines = Array(rcpt.utf8).withUnsafeBytes { arena.appending(line: $0, to: lines) }
        }
        record.rcptToList = lines ?? ReplyLines([])
        #expect(Correlator.identity(of: record) == "fp:0011223344556677|m@example.org|a@example.net,b@example.net,b@example.net")
        // No MAIL FROM: an empty path between the bars; no fingerprint: no identity.
        record.mailFromText = nil
        #expect(Correlator.identity(of: record) == "fp:0011223344556677||a@example.net,b@example.net,b@example.net")
        record.fingerprintText = nil
        #expect(Correlator.identity(of: record) == nil)
        // Not ASCII: decided by the strings (the same identity as the string path gives).
        record.fingerprintText = text("0011223344556677")
        record.rcptTo = ["é@example.net", "a@example.net"]
        #expect(Correlator.identity(of: record) == "fp:0011223344556677||a@example.net,é@example.net")
    }
}
