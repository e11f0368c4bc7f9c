@testable import Analysis
import Testing

/// The stack SHA-1 behind Community ID, against FIPS 180 examples and digests that Python's
/// hashlib gave for inputs around the one- and two-block padding edges, through both the
/// portable rounds and (where the CPU has them) the SHA extensions.
@Suite struct SHA1Tests {
    static func hex(_ bytes: [UInt8], hardware: Bool = SHA1.hasHardware) -> String {
        var digest = [UInt8](repeating: 0, count: 20)
        bytes.withUnsafeBytes { input in digest.withUnsafeMutableBufferPointer { SHA1.hash(input, into: $0.baseAddress!, hardware: hardware) } }
        return digest.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    /// Both round implementations where the CPU has the SHA extensions, else the portable one.
    static let paths = SHA1.hasHardware ? [false, true] : [false]

    @Test(arguments: paths) func fipsExamples(hardware: Bool) {
        #expect(Self.hex(Array("abc".utf8), hardware: hardware) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(Self.hex([], hardware: hardware) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(Self.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8), hardware: hardware)
            == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(Self.hex([UInt8](repeating: 0x61, count: 1_000_000), hardware: hardware) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    /// The detection agrees with the kernel's view of the CPU (`sha_ni` in /proc/cpuinfo), so
    /// the hardware path is really taken (and tested above) on a machine that has it.
    @Test func detectionMatchesTheKernel() throws {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return }
        let flags = info.split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ")) } ?? []
        #if arch(x86_64)
        #expect(SHA1.hasHardware == (flags.contains("sha_ni") && flags.contains("ssse3") && flags.contains("sse4_1")))
        #else
        #expect(!SHA1.hasHardware)
        #endif
    }

    @Test(arguments: paths, [
        (55, "c4622048cfef59b72875839ee7ae1cbcf55e7658"), (56, "ddc12942656468475970fa4fa49161f52ed138e4"),
        (63, "7f8c3fa49f1297bd8b9feb964b6b419987f9f0d1"), (64, "a334b47180c61fd522f99905ec02c36f9e848211"),
        (65, "dd27d9eb923d39687e10872c3e8133ba2f0a68a1"), (119, "bea949473b1ec34747ce121c3293624b5d9d8f84"),
        (120, "bf05266acd3ec21592b4d42aaea97fa6f3e51926"), (128, "3b1953091899492377f686c266b81d84b5d40f70"),
    ])
    func paddingEdges(hardware: Bool, edge: (count: Int, expected: String)) {
        let (count, expected) = edge
        // hashlib.sha1(bytes((i*37+11)&0xff for i in range(count))).hexdigest()
        let input = (0..<count).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
        #expect(Self.hex(input, hardware: hardware) == expected)
    }
}
