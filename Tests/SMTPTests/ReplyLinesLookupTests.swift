@testable import SMTP
import Testing

/// Finding a line of a reply or recipient list and removing it, on the stored bytes (what a
/// refused RCPT does), against hand-written lists.
@Suite struct ReplyLinesLookupTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func linesAreFoundFirstOrLastAsTheirStringsCompare() {
        var arena = TextArena(initialCapacity: 16, maxCapacity: 256)
        let stored = TextArenaTests.lines(["a@example.net", "b@example.net", "a@example.net"], in: &arena)
        let strings = ReplyLines(["a@example.net", "b@example.net", "a@example.net"])
        for lines in [stored, strings] {
            #expect(Self.bytes("a@example.net").withUnsafeBytes { lines.index(ofLine: $0) } == 0)
            #expect(Self.bytes("a@example.net").withUnsafeBytes { lines.index(ofLine: $0, last: true) } == 2)
            #expect(Self.bytes("b@example.net").withUnsafeBytes { lines.index(ofLine: $0, last: true) } == 1)
            #expect(Self.bytes("A@example.net").withUnsafeBytes { lines.index(ofLine: $0) } == nil)
            #expect(Self.bytes("a@example.ne").withUnsafeBytes { lines.index(ofLine: $0) } == nil)
            #expect(Self.bytes("").withUnsafeBytes { lines.index(ofLine: $0) } == nil)
        }
        // Canonically equivalent text is equal as strings: "Å" as one scalar and as A + ring.
        let decomposed = TextArenaTests.lines(["x@example.net", "A\u{30A}@example.net"], in: &arena)
        #expect(Self.bytes("\u{C5}@example.net").withUnsafeBytes { decomposed.index(ofLine: $0) } == 1)
        #expect(Self.bytes("\u{C5}@example.net") != Self.bytes("A\u{30A}@example.net"))
    }

    @Test func aRemovedLineLeavesTheOthersInOrder() {
        var arena = TextArena(initialCapacity: 16, maxCapacity: 256)
        let lines = TextArenaTests.lines(["one@example.net", "two@example.net", "three@example.net"], in: &arena)
        #expect(arena.removing(line: 1, from: lines).strings == ["one@example.net", "three@example.net"])
        #expect(arena.removing(line: 0, from: lines).strings == ["two@example.net", "three@example.net"])
        #expect(arena.removing(line: 2, from: lines).strings == ["one@example.net", "two@example.net"])
        // The list it was made from reads as before (the arena only appends).
        #expect(lines.strings == ["one@example.net", "two@example.net", "three@example.net"])
        let single = TextArenaTests.lines(["only@example.net"], in: &arena)
        #expect(arena.removing(line: 0, from: single).count == 0)
        #expect(arena.removing(line: 5, from: single).strings == ["only@example.net"])
        #expect(arena.removing(line: 0, from: ReplyLines(["s@example.net", "t@example.net"])).strings == ["t@example.net"])
    }

    @Test func linesComeInByteOrder() {
        var arena = TextArena(initialCapacity: 16, maxCapacity: 1024)
        func ordered(_ lines: ReplyLines) -> [String] {
            var out: [String] = []
            lines.forEachLineInByteOrder { out.append(String(decoding: $0, as: UTF8.self)) }
            return out
        }
        let words = ["pear", "apple", "fig", "apple", "Zebra", "", "applesauce"]
        let expected = ["", "Zebra", "apple", "apple", "applesauce", "fig", "pear"]
        #expect(ordered(TextArenaTests.lines(words, in: &arena)) == expected)
        #expect(ordered(ReplyLines(words)) == expected)
        // More lines than are ordered in place: the same order.
        let many = (0..<20).map { "r\(19 - $0)" }
        #expect(ordered(TextArenaTests.lines(many, in: &arena)) == many.sorted())
    }
}
