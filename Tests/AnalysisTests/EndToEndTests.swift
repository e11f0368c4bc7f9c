import Analysis
import Capture
import Reassembly
import TestSupport
import Testing
import Wire

/// Synthetic Ethernet captures of whole SMTP conversations, built frame by frame with
/// ``PacketBuilder`` and fed through ``Analyzer/process(_:frame:)``: every layer runs.
struct CaptureScript {
    var frames: [(nanoseconds: Int64, bytes: [UInt8])] = []

    /// One connection: sequence numbers tracked per side.
    struct Connection {
        var client: Endpoint
        var server: Endpoint
        var clientSeq: UInt32 = 1000
        var serverSeq: UInt32 = 5000
    }

    mutating func send(_ c: inout Connection, fromClient: Bool, _ text: String = "", flags: TCPFlags = [.ack, .psh], ms: Int64) {
        let payload = Array(text.utf8)
        let (source, destination) = fromClient ? (c.client, c.server) : (c.server, c.client)
        let seq = fromClient ? c.clientSeq : c.serverSeq
        let ack = fromClient ? c.serverSeq : c.clientSeq
        let packet = PacketBuilder.tcp(from: source, to: destination, seq: seq, ack: flags.contains(.ack) ? ack : 0, flags: flags, payload: payload)
        frames.append((at(ms), PacketBuilder.ethernet(packet)))
        let advance = UInt32(payload.count) &+ (flags.contains(.syn) || flags.contains(.fin) ? 1 : 0)
        if fromClient { c.clientSeq &+= advance } else { c.serverSeq &+= advance }
    }

    /// 18 frames (17 when the terminator does not arrive): handshake, greeting, HELO, MAIL, RCPT, DATA, the body ending in CRLF
    /// (frame 13 of the flow), ".\r\n" alone (frame 14) or with the body when `split`
    /// is false, then the reply (if `reply`) or, 15 s later, the client's FIN.
    mutating func conversation(clientPort: UInt16, startMs: Int64, banner: String, split: Bool, reply: Bool,
                               terminatorArrives: Bool = true) {
        var c = Connection(client: Endpoint(address: .v4(0xC000_020A), port: clientPort),
                           server: Endpoint(address: .v4(0xC633_6419), port: 25))
        var ms = startMs
        func next() -> Int64 { ms += 1; return ms }
        send(&c, fromClient: true, flags: [.syn], ms: next())
        send(&c, fromClient: false, flags: [.syn, .ack], ms: next())
        send(&c, fromClient: true, flags: [.ack], ms: next())
        send(&c, fromClient: false, "220 \(banner)\r\n", ms: next())
        send(&c, fromClient: true, "HELO client.example.org\r\n", ms: next())
        send(&c, fromClient: false, "250 mx.example.net\r\n", ms: next())
        send(&c, fromClient: true, "MAIL FROM:<alice@example.org>\r\n", ms: next())
        send(&c, fromClient: false, "250 2.1.0 Ok\r\n", ms: next())
        send(&c, fromClient: true, "RCPT TO:<bob@example.net>\r\n", ms: next())
        send(&c, fromClient: false, "250 2.1.5 Ok\r\n", ms: next())
        send(&c, fromClient: true, "DATA\r\n", ms: next())
        send(&c, fromClient: false, "354 End data with <CR><LF>.<CR><LF>\r\n", ms: next())
        let body = "Message-ID: <kb295725@example.org>\r\nSubject: invoice\r\n\r\nPlease find it attached.\r\n"
        if split {
            send(&c, fromClient: true, body, ms: next())
            if terminatorArrives { send(&c, fromClient: true, ".\r\n", ms: next()) } else { _ = next() }
        } else {
            send(&c, fromClient: true, body + ".\r\n", ms: next())
            send(&c, fromClient: false, flags: [.ack], ms: next())
        }
        if reply {
            send(&c, fromClient: false, "250 2.0.0 Ok: queued as 4F2A\r\n", ms: next())
            send(&c, fromClient: true, "QUIT\r\n", ms: next())
            send(&c, fromClient: false, "221 Bye\r\n", flags: [.ack, .psh, .fin], ms: next())
            send(&c, fromClient: true, flags: [.ack, .fin], ms: next())
        } else {
            if split { send(&c, fromClient: false, flags: [.ack], ms: next()) }
            ms += 15_000
            send(&c, fromClient: true, flags: [.ack, .fin], ms: next())
            send(&c, fromClient: false, flags: [.ack, .fin], ms: next())
            send(&c, fromClient: true, flags: [.ack], ms: next())
        }
    }

