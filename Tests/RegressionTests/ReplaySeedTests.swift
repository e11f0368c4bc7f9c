import Foundation
import SMTP
import TestSupport
import Testing

/// The replays read the fuzz seeds (Tests/Fuzz/seeds, made by make-seeds.py
/// from one known SMTP dialog) as built: the harness formats are honest, and
/// a replay that silently did nothing would fail here.
struct ReplaySeedTests {
    static let seeds = PackagePaths.root.appendingPathComponent("Tests/Fuzz/seeds")

    static func seed(_ harness: String, _ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: seeds.appendingPathComponent(harness).appendingPathComponent(name)))
    }

    static let wireSeeds: [String] = {
        let folder = seeds.appendingPathComponent("wire").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }()

    @Test("each wire seed is one TCP segment", arguments: wireSeeds)
    func wireSeed(_ name: String) throws {
        let outcome = try Self.seed("wire", name).withUnsafeBufferPointer { WireReplay.run($0) }
        #expect(outcome.segments == 1)
    }

    @Test func wireSeedsCoverEveryLinkType() {
        // 10 link types × (IPv4, IPv6) minus IPv4-only and IPv6-only types, plus 5 special frames.
        #expect(Self.wireSeeds.count == 10 * 2 - 2 + 5)
    }

    /// The dialog: 144 client bytes, 186 server bytes (make-seeds.py DIALOG, counted by hand).
    @Test func reassemblySeedDeliversTheDialog() throws {
        let outcome = try Self.seed("reassembly", "dialog").withUnsafeBufferPointer {
            ReassemblyReplay.run($0)
        }
        #expect(outcome.flowsOpened == 1)
        #expect(outcome.deliveredBytes == 144 + 186)
        #expect(outcome.segments == 3 + 11 + 2)
    }

    @Test func smtpSeedIsOneAcceptedMessage() throws {
        let events = try Self.seed("smtp", "dialog").withUnsafeBufferPointer { SMTPReplay.run($0) }
        let verbs = events.compactMap { event -> String? in
            if case .command(let command) = event { return command.verb }
            return nil
        }
        #expect(verbs == ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"])
        let sizes = events.compactMap { event -> UInt64? in
            if case .endOfData(let summary, _) = event { return summary.size }
            return nil
        }
        // Content after the DATA line up to and including the last line's CRLF (SMTPEvent's
        // `size`, RFC 5321 §4.1.1.4): "Message-ID: <1@example.org>\r\nSubject: hi\r\n\r\nbody\r\n"
        // (50 bytes) plus the empty last line's "\r\n" (2); then ".\r\n".
        #expect(sizes == [52])
    }

    @Test(arguments: [
        "dialog-ethernet-v4.pcap", "dialog-null-v6.pcap", "dialog-raw-v4.pcap", "dialog-sll2-v6.pcapng",
    ])
    func captureSeedIsOneAcceptedTransaction(_ name: String) throws {
        let bytes = try Self.seed("pcap", name)
        let outcome = bytes.withUnsafeBufferPointer { CaptureReplay.run($0) }
        #expect(outcome.opened)
        // 3 handshake + 11 dialog + 3 closing frames, each one TCP segment.
        #expect(outcome.frames == 17)
        #expect(outcome.segments == 17)
        #expect(outcome.flowsOpened == 1)
        #expect(outcome.outcomes == ["accepted"])
        checkCapture(outcome, inputCount: bytes.count)
    }
}
