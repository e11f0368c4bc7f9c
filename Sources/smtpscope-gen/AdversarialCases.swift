import TestSupport
import Wire

/// The hostile captures `smtpscope-gen adversarial` can write. Each is made frame by
/// frame straight into the file, so the generator's memory stays small whatever the
/// size; `scale` multiplies the case's count or size (1 = the full case).
enum AdversarialKind: String, CaseIterable {
    case synFlood = "syn-flood"
    case overlapConflict = "overlap-conflict"
    case seqHole = "seq-hole"
    case hugeBody = "huge-body"
    case pipelinedFlood = "pipelined-flood"
    case endlessLine = "endless-line"
    case records
    case pcapngInterfaces = "pcapng-interfaces"
    case pcapngMixed = "pcapng-mixed"
    case fragFlood = "frag-flood"

    /// What the full-size case (scale 1) holds.
    var summary: String {
        switch self {
        case .synFlood: return "1,000,000 SYNs of distinct flows to port 25, between two complete SMTP conversations"
        case .overlapConflict: return "one flow: 100,000 overlapping retransmissions with conflicting bytes, half behind and half ahead of a hole, then the message completes"
        case .seqHole: return "one flow: a 2 GiB - 1 MiB hole in the client's sequence space with 4 MiB sent beyond it, then the connection closes"
        case .hugeBody: return "one flow: a 1 GiB message body in one DATA, answered 250"
        case .pipelinedFlood: return "one flow: 1,000,000 pipelined NOOPs with no reply"
        case .endlessLine: return "one flow: a 256 MiB client line without CRLF"
        case .records: return "zero-length records (1,000), a record longer than the snapshot length (100,000 > 65,535), then a 300,000-byte record libpcap refuses"
        case .pcapngInterfaces: return "pcapng with 1,000 Ethernet interfaces, one SMTP conversation spread across them"
        case .pcapngMixed: return "pcapng with interfaces of Ethernet, raw IP and Linux SLL link types (libpcap 1.10 refuses the second type)"
        case .fragFlood: return "1,000,000 never-completed IPv4 and IPv6 fragments of distinct datagrams around one fragmented SMTP conversation"
        }
    }
}

/// Addresses of the cases (documentation ranges only).
enum AdversarialAddresses {
    static let server = Endpoint(address: .v4(0xC000_0219), port: 25)  // 192.0.2.25
    /// The fragmented conversation's server, so its datagram keys never meet the flood's.
    static let fragmentedServer = Endpoint(address: .v4(0xC000_021A), port: 25)  // 192.0.2.26
    static let server6 = Endpoint(address: .v6(high: 0x2001_0db8_0000_0000, low: 0x25), port: 25)  // 2001:db8::25
    static func client(_ index: Int) -> Endpoint {
        // 198.51.100.1-254 × ports 1024-65535: 16 million distinct clients.
        let host = UInt32(1 + (index / 64_512) % 254)
        return Endpoint(address: .v4(0xC633_6400 | host), port: UInt16(1024 + index % 64_512))
    }
    static func client6(_ index: Int) -> Endpoint {
        Endpoint(address: .v6(high: 0x2001_0db8_0000_0001, low: UInt64(1 + index / 64_512)), port: UInt16(1024 + index % 64_512))
    }
}

/// Writes one adversarial case.
struct AdversarialGenerator {
    let kind: AdversarialKind
    let scale: Double

    func scaled(_ count: Int, minimum: Int = 1) -> Int { max(minimum, Int((Double(count) * scale).rounded())) }

