@testable import Analysis
import Testing

/// SHA-1's one-block path (inputs of at most 55 bytes, every Community ID input), against
/// digests Python's hashlib gave: `hashlib.sha1(bytes((i*37+11)&0xff for i in range(n)))`.
@Suite struct S8bTrackSHA1Tests {
    static let digests: [Int: String] = [
        0: "da39a3ee5e6b4b0d3255bfef95601890afd80709", 1: "067d5096f219c64b53bb1c7d5e3754285b565a47",
        3: "5e8b290f00d31c341d769e40255c757924864ef3", 8: "3e17075dce4d6126b81819ad27c1ed1dbc09da96",
        15: "b3d944a4a992367acc8b98647cfbc7b70a9815d5", 16: "285bb70cf533e49774327262d098532912b051ad",
        31: "e2deeb8b4b6105f32d5b16eafe20ff3ee98876c6", 40: "b4cef9aebd96975376eca04e064acd5bd7b9bce7",
        53: "9f7b8b29044bcf9e215c56a1e2ec9dfd2b9a62bf", 54: "e5d956aa039fb09be02efb91ee8646e55fccaf14",
        55: "c4622048cfef59b72875839ee7ae1cbcf55e7658", 56: "ddc12942656468475970fa4fa49161f52ed138e4",
    ]

    static func input(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) } }

    @Test func limitIsTheLastLengthWhosePaddingFitsOneBlock() {
        // 55 bytes + the 0x80 byte + the 8-byte length = 64.
        #expect(SHA1.singleBlockLimit == 55)
    }

    /// Each short input right after a 64-byte one: the stack the one-block path pads in then
    /// holds the longer hash's schedule, so a byte it fails to clear changes the digest.
    @Test func shortInputsAfterLongerOnes() {
        for count in Self.digests.keys.sorted(by: >) {
            _ = SHA1Tests.hex(Self.input(64))
            _ = SHA1Tests.hex([UInt8](repeating: 0xFF, count: 200))
            #expect(SHA1Tests.hex(Self.input(count)) == Self.digests[count], "\(count) bytes")
        }
    }

    /// The input read from an unaligned address inside a larger buffer (Community ID hashes
    /// part of a stack buffer), and the bytes after it not read.
    @Test func unalignedSliceOfALargerBuffer() {
        for count in [16, 40, 55] {
            let padded = [UInt8](repeating: 0xEE, count: 3) + Self.input(count) + [UInt8](repeating: 0xEE, count: 70)
            var digest = [UInt8](repeating: 0, count: 20)
            padded.withUnsafeBytes { all in
                digest.withUnsafeMutableBufferPointer { out in
                    SHA1.hash(UnsafeRawBufferPointer(rebasing: all[3..<(3 + count)]), into: out.baseAddress!)
                }
            }
            let text = digest.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
            #expect(text == Self.digests[count], "\(count) bytes")
        }
    }
}
