import TestSupport
import Testing

@testable import Wire

/// The decoder reads two option layouts without the general loop (``TCPDecoder/options(_:headerLength:)``):
/// NOP, NOP, Timestamps (12 bytes) and no options. Every layout, including ones a byte away
/// from those, must decode to what the general loop (``TCPDecoder/parseOptionList(_:)``) reads.
@Suite struct TCPOptionsFastPathTests {
    /// A TCP header of 20 bytes plus `options` (padded with zeros to a multiple of 4), data offset set.
    static func header(_ options: [UInt8]) -> [UInt8] {
        var padded = options
        while padded.count % 4 != 0 { padded.append(0) }
        var bytes: [UInt8] = [0x9C, 0x40, 0x00, 0x19, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0x18, 0xFF, 0xFF, 0, 0, 0, 0]
        bytes[12] = UInt8((20 + padded.count) / 4) << 4
        return bytes + padded
    }

    /// What the decoder puts in the segment, and what the general loop reads from the same bytes.
    static func bothReadings(_ options: [UInt8]) -> (decoded: TCPOptions?, general: TCPOptions) {
        let bytes = header(options)
        var decoded: TCPOptions?
        let result = bytes.withUnsafeBytes { raw in
            TCPDecoder.decode(raw, wireLength: raw.count, source: .v4(1), destination: .v4(2), errorBase: 0) { segment, _ in
                decoded = segment.options
            }
        }
        #expect(result == .tcp)
        let general = bytes.withUnsafeBytes { TCPDecoder.parseOptionList(UnsafeRawBufferPointer(rebasing: $0[20...])) }
        return (decoded, general)
    }

    static let timestamps: [UInt8] = [8, 10, 0x01, 0x02, 0x03, 0x04, 0xA0, 0xB0, 0xC0, 0xD0]

    @Test func fastLayoutsReadAsTheLoopReadsThem() {
        let nopNopTimestamps = Self.bothReadings([1, 1] + Self.timestamps)
        #expect(nopNopTimestamps.decoded == TCPOptions(timestampValue: 0x0102_0304, timestampEcho: 0xA0B0_C0D0))
        #expect(nopNopTimestamps.decoded == nopNopTimestamps.general)
        let none = Self.bothReadings([])
        #expect(none.decoded == TCPOptions())
        #expect(none.decoded == none.general)
    }

    /// Twelve-byte lists one byte away from NOP, NOP, Timestamps in each of the four bytes the
    /// fast path tests, and layouts of other lengths that start the same way.
    @Test func layoutsNextToTheFastOneAgree() {
        let fast: [UInt8] = [1, 1] + Self.timestamps
        var cases: [[UInt8]] = []
        for index in 0..<4 {
            for value in [0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 255] as [UInt8] where value != fast[index] {
                var changed = fast
                changed[index] = value
                cases.append(changed)
            }
        }
        cases.append([1, 1] + Self.timestamps + [2, 4, 0x05, 0xB4])  // 16 bytes: then MSS
        cases.append([1, 1] + Self.timestamps.prefix(8))  // cut inside Timestamps (padded to 12 with EOL)
        cases.append([1, 1, 1, 1] + Self.timestamps + [0, 0])  // 16 bytes, Timestamps later
        cases.append([2, 4, 0x05, 0xB4, 1, 3, 3, 7, 4, 2, 0, 0])  // MSS, NOP, WS, SACK permitted
        for options in cases {
            let readings = Self.bothReadings(options)
            #expect(readings.decoded == readings.general, "options \(options)")
        }
    }

    @Test(arguments: 0..<200 as Range<UInt64>)
    func randomLayoutsAgree(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var options: [UInt8] = []
        while options.count < 40 {
            switch Int.random(in: 0..<9, using: &random) {
            case 0: options.append(1)
            case 1: options.append(0)
            case 2: options += [2, 4, UInt8.random(in: 0...255, using: &random), UInt8.random(in: 0...255, using: &random)]
            case 3: options += [3, 3, UInt8.random(in: 0...20, using: &random)]
            case 4: options += [4, 2]
            case 5: options += [5, 2 + 8 * UInt8.random(in: 0...3, using: &random)] + Array(repeating: 7, count: 8)
            case 6: options += [1, 1] + Self.timestamps
            case 7: options += Self.timestamps
            default: options.append(UInt8.random(in: 0...255, using: &random))
            }
        }
        let count = 4 * Int.random(in: 0...10, using: &random)
        let readings = Self.bothReadings(Array(options.prefix(count)))
        #expect(readings.decoded == readings.general, "seed \(seed)")
    }
}
