/// What happens to one delivery attempt, decided before it starts.
enum Fate: Equatable {
    /// 250 after end of data; `split` lists where segment boundaries fall inside the terminator.
    case accepted(split: [Int])
    /// The terminator is split and no reply comes (a Mailguard-style middlebox dropped it).
    case stalled(split: [Int])
    /// Terminator in one segment, still no reply.
    case unanswered
    /// 450 to every RCPT (greylisting), so DATA gets 554 and no message is sent.
    case greylistedAtRecipient
    /// 450 after end of data (greylisting on the content).
    case greylistedAtEnd
    /// 554 after end of data.
    case rejected

    /// Positions of the segment boundaries inside the terminator this fate asks for.
    var split: [Int] {
        switch self {
        case .accepted(let split), .stalled(let split): return split
        default: return []
        }
    }

    /// The client gives up waiting: the attempt ends the connection.
    var stalls: Bool {
        switch self {
        case .stalled, .unanswered: return true
        default: return false
        }
    }
}

/// One message and its current attempt. Retries carry the same identity
/// (`serial`, Message-ID, content), so the bytes sent again are identical.
struct MessagePlan {
    var serial: UInt64
    var messageID: String
    /// Header and body bytes on the wire (before `.\r\n`).
    var contentLength: Int
    var mailFrom: String
    var recipients: [String]
    var stuffing: Bool
    var fate: Fate
    /// 1 for the first attempt.
    var attempt: Int

    /// Draws a message: sizes 1 KB-200 KB log-uniform, and a fate from the traffic mix.
    static func draw(serial: UInt64, seed: UInt64, domain: String, random: inout SplitMix64) -> MessagePlan {
        let contentLength = random.logUniform(1_024...204_800)
        let sender = "\(senderNames[random.below(senderNames.count)])\(random.below(500))@\(domain)"
        let recipientCount = random.chance(0.8) ? 1 : random.int(2...3)
        let recipients = (0..<recipientCount).map { _ in
            "\(recipientNames[random.below(recipientNames.count)])\(random.below(2_000))@example.com"
        }
        let stuffing = random.chance(0.1)
        let messageID = "<\(String(seed, radix: 16)).\(serial).\(random.below(1 << 30))@\(domain)>"
        return MessagePlan(
            serial: serial, messageID: messageID, contentLength: contentLength, mailFrom: sender,
            recipients: recipients, stuffing: stuffing, fate: drawFate(&random), attempt: 1)
    }

    /// The traffic mix of first attempts (percent): 2.5 split + stalled, 2 split + answered,
    /// 0.5 unanswered, 1.5 greylisted at RCPT, 1.5 greylisted at end of data, 1 rejected, rest accepted.
    static func drawFate(_ random: inout SplitMix64) -> Fate {
        let roll = random.unit() * 100
        switch roll {
        case ..<2.5: return .stalled(split: drawSplit(&random))
        case ..<4.5: return .accepted(split: drawSplit(&random))
        case ..<5.0: return .unanswered
        case ..<6.5: return .greylistedAtRecipient
        case ..<8.0: return .greylistedAtEnd
        case ..<9.0: return .rejected
        default: return .accepted(split: [])
        }
    }

    /// `\r\n | .\r\n` is the classic split; the others occur with other client stacks.
    static func drawSplit(_ random: inout SplitMix64) -> [Int] {
        let patterns: [[Int]] = [[2], [2], [2], [1], [3], [4], [2, 3], [1, 2, 3, 4]]
        return patterns[random.below(patterns.count)]
    }

    /// The next attempt after this one, if the sender tries again: greylisted
    /// messages are accepted on retry; stalled ones stall again half the time
    /// (the same client splits the same way), up to three attempts.
    func retry(_ random: inout SplitMix64) -> MessagePlan? {
        guard attempt < 3 else { return nil }
        var next = self
        next.attempt += 1
        switch fate {
        case .greylistedAtRecipient, .greylistedAtEnd:
            next.fate = .accepted(split: [])
        case .stalled(let split):
            guard random.chance(0.7) else { return nil }
            next.fate = random.chance(0.5) ? .stalled(split: split) : .accepted(split: [])
        case .unanswered:
            guard random.chance(0.7) else { return nil }
            next.fate = .accepted(split: [])
        case .accepted, .rejected:
            return nil
        }
        return next
    }
}

private let senderNames = ["alerts", "billing", "newsletter", "jane.doe", "john.smith", "orders", "support", "hr"]
private let recipientNames = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
