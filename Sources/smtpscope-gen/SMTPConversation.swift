import Wire

/// The fixed traits of one client talking to one mail server: addresses,
/// round-trip time and server delays. A retry reuses its profile, so the
/// retried MAIL comes exactly one retry interval after the previous one.
struct ClientProfile {
    var client: IPAddress
    var server: IPAddress
    var clientName: String
    var serverName: String
    var roundTrip: Int64
    var bannerDelay: Int64
    var ehloDelay: Int64
    /// Segments the client sends per round trip.
    var window: Int
    /// Spacing of back-to-back segments.
    var segmentGap: Int64

    /// From the SYN to the first MAIL of a connection (see ``SMTPConversation``'s timing).
    var synToMail: Int64 { 3 * roundTrip + bannerDelay + ehloDelay }
}

/// One SMTP connection on port 25, captured next to the server: handshake,
/// banner, EHLO, then per message a pipelined MAIL/RCPT/DATA, 354, the
/// message in MSS-sized segments acknowledged by the server, the end-of-data
/// reply (or none), and QUIT/221/FIN — or the client giving up after a stall.
final class SMTPConversation: ScriptedFlow {
    private enum Step { case connect, ehlo, envelope, data, endOfData, afterMessage, done }

    let profile: ClientProfile
    /// Takes a slot of the concurrency budget from its launch; a retry counts
    /// against the budget only from its first frame (``counted``).
    let holdsSlot: Bool
    /// Set by the generator when a retry's first frame is written.
    var counted = false
    private var messages: [MessagePlan]
    private var current = 0
    private var transactions = 0
    private var step = Step.connect
    private let flowStart: Int64

    // The message being sent.
    private var stream: MessageStream?
    private var planned = 0
    private var splitSeen: [Int] = []
    private var burstStart: Int64 = 0
    private var mailTime: Int64 = 0
    private var terminatorFrames: [UInt64] = []
    private var settlement: Settlement?

    /// What the truth file will say about the current message once its deciding frame is written.
    private struct Settlement {
        var replyCode: Int?
        var recipientReplyCode: Int?
        var outcome: String
        var diagnosis: String
        var sent: Bool
    }

    init(profile: ClientProfile, clientPort: UInt16, messages: [MessagePlan], start: Int64, holdsSlot: Bool, random: SplitMix64) {
        var random = random
        let connection = TCPConnection(
            client: Endpoint(address: profile.client, port: clientPort), server: Endpoint(address: profile.server, port: 25),
            random: &random)
        self.profile = profile
        self.messages = messages
        self.holdsSlot = holdsSlot
        self.flowStart = start
        super.init(connection: connection, random: random)
        burstStart = start
    }

    override var isSMTP: Bool { true }

    override func planMore() {
        let rtt = profile.roundTrip
        switch step {
        case .connect:
            send(at: flowStart, fromClient: true, .syn)
            send(at: flowStart + 40_000, fromClient: false, [.syn, .ack])
            send(at: flowStart + rtt, fromClient: true, .ack)
            send(at: lastPlanned + profile.bannerDelay, fromClient: false, [.psh, .ack], text("220 \(profile.serverName) ESMTP Postfix\r\n"))
            step = .ehlo
        case .ehlo:
            send(at: lastPlanned + rtt, fromClient: true, [.psh, .ack], text("EHLO \(profile.clientName)\r\n"))
            let lines = ["\(profile.serverName)", "PIPELINING", "SIZE 52428800", "VRFY", "ETRN", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "CHUNKING"]
            let reply = lines.enumerated().map { "250\($0.offset == lines.count - 1 ? " " : "-")\($0.element)\r\n" }.joined()
            send(at: lastPlanned + profile.ehloDelay, fromClient: false, [.psh, .ack], text(reply))
            step = .envelope
        case .envelope:
            planEnvelope()
        case .data:
            planBurst()
        case .endOfData:
            planEndOfData()
        case .afterMessage:
            if current < messages.count {
                step = .envelope
                planEnvelope()
            } else {
                send(at: lastPlanned + rtt, fromClient: true, [.psh, .ack], text("QUIT\r\n"))
                send(at: lastPlanned + 200_000, fromClient: false, [.psh, .ack], text("221 2.0.0 Bye\r\n"))
                send(at: lastPlanned + 50_000, fromClient: false, [.fin, .ack])
                send(at: lastPlanned + rtt, fromClient: true, [.fin, .ack])
                send(at: lastPlanned + 40_000, fromClient: false, .ack)
                step = .done
            }
        case .done:
            break
        }
    }

