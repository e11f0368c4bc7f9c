import SMTP
import Testing

/// Seeded random conversations over an alphabet rich in line breaks, dots, digits and verbs:
/// nothing traps, and the events do not depend on how the bytes are chunked.
@Test(arguments: 1...40)
func randomConversationsAreChunkingIndependent(seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    let pieces: [String] = [
        "\r\n", "\n", "\r", ".", "..", "\0", "DATA\r\n", "BDAT 3\r\n", "BDAT 2 LAST\r\n", "BDAT x\r\n", "MAIL FROM:<a@b>\r\n",
        "RCPT TO:<c@d>\r\n", "AUTH LOGIN\r\n", "STARTTLS\r\n", "250 ok\r\n", "250-x\r\n", "354 go\r\n", "334 x\r\n",
        "220 hi\r\n", "550 no\r\n", "abc", "\r\n.\r\n", "\n.\n", "\r.\r",
    ]
    var d = Dialog()
    d.options.maxLineLength = 24
    d.options.maxHeldBytes = 40
    d.options.maxSmuggledBytes = 16
    for _ in 0..<60 {
        var text = ""
        for _ in 0..<Int(rng.next() % 4 + 1) { text += pieces[Int(rng.next() % UInt64(pieces.count))] }
        switch rng.next() % 20 {
        case 0: d.gap(rng.next() % 2 == 0 ? .client : .server, rng.next() % 5 + 1)
        case 1...10: d.client(text)
        default: d.server(text)
        }
    }
    d.end(.client)
    d.end(.server)
    let whole = d.run()
    #expect(d.run(cuts: Array(0..<d.totalBytes)) == whole)
    for _ in 0..<20 {
        let cuts = (0..<3).map { _ in Int(rng.next() % UInt64(max(1, d.totalBytes))) }
        #expect(d.run(cuts: cuts) == whole)
    }
}