    func write(path: String) throws -> AdversarialOutput {
        switch kind {
        case .pcapngInterfaces, .pcapngMixed:
            let output = try AdversarialPcapng(path: path)
            if kind == .pcapngInterfaces { pcapngInterfaces(output) } else { pcapngMixed(output) }
            try output.close()
            return output
        case .records:
            let output = try AdversarialPcap(path: path, snapshotLength: 65_535)
            records(output)
            try output.close()
            return output
        default:
            let output = try AdversarialPcap(path: path)
            switch kind {
            case .synFlood: synFlood(output)
            case .overlapConflict: overlapConflict(output)
            case .seqHole: seqHole(output)
            case .hugeBody: hugeBody(output)
            case .pipelinedFlood: pipelinedFlood(output)
            case .endlessLine: endlessLine(output)
            case .fragFlood: fragFlood(output)
            case .records, .pcapngInterfaces, .pcapngMixed: break
            }
            try output.close()
            return output
        }
    }

    // MARK: cases

    private func synFlood(_ output: AdversarialOutput) {
        var first = AdversarialFlow(client: AdversarialAddresses.client(0), server: AdversarialAddresses.server)
        conversation(&first, id: "<before-flood@adversarial.example>", into: output)
        let count = scaled(1_000_000)
        for index in 0..<count {
            var flow = AdversarialFlow(
                client: AdversarialAddresses.client(index + 1), server: AdversarialAddresses.server,
                clientISN: UInt32(truncatingIfNeeded: index &* 2_654_435_761))
            output.write(flow.send(fromClient: true, flags: .syn))
        }
        var last = AdversarialFlow(client: AdversarialAddresses.client(count + 1), server: AdversarialAddresses.server)
        conversation(&last, id: "<after-flood@adversarial.example>", into: output)
    }

    private func overlapConflict(_ output: AdversarialOutput) {
        var flow = AdversarialFlow(client: AdversarialAddresses.client(1), server: AdversarialAddresses.server)
        envelope(&flow, into: output)
        // 64 KiB of body delivered in order, then a 1,448-byte hole, then 16 KiB beyond it.
        let delivered = MessageBody(count: 65_536, messageID: "<overlap@adversarial.example>")
        let base = flow.clientNext
        sendBody(delivered, flow: &flow, into: output)
        let holeStart = flow.clientNext
        flow.skip(fromClient: true, bytes: 1_448)
        let aheadStart = flow.clientNext
        let ahead = MessageBody(count: 16_384, messageID: nil, skipHeader: true)
        sendBody(ahead, flow: &flow, into: output)
        // Retransmissions with other bytes: even ones over the delivered tail, odd ones over the part ahead.
        let count = scaled(100_000)
        for index in 0..<count {
            let fill = UInt8(ascii: "a") + UInt8(index % 26)
            let payload = [UInt8](repeating: fill, count: 512)
            let seq: UInt32
            if index % 2 == 0 {
                seq = base &+ UInt32(65_536 - 512 - (index / 2 % 32) * 16)
            } else {
                seq = aheadStart &+ UInt32((index / 2 % 1_000) * 15)
            }
            output.write(flow.frame(fromClient: true, seq: seq, payload: payload))
        }
        // Fill the hole with bytes of the same pattern, then end the message.
        let filler = MessageBody(count: 1_448, messageID: nil, skipHeader: true)
        output.write(flow.frame(fromClient: true, seq: holeStart, payload: filler.slice(at: 0, count: 1_448)))
        flow.say("\r\n.\r\n", fromClient: true, into: output)
        flow.say("250 2.0.0 Ok: queued\r\n", fromClient: false, into: output)
        quit(&flow, into: output)
    }

    private func seqHole(_ output: AdversarialOutput) {
        var flow = AdversarialFlow(client: AdversarialAddresses.client(1), server: AdversarialAddresses.server)
        envelope(&flow, into: output)
        let body = MessageBody(count: 8_192, messageID: "<seq-hole@adversarial.example>")
        sendBody(body, flow: &flow, into: output)
        flow.skip(fromClient: true, bytes: (1 << 31) - (1 << 20))
        let ahead = MessageBody(count: scaled(4 << 20, minimum: 16_384), messageID: nil, skipHeader: true)
        sendBody(ahead, flow: &flow, into: output)
        flow.say("\r\n.\r\n", fromClient: true, into: output)
        flow.close(into: output)
    }