    private func planEnvelope() {
        let message = messages[current]
        mailTime = lastPlanned + profile.roundTrip
        var commands = "MAIL FROM:<\(message.mailFrom)> SIZE=\(message.contentLength)\r\n"
        for recipient in message.recipients { commands += "RCPT TO:<\(recipient)>\r\n" }
        commands += "DATA\r\n"
        send(at: mailTime, fromClient: true, [.psh, .ack], text(commands))
        let delay = random.micros(800, 15_000)
        var reply = "250 2.1.0 Ok\r\n"
        if message.fate == .greylistedAtRecipient {
            for recipient in message.recipients {
                reply += "450 4.2.0 <\(recipient)>: Recipient address rejected: Greylisted, please try again later\r\n"
            }
            reply += "554 5.5.1 Error: no valid recipients\r\n"
            settlement = Settlement(replyCode: 554, recipientReplyCode: 450, outcome: "rejected", diagnosis: "rejected", sent: false)
            send(at: lastPlanned + delay, fromClient: false, [.psh, .ack], text(reply), tag: .settles)
            step = .afterMessage
            return
        }
        for _ in message.recipients { reply += "250 2.1.5 Ok\r\n" }
        reply += "354 End data with <CR><LF>.<CR><LF>\r\n"
        send(at: lastPlanned + delay, fromClient: false, [.psh, .ack], text(reply))
        var bodyRandom = SplitMix64(seed: message.serial, stream: 0xB0D1)
        let header = Self.header(message, profile: profile, random: &bodyRandom)
        stream = MessageStream(header: header, contentLength: message.contentLength, stuffing: message.stuffing, random: bodyRandom)
        planned = 0
        splitSeen = []
        terminatorFrames = []
        burstStart = lastPlanned + profile.roundTrip
        step = .data
    }

    /// One window of message segments, the server acknowledging every second one.
    private func planBurst() {
        guard let stream else { return }
        let split = messages[current].fate.split
        let total = stream.totalLength
        let terminator = stream.terminatorOffset
        var time = max(burstStart, lastPlanned)
        var unacknowledged = 0
        var lastAck = time
        for index in 0..<profile.window where planned < total {
            let end = Self.segmentEnd(from: planned, size: connection.segmentSize, total: total, terminator: terminator, split: split)
            let carriesTerminator = end > terminator
            if end > terminator, end < total { splitSeen.append(end - terminator) }
            send(at: time, fromClient: true, end == total ? [.psh, .ack] : .ack, .messageData(end - planned), tag: carriesTerminator ? .terminatorPiece : .none)
            planned = end
            unacknowledged += 1
            if unacknowledged == 2 || planned == total || index == profile.window - 1 {
                lastAck = time + 25_000
                send(at: lastAck, fromClient: false, .ack)
                unacknowledged = 0
            }
            time += profile.segmentGap
        }
        if planned == total {
            step = .endOfData
        } else {
            burstStart = lastAck + profile.roundTrip
        }
    }

    /// Where the segment starting at `start` ends: a full segment, except that
    /// boundaries inside the terminator fall exactly at the requested split
    /// positions (a boundary that would land elsewhere inside is moved to its start).
    static func segmentEnd(from start: Int, size: Int, total: Int, terminator: Int, split: [Int]) -> Int {
        var end = min(start + size, total)
        if end > terminator, end < total {
            end = terminator > start ? terminator : total
        }
        for position in split where terminator + position > start {
            end = min(end, terminator + position)
        }
        return end
    }

    private func planEndOfData() {
        let message = messages[current]
        let latency = random.micros(3_000, 60_000)
        let time = lastPlanned + latency
        switch message.fate {
        case .accepted:
            let queueID = String(random.next() & 0xFF_FFFF_FFFF, radix: 16, uppercase: true)
            settlement = Settlement(replyCode: 250, outcome: "accepted", diagnosis: "ok", sent: true)
            send(at: time, fromClient: false, [.psh, .ack], text("250 2.0.0 Ok: queued as \(queueID)\r\n"), tag: .settles)
            step = .afterMessage
        case .rejected:
            settlement = Settlement(replyCode: 554, outcome: "rejected", diagnosis: "rejected", sent: true)
            send(at: time, fromClient: false, [.psh, .ack], text("554 5.7.1 Message rejected: spam content detected\r\n"), tag: .settles)
            step = .afterMessage
        case .greylistedAtEnd:
            settlement = Settlement(replyCode: 450, outcome: "rejected", diagnosis: "rejected", sent: true)
            send(at: time, fromClient: false, [.psh, .ack], text("450 4.7.1 Message deferred: greylisted, try again later\r\n"), tag: .settles)
            step = .afterMessage
        case .stalled, .unanswered:
            // No reply: the client waits out its timeout, then quits or resets.
            let diagnosis = message.fate == .unanswered ? "unanswered" : "split_terminator_stall"
            settlement = Settlement(replyCode: nil, outcome: "no_reply", diagnosis: diagnosis, sent: true)
            let giveUp = lastPlanned + random.millis(30_000, 45_000)
            if random.chance(0.5) {
                send(at: giveUp, fromClient: true, [.psh, .ack], text("QUIT\r\n"), tag: .settles)
                send(at: lastPlanned + 50_000, fromClient: true, [.fin, .ack])
                send(at: lastPlanned + 40_000, fromClient: false, .ack)
                send(at: lastPlanned + 1_000_000, fromClient: false, [.fin, .ack])
                send(at: lastPlanned + profile.roundTrip, fromClient: true, .ack)
            } else {
                send(at: giveUp, fromClient: true, [.rst, .ack], tag: .settles)
            }
            messages.removeSubrange((current + 1)...)  // the connection is over
            step = .done
        case .greylistedAtRecipient:
            step = .afterMessage  // settled at the envelope
        }
    }

