@testable import Analysis
import Testing

/// ``PageCoding`` and ``RecordArena`` against the bytes they were given, and a table whose
/// arena reaches its page limit against ``Correlator`` over the identities it kept.
@Suite struct MessageTableArenaTests {
    static func roundTrip(_ bytes: [UInt8]) -> (packed: Int, back: [UInt8]?) {
        var packer = PageCoding.Packer()
        let packed = Array(bytes.withUnsafeBufferPointer { packer.pack($0) })
        var back: [UInt8] = [9, 9, 9]  // written over from its start, not appended to
        let size = packed.withUnsafeBufferPointer { PageCoding.unpack($0, into: &back) }
        return (packed.count, size.map { Array(back[..<$0]) })
    }

    @Test func packingGivesBackEveryByte() {
        var random = MessageTableTests.SplitMix(state: 4)
        let noise = (0..<5_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        let text = Array((0..<120).map { "<1.\($0 * 7919).\($0 % 13)@relay\($0 % 9).example.net> judy\($0)@example.com\r\n" }.joined().utf8)
        // Runs longer than 15 + 255 (extra length bytes), a 1-byte distance, a match at the very end.
        let runs = [UInt8](repeating: 0x41, count: 700) + Array("abcd".utf8) + [UInt8](repeating: 0, count: 300) + Array("abcd".utf8)
        let cases: [[UInt8]] = [[], [7], Array("abc".utf8), Array("abcdabcd".utf8), noise, text, runs, noise + text + noise]
        for bytes in cases {
            #expect(Self.roundTrip(bytes).back == bytes)
        }
        // Repetitive text packs to well under half; noise grows by at most a few bytes a 255.
        #expect(Self.roundTrip(text).packed * 2 < text.count)
        #expect(Self.roundTrip(runs).packed < 40)
        #expect(Self.roundTrip(noise).packed <= noise.count + noise.count / 255 + 2)
    }

    @Test func malformedPagesAreRefusedWithoutTrapping() {
        var out: [UInt8] = []
        let bad: [[UInt8]] = [
            [],  // no sequence at all
            [0x50, 1, 2],  // 5 literals announced, 2 present
            [0x10, 65, 0x01, 0x00],  // a match with distance 1 but no final sequence
            [0x10, 65, 0x05, 0x00, 0x00],  // distance 5 with 1 byte written
            [0x10, 65, 0x00, 0x00, 0x00],  // distance 0
            [0xF0, 255, 255],  // literal length never ends
            [0x1F, 65, 0x01, 0x00],  // match length announced as longer, never ends
        ]
        for bytes in bad {
            #expect(bytes.withUnsafeBufferPointer { PageCoding.unpack($0, into: &out) } == nil)
        }
    }

    /// Records of 1 byte to three pages long, read back by offset after many pages were sealed.
    @Test func arenaReadsBackEveryRecord() {
        var arena = RecordArena()
        var random = MessageTableTests.SplitMix(state: 11)
        var written: [(offset: UInt32, body: [UInt8])] = []
        for n in 0..<3_000 {
            let length = n % 500 == 7 ? RecordArena.pageSize * 3 + n : Int.random(in: 0...180, using: &random)
            let words = ["relay", "example", ".net", "@", "<", ">", "judy", "\(n)"]
            var body: [UInt8] = []
            while body.count < length { body += Array(words[Int.random(in: 0..<words.count, using: &random)].utf8) }
            let (offset, size) = arena.append(body)
            #expect(size == body.count + (body.count < 128 ? 1 : body.count < 16_384 ? 2 : 3))
            written.append((offset, body))
        }
        #expect(arena.sealedPages > 10 && arena.packedPages > arena.sealedPages / 2)
        let raw = written.reduce(0) { $0 + $1.body.count }
        #expect(arena.capacity < raw * 3 / 4)
        // Read in an order that hops between pages.
        var order = Array(written.indices)
        order.shuffle(using: &random)
        for i in order {
            let body = arena.read(at: written[i].offset) { reader -> [UInt8] in
                let length = reader.varint()
                return Array(reader.take(length))
            }
            #expect(body == written[i].body)
            let record = arena.recordBytes(at: written[i].offset)
            #expect(record.count == arena.recordSize(at: written[i].offset))
            #expect(Array(record.suffix(written[i].body.count)) == written[i].body)
        }
    }

    /// A table whose arena may hold 8 pages: noting 4,000 identities forgets the oldest to
    /// make room (counted as evictions), and what it reports is ``Correlator``'s answer over
    /// the identities it still holds.
    @Test func pageLimitForgetsTheOldestIdentities() {
        var table = MessageTable(windowNanoseconds: MessageTableTests.window, maxMessages: 100_000, maxTransactionsPerMessage: 64,
                                 maxPages: 8)
        var records: [TransactionRecord] = []
        for n in 0..<4_000 {
            let start = MessageTableTests.t0 + Int64(n) * 1_000_000_000
            records.append(MessageTableTests.record(flow: n, start: start, id: "<n\(n).\(n * 7919)@relay\(n % 7).example.org>",
                                                    to: ["r\(n)@example.net"], outcome: .noReply, diagnosis: .unanswered))
        }
        // The last 30 come back 61 s later and are accepted.
        for n in 3_970..<4_000 {
            records.append(MessageTableTests.record(flow: 10_000 + n, start: records[n].startNanoseconds + 61_000_000_000,
                                                    id: records[n].messageID, to: ["r\(n)@example.net"]))
        }
        for record in records { table.note(record) }
        #expect(table.evictedMessages > 0)
        #expect(table.count + table.evictedMessages == 4_000)
        #expect(table.count > 100)
        // Noted once each, in order: the table holds the latest `count` identities.
        let kept = Set(records[(4_000 - table.count)..<4_000].compactMap(\.messageID))
        let expected = Correlator.messages(from: records.filter { kept.contains($0.messageID ?? "") },
                                           windowNanoseconds: MessageTableTests.window)
        #expect(expected.count == 30)
        #expect(table.messages() == expected)
        #expect(table.footprint.arena <= 8 * RecordArena.pageSize)
    }
}
