/// The bytes a client sends after 354: a header block and text lines (dot-
/// stuffed where a line begins with a dot), ending with `.\r\n`. Made a few
/// bytes at a time from the message's own random stream, so a 200 KB message
/// costs no memory, and the same message sent again is byte-identical.
struct MessageStream {
    /// Bytes of header and body on the wire (dot-stuffed), ending with CRLF.
    let contentLength: Int
    /// Everything sent after 354: content plus `.\r\n`.
    var totalLength: Int { contentLength + 3 }
    /// Stream offset of the end-of-data sequence `\r\n.\r\n`.
    var terminatorOffset: Int { contentLength - 2 }
    /// Lines that were dot-stuffed (each added one byte on the wire).
    private(set) var stuffedLines = 0

    private var random: SplitMix64
    private let header: [UInt8]
    private let stuffing: Bool
    private var position = 0
    private var line: [UInt8] = []
    private var lineIndex = 0

    init(header: [UInt8], contentLength: Int, stuffing: Bool, random: SplitMix64) {
        self.header = header
        self.contentLength = max(contentLength, header.count + 3)
        self.stuffing = stuffing
        self.random = random
        line.reserveCapacity(96)
    }

    /// Appends the next `count` bytes of the stream to `out`.
    mutating func read(_ count: Int, into out: inout [UInt8]) {
        var wanted = min(count, totalLength - position)
        while wanted > 0 {
            if lineIndex == line.count { nextLine() }
            let take = min(wanted, line.count - lineIndex)
            out.append(contentsOf: line[lineIndex..<(lineIndex + take)])
            lineIndex += take
            position += take
            wanted -= take
        }
    }

    /// Fills `line` with the next piece: the header block, a body line, the last line, or `.\r\n`.
    private mutating func nextLine() {
        line.removeAll(keepingCapacity: true)
        lineIndex = 0
        if position == 0 {
            line.append(contentsOf: header)
            return
        }
        let remaining = contentLength - position
        if remaining <= 0 {
            line.append(contentsOf: [0x2e, 0x0d, 0x0a])
            return
        }
        // Lines of 40-78 bytes with CRLF; the last one takes exactly what is left (at least 3).
        let length = remaining <= 80 ? remaining : random.int(40...78)
        if stuffing, length >= 5, remaining > 80, random.chance(0.02) {
            line.append(contentsOf: [0x2e, 0x2e])  // a line that began with "." goes out as ".."
            stuffedLines += 1
        }
        var needsSpace = false
        while line.count < length - 2 {
            if needsSpace {
                line.append(0x20)
                needsSpace = false
                continue
            }
            let word = words[random.below(words.count)]
            line.append(contentsOf: word.prefix(length - 2 - line.count))
            needsSpace = true
        }
        line.append(contentsOf: [0x0d, 0x0a])
    }
}

private let words: [[UInt8]] = [
    "the", "delivery", "report", "for", "quarter", "please", "find", "attached", "summary", "of", "meeting",
    "notes", "and", "action", "items", "regarding", "invoice", "number", "shipment", "tracking", "customer",
    "account", "balance", "schedule", "review", "draft", "proposal", "update", "status", "project", "team",
    "thanks", "regards", "best", "kind", "with", "from", "to", "on", "in", "at", "by", "we", "you", "will",
    "should", "could", "would", "mail", "server", "queue", "relay", "message", "retry", "later",
].map { Array($0.utf8) }