    private func hugeBody(_ output: AdversarialOutput) {
        var flow = AdversarialFlow(client: AdversarialAddresses.client(1), server: AdversarialAddresses.server)
        envelope(&flow, into: output)
        let body = MessageBody(count: scaled(1 << 30, minimum: 4_096), messageID: "<huge-body@adversarial.example>")
        sendBody(body, flow: &flow, into: output)
        flow.say("\r\n.\r\n", fromClient: true, into: output)
        flow.say("250 2.0.0 Ok: queued as HUGE\r\n", fromClient: false, into: output)
        quit(&flow, into: output)
    }

    private func pipelinedFlood(_ output: AdversarialOutput) {
        var flow = AdversarialFlow(client: AdversarialAddresses.client(1), server: AdversarialAddresses.server)
        flow.handshake(into: output)
        flow.say("220 mx.adversarial.example ESMTP\r\n", fromClient: false, into: output)
        flow.say("EHLO client.adversarial.example\r\n", fromClient: true, into: output)
        flow.say("250-mx.adversarial.example\r\n250 PIPELINING\r\n", fromClient: false, into: output)
        // 241 NOOPs (6 bytes each) per 1,446-byte segment; the server never answers.
        let count = scaled(1_000_000)
        let perSegment = 241
        var sent = 0
        while sent < count {
            let batch = min(perSegment, count - sent)
            var payload: [UInt8] = []
            payload.reserveCapacity(batch * 6)
            for _ in 0..<batch { payload += Array("NOOP\r\n".utf8) }
            output.write(flow.send(fromClient: true, payload: payload))
            sent += batch
            if sent % (perSegment * 32) == 0 { output.write(flow.send(fromClient: false, flags: .ack)) }
        }
        flow.close(into: output)
    }

    private func endlessLine(_ output: AdversarialOutput) {
        var flow = AdversarialFlow(client: AdversarialAddresses.client(1), server: AdversarialAddresses.server)
        flow.handshake(into: output)
        flow.say("220 mx.adversarial.example ESMTP\r\n", fromClient: false, into: output)
        flow.say("EHLO client.adversarial.example\r\n", fromClient: true, into: output)
        flow.say("250 mx.adversarial.example\r\n", fromClient: false, into: output)
        var remaining = scaled(256 << 20, minimum: 8_192)
        let segment = [UInt8](repeating: UInt8(ascii: "A"), count: 1_448)
        var index = 0
        while remaining > 0 {
            let size = min(remaining, segment.count)
            output.write(flow.send(fromClient: true, payload: size == segment.count ? segment : Array(segment.prefix(size))))
            remaining -= size
            index += 1
            if index % 32 == 0 { output.write(flow.send(fromClient: false, flags: .ack)) }
        }
        flow.close(into: output)
    }

    private func records(_ output: AdversarialOutput) {
        var flow = AdversarialFlow(client: AdversarialAddresses.client(1), server: AdversarialAddresses.server)
        conversation(&flow, id: "<records@adversarial.example>", into: output)
        for _ in 0..<scaled(1_000) { output.write([], wireLength: 0, interface: 0) }
        // Over the file's snapshot length (65,535) but within libpcap's maximum for Ethernet.
        var over = AdversarialFlow(client: AdversarialAddresses.client(2), server: AdversarialAddresses.server)
        output.write(over.send(fromClient: true, flags: .syn))
        output.write(PacketBuilder.ethernet([UInt8](repeating: 0x45, count: 100_000 - 14)))
        // Over libpcap's maximum (262,144): reading stops here.
        output.write(PacketBuilder.ethernet([UInt8](repeating: 0x45, count: 300_000 - 14)))
        var lost = AdversarialFlow(client: AdversarialAddresses.client(3), server: AdversarialAddresses.server)
        conversation(&lost, id: "<after-giant@adversarial.example>", into: output)
    }

