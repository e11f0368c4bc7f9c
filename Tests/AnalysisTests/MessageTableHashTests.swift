import Testing

@testable import Analysis

/// ``MessageTable/add(_:)`` hashes the identity `"id:" + Message-ID` from the Message-ID's
/// bytes; it must file entries exactly where ``MessageTable/note(_:)`` (which hashes the
/// identity string) does.
@Suite struct MessageTableHashTests {
    @Test func bytesHashAsTheIdentityString() {
        var random = MessageTableTests.SplitMix(state: 17)
        var ids = ["<1.200.418290383@relay165.example.net>", "x", "<>", "\u{0}", "\u{7F}", "ab\u{1F}cd"]
        for length in 1...70 {
            for _ in 0..<5 {
                ids.append(String(decoding: (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next() % 128) }, as: UTF8.self))
            }
        }
        for id in ids {
            let fromBytes = Array(id.utf8).withUnsafeBytes { MessageTable.asciiMessageIDHash($0) }
            #expect(fromBytes == MessageTable.hash("id:" + id), "\(Array(id.utf8))")
        }
        // Empty or not ASCII: decided by the string path.
        #expect([UInt8]().withUnsafeBytes { MessageTable.asciiMessageIDHash($0) } == nil)
        #expect(Array("<é@example.net>".utf8).withUnsafeBytes { MessageTable.asciiMessageIDHash($0) } == nil)
        #expect([UInt8(0x3C), 0xFF, 0x3E].withUnsafeBytes { MessageTable.asciiMessageIDHash($0) } == nil)
    }

    @Test func addedAsNoted() {
        for seed: UInt64 in [1, 2, 3] {
            let traffic = MessageTableTests.traffic(seed: seed)
            var noted = MessageTable(windowNanoseconds: MessageTableTests.window, maxMessages: 10_000, maxTransactionsPerMessage: 64)
            var added = noted
            for record in traffic.shuffled {
                noted.note(record)
                added.add(record)
            }
            #expect(added.count == noted.count)
            #expect(added.messages() == noted.messages())
            #expect(added.messages().count > 0)
            // Looked up by the identity string: filed under the string's hash.
            for message in added.messages() {
                guard let id = message.messageID else { continue }
                #expect(added.message(identity: "id:" + id) == noted.message(identity: "id:" + id))
                #expect(added.message(identity: "id:" + id) != nil)
            }
        }
    }

    /// Limits reached the same way: a small table evicts the same identities.
    @Test func addedAsNotedWithinLimits() {
        let traffic = MessageTableTests.traffic(seed: 9)
        var noted = MessageTable(windowNanoseconds: MessageTableTests.window, maxMessages: 50, maxTransactionsPerMessage: 3)
        var added = noted
        for record in traffic.shuffled {
            noted.note(record)
            added.add(record)
        }
        #expect(added.evictedMessages == noted.evictedMessages && noted.evictedMessages > 0)
        #expect(added.droppedTransactions == noted.droppedTransactions)
        #expect(added.messages() == noted.messages())
    }
}
