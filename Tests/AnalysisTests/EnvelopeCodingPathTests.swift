import SMTP
import Testing

@testable import Analysis

/// A transaction's envelope is packed through a one-pass path when its Message-ID,
/// fingerprint, MAIL FROM and recipients are all present and ASCII, and through the general
/// path otherwise. Both must give the same bytes, and those bytes must read back as the
/// record's own strings.
@Suite struct EnvelopeCodingPathTests {
    /// Bytes of each field: ASCII, valid UTF-8, and invalid UTF-8 (0xFF, a lone 0xC3), which
    /// the general path repairs as `String(decoding:as:)` does.
    static let ids = ["<1.2.3@relay.example.net>", "<x@y>", "", "<é@example.net>", "<a\u{0}b@example.net>", "<a@example.net", "<ax>"].map { Array($0.utf8) }
        + [[0x3C, 0xFF, 0x40, 0x78, 0x3E]]
    static let prints = ["0011223344556677", "00112233445566", "0011223344556677aa", "ABCDEF0123456789", "g011223344556677", "é"].map { Array($0.utf8) }
        + [[0x30, 0x30, 0x31, 0x31, 0x32, 0x32, 0x33, 0x33, 0x34, 0x34, 0x35, 0x35, 0x36, 0x36, 0x37, 0xC3]]
    static let froms = ["news@relay.example.net", "a@example.net", "", "x", "é@relay.example.net", "@example.net"].map { Array($0.utf8) }
        + [[0xC3, 0x40, 0x78, 0x3E]]
    static let rcpts: [[[UInt8]]] = [[], ["b@example.net"], ["b@example.net", "a@example.net"], ["é@example.net"], [""]].map { $0.map { Array($0.utf8) } }
        + [[Array("b@example.net".utf8), [0xFF, 0x40, 0x78]]]

    static func string(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    static func record(id: [UInt8], print: [UInt8], from: [UInt8], to: [[UInt8]], kept: Bool, arena: inout TextArena) -> TransactionRecord {
        var record = TransactionRecord(capture: 0, flow: 0, client: EndpointRecord(ip: "192.0.2.1", port: 1),
                                       server: EndpointRecord(ip: "192.0.2.2", port: 25), index: 0, startNanoseconds: 0,
                                       outcome: .accepted, diagnosis: .ok)
        if kept {
            // As the tracker keeps them: bytes in a text store.
            func text(_ bytes: [UInt8]) -> SMTPText { bytes.withUnsafeBytes { arena.text($0) } }
            record.messageIDText = text(id)
            record.fingerprintText = text(print)
            record.mailFromText = text(from)
            var lines: ReplyLines?
            for rcpt in to { lines = rcpt.withUnsafeBytes { arena.appending(line: $0, to: lines) } }
            record.rcptToList = lines ?? ReplyLines([])
        } else {
            record.messageID = string(id)
            record.fingerprint = string(print)
            record.mailFrom = string(from)
            record.rcptTo = to.map(string)
        }
        return record
    }

    @Test func fastAndGeneralPathsAgree() {
        var checked = 0
        for kept in [true, false] {
            for id in Self.ids {
                for print in Self.prints {
                    for from in Self.froms {
                        for to in Self.rcpts {
                            var arena = TextArena(initialCapacity: 64, maxCapacity: 1 << 16)
                            let record = Self.record(id: id, print: print, from: from, to: to, kept: kept, arena: &arena)
                            var fast: [UInt8] = [0xAA]
                            EntryCoding.appendEnvelope(of: record, to: &fast)
                            var general: [UInt8] = [0xAA]
                            EntryCoding.appendEnvelopeInGeneral(of: record, to: &general)
                            #expect(fast == general, "\(id) \(print) \(from) \(to) kept: \(kept)")
                            // And the bytes are the record's strings.
                            let envelope = fast.withUnsafeBufferPointer { buffer -> EntryCoding.Envelope? in
                                var reader = ByteReader(buffer, at: 1)
                                return EntryCoding.readEnvelope(&reader, decode: true)
                            }
                            #expect(envelope?.messageID == Self.string(id))
                            #expect(envelope?.fingerprint == Self.string(print))
                            #expect(envelope?.mailFrom == Self.string(from))
                            #expect(envelope?.rcptTo == to.map(Self.string))
                            checked += 1
                        }
                    }
                }
            }
        }
        #expect(checked == 2 * 8 * 7 * 7 * 6)
    }
}
