import Testing

@testable import Analysis

/// The correlation table's word-at-a-time `@` search and fingerprint parse against the bytewise answers.
@Suite struct S8MemEnvelopeBytesTests {
    @Test func wordSearchesAndHexMatchTheBytewiseAnswers() {
        var random = MessageTableTests.SplitMix(state: 9)
        // Bytes near the searched ones and the hex ranges' edges, and bytes with the high bit.
        let alphabet: [UInt8] = Array("@?A`0129:/afg".utf8) + [0x00, 0x3F, 0x41, 0x80, 0xC0, 0xFF]
        for count in 0..<40 {
            for _ in 0..<40 {
                let text = (0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] }
                text.withUnsafeBufferPointer { bytes in
                    #expect(EnvelopeBytes.lastIndex(of: 0x40, in: bytes) == bytes.lastIndex(of: 0x40), "\(text)")
                    #expect(EnvelopeBytes.lastIndex(of: 0xC0, in: bytes) == bytes.lastIndex(of: 0xC0), "\(text)")
                }
            }
        }
        let hexish: [UInt8] = Array("0123456789abcdef/:`gAF".utf8) + [0x80, 0xB0, 0xE1]
        var packable = 0
        for round in 0..<20_000 {
            // Mostly hex digits with one byte from the edges now and then.
            var digits = (0..<16).map { _ in hexish[Int.random(in: 0..<16, using: &random)] }
            if round % 2 == 1 { digits[Int.random(in: 0..<16, using: &random)] = hexish[Int.random(in: 0..<hexish.count, using: &random)] }
            digits.withUnsafeBufferPointer { bytes in
                let expected = EntryCoding.packedHexByDigit(bytes)
                #expect(EnvelopeBytes.hex16(bytes) == expected, "\(digits)")
                if expected != nil { packable += 1 }
            }
        }
        #expect(packable > 10_000 && packable < 19_000)
        #expect(Array("ddcb87236df58871".utf8).withUnsafeBufferPointer(EnvelopeBytes.hex16) == 0xDDCB_8723_6DF5_8871)
        // Other lengths are not fingerprints.
        #expect(Array("ddcb87236df5887".utf8).withUnsafeBufferPointer(EnvelopeBytes.hex16) == nil)
    }
}
