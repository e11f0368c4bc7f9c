import Testing

@testable import Analysis

/// Capture times are untrusted: time text must work for every Int64, including the extremes
/// that wrapping differences produce (a fuzzer found traps here). Expected values by hand:
/// Int64.min ns is 1677-09-21T00:12:43.145224192Z and Int64.max ns 2262-04-11T23:47:16.854775807Z.
@Test func timeTextCoversEveryInt64() {
    #expect(TimeText.duration(Int64.min) == "-9223372036.9 s")
    #expect(TimeText.duration(Int64.max) == "9223372036.9 s")
    #expect(TimeText.utc(Int64.min) == "1677-09-21 00:12:43.145224 UTC")
    #expect(TimeText.utc(Int64.max) == "2262-04-11 23:47:16.854775 UTC")
    #expect(TimeText.fixed(Int64.min, unit: 1_000_000_000, decimals: 6) == "-9223372036.854776")
}

@Test func timeTextOrdinaryValues() {
    #expect(TimeText.duration(15_000_000_000) == "15.0 s")
    #expect(TimeText.duration(200_000) == "200 µs")
    #expect(TimeText.duration(7_000) == "7 µs")
    #expect(TimeText.duration(1_250_000) == "1.3 ms")
    #expect(TimeText.duration(999_999_999) == "1000.0 ms")
    #expect(TimeText.utc(0) == "1970-01-01 00:00:00.000000 UTC")
    #expect(TimeText.utc(-1) == "1969-12-31 23:59:59.999999 UTC")
    #expect(TimeText.utc(1_795_971_994_317_601_000) == "2026-11-29 17:06:34.317601 UTC")
}
