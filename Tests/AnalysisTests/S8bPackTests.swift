@testable import Analysis
import Testing

/// The packer's distance bound, where a repeat's earlier copy is still the last position of
/// its hash slot: a run of zeros between the two copies is one long match, whose positions
/// are not hashed, so the first copy's entry survives (a page of random filler overwrites it).
@Suite struct S8bPackTests {
    /// "ABCDEFGH", zeros, "ABCDEFGH" again `distance` bytes after the first.
    static func page(distance: Int) -> [UInt8] {
        let word = Array("ABCDEFGH".utf8)
        return word + [UInt8](repeating: 0, count: distance - word.count) + word
    }

    /// Whether a packed page has a sequence whose match reaches exactly `distance` back
    /// (walking the sequences as the format describes them).
    static func hasMatch(_ packed: [UInt8], distance: Int) -> Bool {
        var at = 0
        func length(_ start: Int) -> Int {
            guard start == 15 else { return start }
            var total = 15
            while at < packed.count {
                let byte = Int(packed[at]); at += 1; total += byte
                if byte < 255 { break }
            }
            return total
        }
        while at < packed.count {
            let token = Int(packed[at]); at += 1
            at += length(token >> 4)
            guard at + 2 <= packed.count else { return false }
            if Int(packed[at]) | Int(packed[at + 1]) << 8 == distance { return true }
            at += 2
            _ = length(token & 15)
        }
        return false
    }

    @Test func repeatAtTheLimitIsAMatchAndOnePastItIsNot() {
        var packer = PageCoding.Packer()
        let inside = Self.page(distance: 65_535), outside = Self.page(distance: 65_536)
        let packedInside = Array(inside.withUnsafeBufferPointer { packer.pack($0) })
        #expect(Self.hasMatch(packedInside, distance: 65_535))
        #expect(packedInside == ClosePageCodingTests.referencePack(inside))
        let packedOutside = Array(outside.withUnsafeBufferPointer { packer.pack($0) })
        // 65,536 does not fit the 2-byte distance: it would read as 0.
        #expect(!Self.hasMatch(packedOutside, distance: 0))
        #expect(packedOutside == ClosePageCodingTests.referencePack(outside))
        for (page, packed) in [(inside, packedInside), (outside, packedOutside)] {
            var back: [UInt8] = []
            let size = packed.withUnsafeBufferPointer { PageCoding.unpack($0, into: &back) }
            #expect(size.map { Array(back[..<$0]) } == page)
        }
    }
}
