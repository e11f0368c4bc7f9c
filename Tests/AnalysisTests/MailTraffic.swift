import Analysis
import Capture
import TestSupport
import Wire

/// One whole SMTP conversation as Ethernet frames, for runs of many flows: any Message-ID
/// (or none) and body, split or whole terminator, reply or a client that gives up.
struct MailConversation {
    var client: Endpoint
    var startMs: Int64
    var banner = "mx.example.net ESMTP"
    var messageID: String?
    var body: String
    var split = false
    var reply = true
    var terminatorArrives = true

    /// 17 to 18 frames, 1 ms apart; without a reply the client sends FIN 15 s after the terminator.
    func frames() -> [(nanoseconds: Int64, bytes: [UInt8])] {
        var script = CaptureScript()
        var c = CaptureScript.Connection(client: client, server: Endpoint(address: .v4(0xC633_6419), port: 25))
        var ms = startMs
        func next() -> Int64 { ms += 1; return ms }
        script.send(&c, fromClient: true, flags: [.syn], ms: next())
        script.send(&c, fromClient: false, flags: [.syn, .ack], ms: next())
        script.send(&c, fromClient: true, flags: [.ack], ms: next())
        script.send(&c, fromClient: false, "220 \(banner)\r\n", ms: next())
        script.send(&c, fromClient: true, "HELO client.example.org\r\n", ms: next())
        script.send(&c, fromClient: false, "250 mx.example.net\r\n", ms: next())
        script.send(&c, fromClient: true, "MAIL FROM:<alice@example.org>\r\n", ms: next())
        script.send(&c, fromClient: false, "250 2.1.0 Ok\r\n", ms: next())
        script.send(&c, fromClient: true, "RCPT TO:<bob@example.net>\r\n", ms: next())
        script.send(&c, fromClient: false, "250 2.1.5 Ok\r\n", ms: next())
        script.send(&c, fromClient: true, "DATA\r\n", ms: next())
        script.send(&c, fromClient: false, "354 End data with <CR><LF>.<CR><LF>\r\n", ms: next())
        let header = messageID.map { "Message-ID: \($0)\r\n" } ?? ""
        let text = header + "Subject: test\r\n\r\n" + body + "\r\n"
        if split {
            script.send(&c, fromClient: true, text, ms: next())
            if terminatorArrives { script.send(&c, fromClient: true, ".\r\n", ms: next()) } else { _ = next() }
            script.send(&c, fromClient: false, flags: [.ack], ms: next())
        } else {
            script.send(&c, fromClient: true, text + ".\r\n", ms: next())
        }
        if reply {
            script.send(&c, fromClient: false, "250 2.0.0 Ok: queued\r\n", ms: next())
            script.send(&c, fromClient: true, "QUIT\r\n", ms: next())
            script.send(&c, fromClient: false, "221 Bye\r\n", flags: [.ack, .psh, .fin], ms: next())
            script.send(&c, fromClient: true, flags: [.ack, .fin], ms: next())
        } else {
            ms += 15_000
            script.send(&c, fromClient: true, flags: [.ack, .fin], ms: next())
            script.send(&c, fromClient: false, flags: [.ack, .fin], ms: next())
            script.send(&c, fromClient: true, flags: [.ack], ms: next())
        }
        return script.frames
    }
}

/// Feeds frames to an analyzer, numbering them on from `frameNumber`.
func feed(_ frames: [(nanoseconds: Int64, bytes: [UInt8])], to analyzer: Analyzer, frameNumber: inout UInt64) {
    for frame in frames {
        frameNumber += 1
        let info = CaptureInfo(frameNumber: frameNumber, timestampNanoseconds: frame.nanoseconds,
                               capturedLength: frame.bytes.count, wireLength: frame.bytes.count, linkType: .ethernet)
        frame.bytes.withUnsafeBytes { analyzer.process(info, frame: $0) }
    }
}

/// Client `index`: addresses 192.0.2.1…250, ports 20000…59999, so consecutive flows never share a 4-tuple.
func syntheticClient(_ index: Int) -> Endpoint {
    Endpoint(address: .v4(0xC000_0200 | UInt32(1 + index % 250)), port: UInt16(20_000 + (index / 250) % 40_000))
}
