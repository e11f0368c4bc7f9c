@testable import SMTP
import Testing

/// The arena records keep their text in (`TextArena(initialCapacity:maxCapacity:)`).
@Suite struct TextArenaTests {
    static func lines(_ texts: [String], in arena: inout TextArena) -> ReplyLines {
        var lines: ReplyLines?
        for text in texts { lines = Array(text.utf8).withUnsafeBytes { arena.appending(line: $0, to: lines) } }
        return lines ?? ReplyLines([])
    }

    @Test func joinedWithACodeIsWhatJoinedAfterMakes() {
        var source = TextArena(initialCapacity: 8)
        var records = TextArena(initialCapacity: 8, maxCapacity: 64)
        let ascii = Self.lines(["mx.example.net ESMTP", "", "ready"], in: &source)
        #expect(records.joined(ascii, code: 220).string == "220 mx.example.net ESMTP  ready")
        #expect(records.joined(ascii).string == "mx.example.net ESMTP  ready")
        #expect(records.joined(ascii, code: 0).string == "0 mx.example.net ESMTP  ready")
        #expect(records.joined(Self.lines([], in: &source), code: 421).string == "421 ")
        // Not ASCII (a cut UTF-8 sequence too): the same text as the strings give.
        var cut = Array("caf\u{E9}".utf8)
        cut.removeLast()
        var lines: ReplyLines? = Self.lines(["caf\u{E9}"], in: &source)
        lines = cut.withUnsafeBytes { source.appending(line: $0, to: lines) }
        #expect(records.joined(lines ?? ReplyLines([]), code: 250).string == "250 caf\u{E9} caf\u{FFFD}")
        #expect(records.joined(ReplyLines(["a", "b"]), code: 250).string == "250 a b")
    }

    @Test func copiesReadAsTheOriginalsAfterTheSourceIsReused() {
        var source = TextArena(initialCapacity: 64)
        var records = TextArena(initialCapacity: 16, maxCapacity: 64)
        var original: ReplyLines? = Self.lines(["a@example.net", "b@example.net"], in: &source)
        let copied = records.copy(original ?? ReplyLines([]))
        var text: SMTPText? = Array("<id@example.org>".utf8).withUnsafeBytes { source.text($0) }
        let copiedText = records.copy(text ?? SMTPText(""))
        original = nil
        text = nil
        let recycled = source.recycle()
        #expect(recycled)
        _ = Array("overwritten overwritten overwritten".utf8).withUnsafeBytes { source.text($0) }
        #expect(copied.strings == ["a@example.net", "b@example.net"])
        #expect(copiedText.string == "<id@example.org>")
        #expect(records.copy(SMTPText("as a string")).string == "as a string")
    }

    static func item(_ n: Int) -> String { n < 10 ? "item0\(n)" : "item\(n)" }

    @Test func storesDoubleUpToTheMaximumAndABiggerOneIsNotKept() {
        var arena = TextArena(initialCapacity: 16, maxCapacity: 64)
        var kept: [SMTPText] = []
        var sizes: [Int] = []
        for n in 0..<20 {
            kept.append(Array(Self.item(n).utf8).withUnsafeBytes { arena.text($0) })  // 6 bytes
            if let size = arena.current?.size, sizes.last != size { sizes.append(size) }
        }
        #expect(sizes == [16, 32, 64])
        #expect(kept.map(\.string) == (0..<20).map(Self.item))
        kept.removeAll()
        let recycled = arena.recycle()
        #expect(recycled)
        // One text larger than the maximum gets a store that fits it, which is then let go.
        let big = [UInt8](repeating: 0x41, count: 200)
        var large: SMTPText? = big.withUnsafeBytes { arena.text($0) }
        #expect(large?.string == String(repeating: "A", count: 200))
        large = nil
        let recycledLarge = arena.recycle()
        #expect(!recycledLarge)
        #expect(arena.current == nil)
    }
}