    private func pcapngInterfaces(_ output: AdversarialPcapng) {
        let interfaces = scaled(1_000)
        for _ in 0..<interfaces { output.addInterface(linkType: .ethernet) }
        let spread = SpreadOutput(inner: output, interfaces: interfaces)
        var flow = AdversarialFlow(client: AdversarialAddresses.client(1), server: AdversarialAddresses.server)
        conversation(&flow, id: "<pcapng-interfaces@adversarial.example>", into: spread)
    }

    private func pcapngMixed(_ output: AdversarialPcapng) {
        // Interface 0 carries a whole conversation; the others are described only after it.
        output.addInterface(linkType: .ethernet)
        var flow = AdversarialFlow(client: AdversarialAddresses.client(1), server: AdversarialAddresses.server)
        conversation(&flow, id: "<pcapng-mixed@adversarial.example>", into: output)
        for linkType in [LinkType.raw, .linuxSLL, .linuxSLL2, .null] { output.addInterface(linkType: linkType) }
        var other = AdversarialFlow(client: AdversarialAddresses.client(2), server: AdversarialAddresses.server)
        let syn = other.send(fromClient: true, flags: .syn)
        output.write(Array(syn.dropFirst(14)), interface: 1)
    }

    private func fragFlood(_ output: AdversarialOutput) {
        let count = scaled(1_000_000)
        let half = count / 2
        var conversationFlow = AdversarialFlow(client: AdversarialAddresses.client(0), server: AdversarialAddresses.fragmentedServer)
        let fragmenting = FragmentingOutput(inner: output)
        for index in 0..<count {
            if index == half { conversation(&conversationFlow, id: "<fragmented@adversarial.example>", into: fragmenting) }
            // First fragment of a two-fragment TCP datagram whose second fragment never comes.
            let v6 = index % 2 == 1
            var flow = AdversarialFlow(
                client: v6 ? AdversarialAddresses.client6(index) : AdversarialAddresses.client(index + 1),
                server: v6 ? AdversarialAddresses.server6 : AdversarialAddresses.server)
            let segment = flow.send(fromClient: true, payload: [UInt8](repeating: UInt8(ascii: "F"), count: 512))
            let pieces = PacketBuilder.fragments(Array(segment.dropFirst(14)), count: 2, identification: UInt32(truncatingIfNeeded: index))
            if let first = pieces.first { output.write(PacketBuilder.ethernet(first)) }
        }
        if half == 0 { conversation(&conversationFlow, id: "<fragmented@adversarial.example>", into: fragmenting) }
    }

    // MARK: building blocks

    /// A whole SMTP conversation: handshake, banner, EHLO, one accepted message, QUIT, close.
    private func conversation(_ flow: inout AdversarialFlow, id: String, into output: AdversarialOutput) {
        envelope(&flow, into: output)
        sendBody(MessageBody(count: 2_000, messageID: id), flow: &flow, into: output)
        flow.say("\r\n.\r\n", fromClient: true, into: output)
        flow.say("250 2.0.0 Ok: queued\r\n", fromClient: false, into: output)
        quit(&flow, into: output)
    }

    /// Handshake, banner, EHLO, MAIL, RCPT, DATA up to the 354.
    private func envelope(_ flow: inout AdversarialFlow, into output: AdversarialOutput) {
        flow.handshake(into: output)
        flow.say("220 mx.adversarial.example ESMTP\r\n", fromClient: false, into: output)
        flow.say("EHLO client.adversarial.example\r\n", fromClient: true, into: output)
        flow.say("250-mx.adversarial.example\r\n250 8BITMIME\r\n", fromClient: false, into: output)
        flow.say("MAIL FROM:<sender@adversarial.example>\r\n", fromClient: true, into: output)
        flow.say("250 2.1.0 Ok\r\n", fromClient: false, into: output)
        flow.say("RCPT TO:<rcpt@adversarial.example>\r\n", fromClient: true, into: output)
        flow.say("250 2.1.5 Ok\r\n", fromClient: false, into: output)
        flow.say("DATA\r\n", fromClient: true, into: output)
        flow.say("354 End data with <CR><LF>.<CR><LF>\r\n", fromClient: false, into: output)
    }

