import Testing

@testable import Wire

/// TCP option lists read by ``TCPDecoder/parseOptions(_:)``: the NOP, NOP, Timestamps layout
/// has a fast path, which must read exactly what the general loop reads.
@Suite struct TCPOptionsTests {
    static func parse(_ bytes: [UInt8]) -> TCPOptions {
        bytes.withUnsafeBytes { TCPDecoder.parseOptions($0) }
    }

    // TSval 0x01020304, TSecr 0xA0B0C0D0 (RFC 7323 §3: kind 8, length 10).
    static let timestamps: [UInt8] = [8, 10, 0x01, 0x02, 0x03, 0x04, 0xA0, 0xB0, 0xC0, 0xD0]
    static let expected = TCPOptions(timestampValue: 0x0102_0304, timestampEcho: 0xA0B0_C0D0)

    @Test func nopNopTimestampsIsReadLikeOtherLayouts() {
        #expect(Self.parse([1, 1] + Self.timestamps) == Self.expected)  // fast path
        #expect(Self.parse(Self.timestamps + [1, 1]) == Self.expected)  // loop
        #expect(Self.parse([1] + Self.timestamps + [0]) == Self.expected)  // loop, end of list
    }

    @Test func cutOrMislabelledTimestampsAreNotRead() {
        // Length byte 9 instead of 10: an impossible Timestamps option, ignored.
        #expect(Self.parse([1, 1, 8, 9, 0x01, 0x02, 0x03, 0x04, 0xA0, 0xB0, 0xC0, 0xD0]) == TCPOptions())
        // The list ends inside the option.
        #expect(Self.parse([1, 1] + Self.timestamps.prefix(8)) == TCPOptions())
        // Sixteen bytes: NOP NOP Timestamps, then MSS 1460.
        #expect(Self.parse([1, 1] + Self.timestamps + [2, 4, 0x05, 0xB4])
            == TCPOptions(maximumSegmentSize: 1460, timestampValue: 0x0102_0304, timestampEcho: 0xA0B0_C0D0))
    }
}
