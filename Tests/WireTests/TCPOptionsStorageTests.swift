import Testing

@testable import Wire

/// ``TCPOptions`` keeps its optional values as presence bits and plain fields: every value
/// must read back as set, independently of the others; zero must stay distinct from absent;
/// and options equal field by field must be equal and hash alike, however they were built.
@Suite struct TCPOptionsStorageTests {
    @Test func eachValueReadsBackAloneAndZeroIsNotAbsent() {
        var options = TCPOptions()
        #expect(options.maximumSegmentSize == nil && options.windowScale == nil)
        #expect(options.timestampValue == nil && options.timestampEcho == nil)
        options.windowScale = 0
        #expect(options.windowScale == 0)
        #expect(options.maximumSegmentSize == nil && options.timestampValue == nil && options.timestampEcho == nil)
        options.timestampEcho = 0
        #expect(options.timestampEcho == 0 && options.timestampValue == nil)
        options.maximumSegmentSize = 0xFFFF
        options.timestampValue = 0xFFFF_FFFF
        #expect(options.maximumSegmentSize == 0xFFFF && options.timestampValue == 0xFFFF_FFFF)
        #expect(options.windowScale == 0 && options.timestampEcho == 0)
        #expect(options != TCPOptions(maximumSegmentSize: 0xFFFF, windowScale: 0, timestampValue: 0xFFFF_FFFF))
        #expect(options == TCPOptions(maximumSegmentSize: 0xFFFF, windowScale: 0, timestampValue: 0xFFFF_FFFF, timestampEcho: 0))
    }

    @Test func clearedValuesCompareAndHashAsNeverSet() {
        var options = TCPOptions(
            maximumSegmentSize: 1460, windowScale: 7, sackPermitted: true, sackBlockCount: 2, timestampValue: 9, timestampEcho: 10)
        options.maximumSegmentSize = nil
        options.windowScale = nil
        options.timestampValue = nil
        options.timestampEcho = nil
        let fresh = TCPOptions(sackPermitted: true, sackBlockCount: 2)
        #expect(options == fresh)
        #expect(options.hashValue == fresh.hashValue)
    }

    @Test func decoderFastFormEqualsThePublicInitializer() {
        let fast = TCPOptions(timestamps: 0x0102_0304, echo: 0xA0B0_C0D0)
        let general = TCPOptions(timestampValue: 0x0102_0304, timestampEcho: 0xA0B0_C0D0)
        #expect(fast == general)
        #expect(fast.hashValue == general.hashValue)
        #expect(fast.timestampValue == 0x0102_0304 && fast.timestampEcho == 0xA0B0_C0D0)
        #expect(fast.maximumSegmentSize == nil && fast.windowScale == nil && !fast.sackPermitted && fast.sackBlockCount == 0)
    }
}
