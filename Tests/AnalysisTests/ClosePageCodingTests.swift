@testable import Analysis
import Testing

/// The pointer-written page packer against a plain greedy LZ77 packer written here from
/// the format's description (``PageCoding``): the same sequences, byte for byte, so the
/// arena's pages keep their size.
@Suite struct ClosePageCodingTests {
    /// The packer as the format describes it, one byte at a time into an array.
    static func referencePack(_ source: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        func length(_ value: Int) {
            var rest = value
            while rest >= 255 { out.append(255); rest -= 255 }
            out.append(UInt8(rest))
        }
        func sequence(_ literals: Range<Int>, distance: Int, match: Int) {
            let extra = max(match - 4, 0)
            out.append(UInt8(min(literals.count, 15) << 4 | (match > 0 ? min(extra, 15) : 0)))
            if literals.count >= 15 { length(literals.count - 15) }
            out += source[literals]
            guard match > 0 else { return }
            out.append(UInt8(distance & 0xFF))
            out.append(UInt8(distance >> 8))
            if extra >= 15 { length(extra - 15) }
        }
        var table = [Int](repeating: -1, count: 4096)
        var literalStart = 0
        var at = 0
        while at + 4 <= source.count {
            let word = UInt32(source[at]) | UInt32(source[at + 1]) << 8 | UInt32(source[at + 2]) << 16 | UInt32(source[at + 3]) << 24
            let slot = Int((word &* 2_654_435_761) >> 20)
            let candidate = table[slot]
            table[slot] = at
            guard candidate >= 0, at - candidate <= 65_535, Array(source[candidate..<candidate + 4]) == Array(source[at..<at + 4]) else {
                at += 1
                continue
            }
            var match = 4
            while at + match < source.count && source[candidate + match] == source[at + match] { match += 1 }
            sequence(literalStart..<at, distance: at - candidate, match: match)
            at += match
            literalStart = at
        }
        sequence(literalStart..<source.count, distance: 0, match: 0)
        return out
    }

    static func pack(_ bytes: [UInt8], with packer: inout PageCoding.Packer) -> [UInt8] {
        Array(bytes.withUnsafeBufferPointer { packer.pack($0) })
    }

    @Test func packsAsTheReferenceDoes() {
        var random = MessageTableTests.SplitMix(state: 29)
        var packer = PageCoding.Packer()  // reused across pages, as the arena does
        let words = ["<1.", "@relay", ".example.net>", "judy", "\r\n", "a", "b", "0000000", "x"]
        var cases: [[UInt8]] = [[], [1], [1, 2, 3], [1, 2, 3, 4], Array("abcdabcd".utf8), Array("abcdabcdabcdabcdabcdabcdabcde".utf8)]
        // Matches ending at, just before and past 8-byte steps; runs past 15 + 255; long literal runs.
        cases.append([UInt8](repeating: 0x41, count: 700) + Array("abcd".utf8) + [UInt8](repeating: 0, count: 300))
        cases.append((0..<2_000).map { _ in UInt8.random(in: 0...255, using: &random) })
        for length in [5, 7, 8, 9, 15, 16, 17, 18, 19, 20, 24, 33, 100, 8_192] {
            var page: [UInt8] = []
            while page.count < length { page += Array(words[Int.random(in: 0..<words.count, using: &random)].utf8) }
            cases.append(Array(page.prefix(length)))
        }
        for _ in 0..<40 {
            var page: [UInt8] = []
            let length = Int.random(in: 0...9_000, using: &random)
            while page.count < length {
                if Bool.random(using: &random) {
                    page += Array(words[Int.random(in: 0..<words.count, using: &random)].utf8)
                } else {
                    page.append(UInt8.random(in: 0...255, using: &random))
                }
            }
            cases.append(page)
        }
        for bytes in cases {
            let packed = Self.pack(bytes, with: &packer)
            #expect(packed == Self.referencePack(bytes), "length \(bytes.count)")
            var back: [UInt8] = []
            let size = packed.withUnsafeBufferPointer { PageCoding.unpack($0, into: &back) }
            #expect(size.map { Array(back[..<$0]) } == bytes)
        }
    }