    private func quit(_ flow: inout AdversarialFlow, into output: AdversarialOutput) {
        flow.say("QUIT\r\n", fromClient: true, into: output)
        flow.say("221 2.0.0 Bye\r\n", fromClient: false, into: output)
        flow.close(into: output)
    }

    /// The body in full segments, with a server ACK every 32 segments.
    private func sendBody(_ body: MessageBody, flow: inout AdversarialFlow, into output: AdversarialOutput) {
        var offset = 0
        var segments = 0
        while offset < body.count {
            let size = min(1_448, body.count - offset)
            output.write(flow.send(fromClient: true, payload: body.slice(at: offset, count: size)))
            offset += size
            segments += 1
            if segments % 32 == 0 { output.write(flow.send(fromClient: false, flags: .ack)) }
        }
    }
}

/// A message of `count` bytes made on demand: a short header block (with the
/// Message-ID), then 80-byte lines of `x`, never a dot at a line start. Ends with
/// CRLF only if the pattern happens to; the caller sends `\r\n.\r\n`.
struct MessageBody {
    let count: Int
    private let header: [UInt8]
    private let line: [UInt8]

    init(count: Int, messageID: String?, skipHeader: Bool = false) {
        self.count = count
        var text = ""
        if !skipHeader {
            text = "From: sender@adversarial.example\r\nTo: rcpt@adversarial.example\r\nSubject: adversarial\r\n"
            if let messageID { text += "Message-ID: \(messageID)\r\n" }
            text += "\r\n"
        }
        header = Array(text.utf8)
        line = Array((String(repeating: "x", count: 78) + "\r\n").utf8)
    }

    /// Bytes `[offset, offset + count)` of the message (clipped to its size).
    func slice(at offset: Int, count wanted: Int) -> [UInt8] {
        let end = min(count, offset + wanted)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(max(0, end - offset))
        var position = offset
        while position < end {
            if position < header.count {
                bytes.append(header[position])
                position += 1
            } else {
                let inLine = (position - header.count) % line.count
                let take = min(line.count - inLine, end - position)
                bytes += line[inLine..<(inLine + take)]
                position += take
            }
        }
        return bytes
    }
}

/// Spreads frames round-robin over a pcapng file's interfaces.
final class SpreadOutput: AdversarialOutput {
    let inner: AdversarialOutput
    let interfaces: Int
    init(inner: AdversarialOutput, interfaces: Int) {
        self.inner = inner
        self.interfaces = max(1, interfaces)
    }
    var frames: UInt64 { inner.frames }
    var fileBytes: Int { inner.fileBytes }
    func write(_ frame: [UInt8], wireLength: Int, interface: Int) {
        inner.write(frame, wireLength: wireLength, interface: Int(inner.frames % UInt64(interfaces)))
    }
    func close() throws { try inner.close() }
}

/// Sends each Ethernet frame's IP packet as two IP fragments (in order).
final class FragmentingOutput: AdversarialOutput {
    let inner: AdversarialOutput
    private var identification: UInt32 = 0x8000_0000
    init(inner: AdversarialOutput) { self.inner = inner }
    var frames: UInt64 { inner.frames }
    var fileBytes: Int { inner.fileBytes }
    func write(_ frame: [UInt8], wireLength: Int, interface: Int) {
        identification &+= 1
        for piece in PacketBuilder.fragments(Array(frame.dropFirst(14)), count: 2, identification: identification) {
            inner.write(PacketBuilder.ethernet(piece), interface: interface)
        }
    }
    func close() throws { try inner.close() }
}
