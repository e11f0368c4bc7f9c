@testable import SMTP
import Testing

/// Stored text and reply lines are read from where their bytes lie (`storedBytes`, found before
/// the reader is called): each text and line must be exactly its own bytes, wherever it starts
/// in its store, next to other texts and lines.
@Suite struct S9StoredBytesTests {
    static func text(_ string: String, in arena: inout TextArena) -> SMTPText {
        Array(string.utf8).withUnsafeBytes { arena.text($0) }
    }

    static func lines(_ texts: [String], in arena: inout TextArena) -> ReplyLines {
        var lines: ReplyLines?
        for text in texts { lines = Array(text.utf8).withUnsafeBytes { arena.appending(line: $0, to: lines) } }
        return lines ?? ReplyLines([])
    }

    @Test func storedTextsReadAsTheirOwnBytesAtAnyStart() {
        var arena = TextArena(initialCapacity: 256)
        let words = ["MAIL", "FROM:<a@example.net>", "", "x", "RCPT TO:<b@example.org> NOTIFY=NEVER"]
        let texts = words.map { Self.text($0, in: &arena) }
        for (text, word) in zip(texts, words) {
            // The stored form (not a String one): what the bytes path reads.
            guard case .stored = text.storage else {
                Issue.record("\(word) was not stored")
                continue
            }
            #expect(text.withBytes { Array($0) } == Array(word.utf8))
            #expect(text.string == word)
        }
        // A String text reads the same way.
        #expect(SMTPText("250 OK").withBytes { Array($0) } == Array("250 OK".utf8))
    }

    @Test func copiedTextIsItsOwnBytesAfterTheSourceIsOverwritten() {
        var source = TextArena(initialCapacity: 64)
        var records = TextArena(initialCapacity: 16, maxCapacity: 64)
        _ = Self.text("first text, not copied", in: &source)
        var original: SMTPText? = Self.text("<id@example.org>", in: &source)
        let first = records.copy(Self.text("ab", in: &source))
        let copied = records.copy(original ?? SMTPText(""))
        original = nil
        source = TextArena(initialCapacity: 64)
        _ = Self.text("overwritten overwritten overwritten", in: &source)
        #expect(first.string == "ab")
        #expect(copied.string == "<id@example.org>")
        #expect(copied.withBytes { Array($0) } == Array("<id@example.org>".utf8))
    }

    @Test func textReadInPlaceIsItsBytesOrNilWithoutOne() {
        var arena = TextArena(initialCapacity: 64)
        _ = Self.text("before", in: &arena)
        var fields: [SMTPText?] = [Self.text("<m1@example.org>", in: &arena), nil, SMTPText("b@example.net"), Self.text("", in: &arena)]
        let expected: [[UInt8]?] = [Array("<m1@example.org>".utf8), nil, Array("b@example.net".utf8), []]
        fields.withUnsafeBufferPointer { (fields: UnsafeBufferPointer<SMTPText?>) -> Void in
            guard let first = fields.baseAddress else {
                Issue.record("no storage")
                return
            }
            for index in fields.indices {
                #expect(SMTPText.withBytes(of: first + index) { Array($0) } == expected[index])
            }
        }
        fields.removeAll()
    }

    @Test func storedLinesAreEachLineInOrderAtAnyStart() {
        var arena = TextArena(initialCapacity: 256)
        // Lines of a first list come before the second in the store.
        _ = Self.lines(["250-mx.example.net", "250 OK"], in: &arena)
        let expected = ["mx.example.net Hello", "", "SIZE 10240000", "8BITMIME"]
        let lines = Self.lines(expected, in: &arena)
        var seen: [String] = []
        lines.forEachLine { seen.append(String(decoding: $0, as: UTF8.self)) }
        #expect(seen == expected)
        #expect(lines.strings == expected)
        // Stopping early stops after the line that said so.
        var visited = 0
        lines.forEachLine(while: { _ in
            visited += 1
            return visited < 2
        })
        #expect(visited == 2)
        // First bytes of non-empty lines: m, S, 8 (the empty line has none).
        #expect(lines.someLineStarts(where: { $0 == UInt8(ascii: "S") }))
        #expect(lines.someLineStarts(where: { $0 == UInt8(ascii: "8") }))
        #expect(!lines.someLineStarts(where: { $0 == UInt8(ascii: "H") }))
        #expect(!lines.someLineStarts(where: { $0 == UInt8(ascii: "2") }))
        #expect(!Self.lines([], in: &arena).someLineStarts(where: { _ in true }))
        // Strings read the same way.
        let strings = ReplyLines(expected)
        var fromStrings: [String] = []
        strings.forEachLine { fromStrings.append(String(decoding: $0, as: UTF8.self)) }
        #expect(fromStrings == expected)
        #expect(strings.someLineStarts(where: { $0 == UInt8(ascii: "S") }))
        #expect(!strings.someLineStarts(where: { $0 == UInt8(ascii: "H") }))
    }
}