    override func fillMessageData(_ count: Int, into out: inout [UInt8]) {
        stream?.read(count, into: &out)
    }

    override func written(_ planned: PlannedFrame, frame: UInt64, generator: Generator) {
        switch planned.tag {
        case .none: return
        case .terminatorPiece: terminatorFrames.append(frame)
        case .settles:
            guard let settlement else { return }
            let message = messages[current]
            var size: Int?
            if let stream { size = stream.contentLength - stream.stuffedLines }  // content includes the last line's CRLF (RFC 5321 §4.1.1.4)
            generator.record(
                TruthRecord(
                    client: connection.client, server: connection.server, flowStart: flowStart, transaction: transactions,
                    messageID: settlement.sent ? message.messageID : nil, plannedMessageID: message.messageID,
                    attempt: message.attempt, splitAfter: settlement.sent ? splitSeen : [],
                    terminatorFrames: terminatorFrames, replyCode: settlement.replyCode,
                    recipientReplyCode: settlement.recipientReplyCode, replyFrame: settlement.replyCode == nil ? nil : frame,
                    outcome: settlement.outcome, diagnosis: settlement.diagnosis, mailTime: mailTime,
                    size: settlement.sent ? size : nil, dotStuffed: settlement.sent && (stream?.stuffedLines ?? 0) > 0))
            if message.fate.stalls || message.fate == .greylistedAtEnd || message.fate == .greylistedAtRecipient,
                let retry = message.retry(&random)
            {
                generator.scheduleRetry(retry, profile: profile, previousMail: mailTime)
            }
            self.settlement = nil
            stream = nil
            transactions += 1
            current += 1
        }
    }

    private func text(_ string: String) -> PlannedPayload { .text(Array(string.utf8)) }

    /// The header block the client sends; made from the message's own random stream, so retries repeat it.
    static func header(_ message: MessagePlan, profile: ClientProfile, random: inout SplitMix64) -> [UInt8] {
        let subjects = ["Quarterly report", "Invoice", "Meeting notes", "Shipment update", "Newsletter", "Re: proposal"]
        let subject = "\(subjects[random.below(subjects.count)]) \(random.below(100_000))"
        var text = "Received: from workstation\(random.below(250)).\(profile.clientName) ([10.\(random.below(256)).\(random.below(256)).\(random.int(1...254))])\r\n"
        text += "\tby \(profile.clientName) (Postfix) with ESMTPSA id \(String(random.next() & 0xFF_FFFF_FFFF, radix: 16, uppercase: true))\r\n"
        text += "\tfor <\(message.recipients[0])>; \(rfc5322Date(epochSeconds: 1_704_067_200 + Int64(random.below(86_400))))\r\n"
        text += "From: <\(message.mailFrom)>\r\n"
        text += "To: \(message.recipients.map { "<\($0)>" }.joined(separator: ", "))\r\n"
        text += "Subject: \(subject)\r\n"
        text += "Date: \(rfc5322Date(epochSeconds: 1_704_067_200 + Int64(random.below(86_400))))\r\n"
        text += "Message-ID: \(message.messageID)\r\n"
        text += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        return Array(text.utf8)
    }
}

/// `Mon, 01 Jan 2024 00:00:00 +0000` (civil-from-days, proleptic Gregorian).
func rfc5322Date(epochSeconds: Int64) -> String {
    let days = Int(epochSeconds / 86_400)
    let secondsOfDay = Int(epochSeconds % 86_400)
    let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    let z = days + 719_468
    let era = z / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    return "\(weekdays[days % 7]), \(two(day)) \(months[month - 1]) \(year) \(two(secondsOfDay / 3_600)):\(two(secondsOfDay / 60 % 60)):\(two(secondsOfDay % 60)) +0000"
}
