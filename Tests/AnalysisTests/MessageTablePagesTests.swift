@testable import Analysis
import Testing

/// ``SlotPages`` (the table's slots in fixed pages) against a plain array, and a table whose
/// slots span several pages against ``Correlator`` over the same records.
@Suite struct MessageTablePagesTests {
    @Test func pagesBehaveLikeAnArray() {
        var pages = SlotPages()
        var model: [MessageTable.Slot] = []
        let count = SlotPages.pageSize * 2 + 17
        for n in 0..<count {
            let slot = MessageTable.Slot(hash: UInt32(truncatingIfNeeded: UInt64(n) &* 0x9E37_79B9_7F4A_7C15), offset: UInt32(n))
            pages.append(slot)
            model.append(slot)
        }
        for n in stride(from: 0, to: count, by: 97) {
            pages[n].offset = ~UInt32(n)
            model[n].offset = ~UInt32(n)
            pages[n].hash = 7
            model[n].hash = 7
        }
        #expect(pages.count == count && pages.indices == model.indices)
        #expect(pages.capacity == SlotPages.pageSize * 3)
        for n in model.indices {
            #expect(pages[n].hash == model[n].hash && pages[n].offset == model[n].offset)
        }
    }

    /// 10,000 messages seen once and 60 seen 2 to 4 times, noted in scrambled order: slots on
    /// three pages, the answer still ``Correlator``'s.
    @Test func manyPagesGiveCorrelatorsMessages() {
        var records: [TransactionRecord] = []
        var flow = 0
        for n in 0..<10_060 {
            let times = n < 10_000 ? 1 : 2 + n % 3
            for attempt in 0..<times {
                let start = MessageTableTests.t0 + Int64(n) * 1_000_000_000 + Int64(attempt) * 61_000_000_000
                records.append(MessageTableTests.record(
                    flow: flow, start: start, id: n % 2 == 0 ? "<p\(n)@example.org>" : nil,
                    fingerprint: String(UInt64(n) | 1 << 62, radix: 16), to: ["r\(n)@example.net"],
                    outcome: attempt == times - 1 ? .accepted : .noReply, diagnosis: attempt == times - 1 ? .ok : .unanswered))
                flow += 1
            }
        }
        var random = MessageTableTests.SplitMix(state: 9)
        var table = MessageTable(windowNanoseconds: MessageTableTests.window, maxMessages: 20_000, maxTransactionsPerMessage: 64)
        for record in records.shuffled(using: &random) { table.note(record) }
        let expected = Correlator.messages(from: records, windowNanoseconds: MessageTableTests.window)
        #expect(expected.count == 60)
        #expect(table.count == 10_060)
        #expect(table.messages() == expected)
        #expect(table.footprint.slots >= 10_060 * MemoryLayout<MessageTable.Slot>.stride)
    }
}
