import SMTP
import Testing

/// The message fingerprint is XXH64 (seed 0): values from the specification's reference
/// implementation (python-xxhash 3, `xxh64_hexdigest`), and independence from chunking.
struct FingerprintTests {
    /// Reference values: `python3 -c "import xxhash; print(xxhash.xxh64_hexdigest(b'abc'))"`.
    @Test(arguments: [
        ("", "ef46db3751d8e999"),
        ("a", "d24ec4f1a98c6e5b"),
        ("abc", "44bc2cf5ad770999"),
        ("hello\r\n", "13d0d0c8bac410af"),
    ])
    func referenceVectors(text: String, digest: String) {
        #expect(xxh64Hex(Array(text.utf8)) == digest)
    }

    /// 768 bytes 0...255 three times: several 32-byte stripes plus every tail path.
    @Test func referenceVectorLong() {
        let bytes = (0..<768).map { UInt8(truncatingIfNeeded: $0) }
        #expect(xxh64Hex(bytes) == "8e03c838c596036f")
    }

    /// The message's fingerprint equals the one-shot digest of its content, whether the
    /// body arrives whole, byte by byte or in random pieces (stripes and tails split anywhere).
    @Test func fingerprintIsIndependentOfChunking() {
        var body = "Subject: chunks\r\n\r\n"
        for n in 0..<40 { body += String(repeating: "x", count: n % 71) + "line \(n) ~ stripes\r\n" }
        let expected = xxh64Hex(Array(body.utf8))
        let wire = Array((body + ".\r\n").utf8)
        var generator = SystemRandomNumberGenerator()
        for split in 0..<20 {
            var pieces: [[UInt8]] = []
            var at = 0
            while at < wire.count {
                let size = split == 0 ? wire.count : split == 1 ? 1 : Int.random(in: 1...97, using: &generator)
                pieces.append(Array(wire[at..<min(wire.count, at + size)]))
                at += size
            }
            #expect(messageFingerprints(pieces) == [expected], "split mode \(split)")
        }
    }

    /// Runs a dialog up to 354, then feeds the message in `pieces`; returns the fingerprints reported.
    private func messageFingerprints(_ pieces: [[UInt8]]) -> [String] {
        var session = SMTPSession()
        var found: [String] = []
        var offsets: [SMTPSide: UInt64] = [:]
        func feed(_ side: SMTPSide, _ bytes: [UInt8]) {
            bytes.withUnsafeBytes { raw in
                session.feed(side, raw, at: offsets[side, default: 0]) { event in
                    if case .endOfData(let summary, _) = event { found.append(summary.fingerprint) }
                }
            }
            offsets[side, default: 0] += UInt64(bytes.count)
        }
        for (client, reply) in [
            ("", "220 mx.example.org ESMTP\r\n"), ("EHLO c.example.org\r\n", "250 mx.example.org\r\n"),
            ("MAIL FROM:<a@example.org>\r\n", "250 ok\r\n"), ("RCPT TO:<b@example.org>\r\n", "250 ok\r\n"),
            ("DATA\r\n", "354 go on\r\n"),
        ] {
            feed(.client, Array(client.utf8))
            feed(.server, Array(reply.utf8))
        }
        for piece in pieces { feed(.client, piece) }
        return found
    }
}