    func feed(_ analyzer: Analyzer, name: String) {
        analyzer.beginCapture(name: name)
        for (index, frame) in frames.enumerated() {
            let info = CaptureInfo(frameNumber: UInt64(index + 1), timestampNanoseconds: frame.nanoseconds,
                                   capturedLength: frame.bytes.count, wireLength: frame.bytes.count, linkType: .ethernet)
            frame.bytes.withUnsafeBytes { analyzer.process(info, frame: $0) }
        }
        analyzer.endCapture()
    }
}

@Suite struct EndToEndTests {
    /// MS KB Q295725 from both sides of a PIX: outside, 4 attempts 45 s apart whose split
    /// terminator gets no reply; inside, the same attempts without the terminator; then
    /// one unsplit message that goes through.
    static func kbRun() -> AnalysisResult {
        var outside = CaptureScript()
        var inside = CaptureScript()
        for attempt in 0..<4 {
            let start = Int64(attempt) * 45_000
            outside.conversation(clientPort: UInt16(41000 + attempt), startMs: start, banner: "*****0****2****0***",
                                 split: true, reply: false)
            inside.conversation(clientPort: UInt16(41000 + attempt), startMs: start + 1, banner: "mx.example.net ESMTP",
                                split: true, reply: false, terminatorArrives: false)
        }
        outside.conversation(clientPort: 42000, startMs: 400_000, banner: "*****0****2****0***", split: false, reply: true)
        let analyzer = Analyzer()
        outside.feed(analyzer, name: "outside.pcap")
        inside.feed(analyzer, name: "inside.pcap")
        return analyzer.finish()
    }

    /// Flow facts that come from Wire and Reassembly alone.
    @Test func flowsFromTheReassembler() throws {
        let result = Self.kbRun()
        #expect(result.flows.map(\.capture) == [0, 0, 0, 0, 0, 1, 1, 1, 1])
        #expect(result.flows.map(\.flow) == [0, 1, 2, 3, 4, 0, 1, 2, 3])
        for (k, flow) in result.flows.prefix(4).enumerated() {
            #expect(flow.client == EndpointRecord(ip: "192.0.2.10", port: UInt16(41000 + k)))
            #expect(flow.server == EndpointRecord(ip: "198.51.100.25", port: 25))
            #expect(flow.firstFrame == UInt64(18 * k + 1))
            // The flow closes at the second FIN (frame 17 of 18); the last ACK is not part of it.
            #expect(flow.lastFrame == UInt64(18 * k + 17))
            #expect(flow.packets == 17)
            #expect(flow.endReason == .fin)
            #expect(flow.closedBy == .client)
            #expect(!flow.midstream)
            // SYN at +1 ms; ".\r\n" at +14 ms, ACK +15 ms, 15 s of waiting, FIN +15 016 ms, FIN +15 017 ms.
            #expect(flow.endNanoseconds - flow.startNanoseconds == 15_016_000_000)
        }
        // Independent value: Python hashlib over the spec's byte layout.
        #expect(result.flows[0].communityID == "1:Vmy6HT0/KzVNuA2QQQpWRq/BHDE=")
        #expect(result.summary.captures.map(\.packets) == [90, 68])
        #expect(result.summary.captures.map(\.tcpSegments) == [90, 68])
        #expect(result.summary.decodeErrors == 0)
    }
}
