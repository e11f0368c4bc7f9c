import Analysis
import TestSupport
import Testing
import Wire

/// One connection that sends eight messages, each answered: with the default limit all eight are
/// transactions; with `maxTransactionsPerFlow` 3 only the first three are followed, the limit is
/// reported once with the frame where following stopped, and nothing later is misattributed.
@Suite struct TransactionLimitTests {
    static let messages = 8

    static func frames() -> [(nanoseconds: Int64, bytes: [UInt8])] {
        var script = CaptureScript()
        var c = CaptureScript.Connection(
            client: Endpoint(address: .v4(0xC000_020A), port: 40000), server: Endpoint(address: .v4(0xC633_6419), port: 25))
        var ms: Int64 = 1_700_000_000_000
        func next() -> Int64 { ms += 1; return ms }
        script.send(&c, fromClient: true, flags: [.syn], ms: next())
        script.send(&c, fromClient: false, flags: [.syn, .ack], ms: next())
        script.send(&c, fromClient: true, flags: [.ack], ms: next())
        script.send(&c, fromClient: false, "220 mx.example.net ESMTP\r\n", ms: next())
        script.send(&c, fromClient: true, "HELO client.example.org\r\n", ms: next())
        script.send(&c, fromClient: false, "250 mx.example.net\r\n", ms: next())
        for message in 0..<messages {
            script.send(&c, fromClient: true, "MAIL FROM:<alice@example.org>\r\n", ms: next())
            script.send(&c, fromClient: false, "250 2.1.0 Ok\r\n", ms: next())
            script.send(&c, fromClient: true, "RCPT TO:<bob@example.net>\r\n", ms: next())
            script.send(&c, fromClient: false, "250 2.1.5 Ok\r\n", ms: next())
            script.send(&c, fromClient: true, "DATA\r\n", ms: next())
            script.send(&c, fromClient: false, "354 go ahead\r\n", ms: next())
            script.send(&c, fromClient: true, "Message-ID: <m\(message)@example.org>\r\n\r\nbody\r\n.\r\n", ms: next())
            script.send(&c, fromClient: false, "250 2.0.0 Ok: queued as \(message)\r\n", ms: next())
        }
        script.send(&c, fromClient: true, "QUIT\r\n", ms: next())
        script.send(&c, fromClient: false, "221 Bye\r\n", flags: [.ack, .psh, .fin], ms: next())
        script.send(&c, fromClient: true, flags: [.ack, .fin], ms: next())
        return script.frames
    }

    static func analyze(limit: Int?) -> FlowRecord? {
        var options = AnalysisOptions()
        if let limit { options.maxTransactionsPerFlow = limit }
        let analyzer = Analyzer(options: options)
        var frame: UInt64 = 0
        feed(frames(), to: analyzer, frameNumber: &frame)
        return analyzer.finish().flows.first
    }

    @Test func everyTransactionWithinTheDefaultLimit() throws {
        let flow = try #require(Self.analyze(limit: nil))
        #expect(flow.transactions.count == Self.messages)
        #expect(flow.transactions.allSatisfy { $0.outcome == .accepted })
        #expect(flow.transactions.map(\.messageID) == (0..<Self.messages).map { "<m\($0)@example.org>" })
        #expect(!flow.findings.contains { $0.code == .limitReached })
    }

    @Test func connectionIsFollowedNoFurtherPastTheLimit() throws {
        let flow = try #require(Self.analyze(limit: 3))
        #expect(flow.transactions.count == 3)
        #expect(flow.transactions.map(\.messageID) == ["<m0@example.org>", "<m1@example.org>", "<m2@example.org>"])
        #expect(flow.transactions.allSatisfy { $0.outcome == .accepted })
        let limits = flow.findings.filter { $0.code == .limitReached }
        #expect(limits.count == 1)
        // Frames: 6 of handshake and greeting, 8 per message; the 4th MAIL FROM is frame 6 + 3 × 8 + 1.
        #expect(limits.first?.frames == [31])
        #expect(limits.first?.message.contains("more than 3 transactions") == true)
    }
}