    /// The packer's table is not cleared between pages: positions of earlier pages must
    /// never be taken for this page's, also when its stamps run out and it starts over.
    @Test func earlierPagesNeverMatch() {
        var random = MessageTableTests.SplitMix(state: 53)
        let page = Array("<1.2@relay.example.net> judy@example.com <3.4@relay.example.net>".utf8)
        let noise = (0..<200).map { _ in UInt8.random(in: 0...255, using: &random) }
        for stampsLeft: UInt32 in [UInt32.max - 1, 10_000, 300, 100, 0] {
            var packer = PageCoding.Packer(stampsLeft: stampsLeft)
            for bytes in [page, noise, page + noise, noise, page, page] {
                #expect(Self.pack(bytes, with: &packer) == Self.referencePack(bytes), "stamps left \(stampsLeft)")
            }
        }
    }

    /// Distances at the 65,535 limit: a repeat just inside it is a match, one past it is not.
    @Test func distanceLimit() {
        var random = MessageTableTests.SplitMix(state: 31)
        var noise = (0..<65_540).map { _ in UInt8.random(in: 0...255, using: &random) }
        noise.replaceSubrange(0..<8, with: Array("ABCDEFGH".utf8))
        noise.replaceSubrange(65_535..<65_540, with: Array("ABCDE".utf8))
        var packer = PageCoding.Packer()
        #expect(Self.pack(noise, with: &packer) == Self.referencePack(noise))
        noise.insert(0, at: 10)
        #expect(Self.pack(noise, with: &packer) == Self.referencePack(noise))
    }

    /// Unpacking as the format describes it, into a fresh array; nil for a malformed page.
    static func referenceUnpack(_ source: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var at = 0
        func length(_ start: Int) -> Int? {
            guard start == 15 else { return start }
            var total = start
            while at < source.count {
                let byte = Int(source[at])
                at += 1
                total += byte
                if byte < 255 { return total }
            }
            return nil
        }
        while at < source.count {
            let token = Int(source[at])
            at += 1
            guard let literals = length(token >> 4), literals <= source.count - at else { return nil }
            out += source[at..<at + literals]
            at += literals
            if at == source.count { return out }
            guard source.count - at >= 2 else { return nil }
            let distance = Int(source[at]) | Int(source[at + 1]) << 8
            at += 2
            guard let extra = length(token & 15), distance >= 1, distance <= out.count else { return nil }
            for _ in 0..<(extra + 4) { out.append(out[out.count - distance]) }
        }
        return nil
    }

    /// Packed pages, whole and cut or changed at random places, unpack as the reference
    /// does: the same bytes, or nil for both. The output buffer is reused, as the arena's is.
    @Test func unpacksAsTheReferenceDoes() {
        var random = MessageTableTests.SplitMix(state: 37)
        var packer = PageCoding.Packer()
        var out: [UInt8] = []
        let words = ["<1.", "@relay", ".example.net>", "judy", "\r\n", "0000000000000000000000", "x"]
        var pages: [[UInt8]] = [[], [0], Array("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8)]
        for _ in 0..<30 {
            var page: [UInt8] = []
            let length = Int.random(in: 0...20_000, using: &random)
            while page.count < length {
                if Int.random(in: 0..<4, using: &random) > 0 {
                    page += Array(words[Int.random(in: 0..<words.count, using: &random)].utf8)
                } else {
                    page.append(UInt8.random(in: 0...255, using: &random))
                }
            }
            pages.append(page)
        }
        for page in pages {
            let packed = Self.pack(page, with: &packer)
            var variants = [packed, Array(packed.dropLast()), Array(packed.prefix(packed.count / 2))]
            for _ in 0..<8 where !packed.isEmpty {
                var changed = packed
                changed[Int.random(in: 0..<changed.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                variants.append(changed)
            }
            for bytes in variants {
                let size = bytes.withUnsafeBufferPointer { PageCoding.unpack($0, into: &out) }
                let expected = Self.referenceUnpack(bytes)
                #expect(size.map { Array(out[..<$0]) } == expected)
                if bytes == packed { #expect(expected == page) }
            }
        }
    }
}
