import SMTP
import Testing

/// One step of a scripted conversation, in the order a capture would deliver it.
enum Step {
    case send(SMTPSide, [UInt8])
    case gap(SMTPSide, UInt64)
    case end(SMTPSide)
}

/// Builds a script and tracks each side's stream length, so tests compute offsets from the
/// lengths of the literal text they wrote (never from the engine's output).
struct Dialog {
    var steps: [Step] = []
    var clientLength: UInt64 = 0
    var serverLength: UInt64 = 0
    var options = SMTPOptions()

    /// Appends client bytes; returns the stream offset of their first byte.
    @discardableResult
    mutating func client(_ text: String) -> UInt64 { client(Array(text.utf8)) }

    @discardableResult
    mutating func client(_ bytes: [UInt8]) -> UInt64 {
        let at = clientLength
        steps.append(.send(.client, bytes))
        clientLength += UInt64(bytes.count)
        return at
    }

    @discardableResult
    mutating func server(_ text: String) -> UInt64 {
        let at = serverLength
        let bytes = Array(text.utf8)
        steps.append(.send(.server, bytes))
        serverLength += UInt64(bytes.count)
        return at
    }

    mutating func gap(_ side: SMTPSide, _ length: UInt64) {
        steps.append(.gap(side, length))
        if side == .client { clientLength += length } else { serverLength += length }
    }

    mutating func end(_ side: SMTPSide) { steps.append(.end(side)) }

    var totalBytes: Int {
        steps.reduce(0) { n, step in
            if case .send(_, let b) = step { return n + b.count }
            return n
        }
    }

    /// Runs the script; `cuts` are positions in the concatenation of all sent bytes (in step
    /// order) where a chunk boundary is added, on top of the step boundaries.
    func run(cuts: [Int] = []) -> [SMTPEvent] {
        var session = SMTPSession(options: options)
        var events: [SMTPEvent] = []
        var offsets: [SMTPSide: UInt64] = [.client: 0, .server: 0]
        var global = 0
        var cutIndex = 0
        let sortedCuts = cuts.sorted()
        for step in steps {
            switch step {
            case .send(let side, let bytes):
                var start = 0
                while start < bytes.count {
                    while cutIndex < sortedCuts.count && sortedCuts[cutIndex] <= global + start { cutIndex += 1 }
                    var end = bytes.count
                    if cutIndex < sortedCuts.count && sortedCuts[cutIndex] < global + bytes.count {
                        end = sortedCuts[cutIndex] - global
                    }
                    let at = offsets[side, default: 0] + UInt64(start)
                    bytes[start..<end].withUnsafeBytes { session.feed(side, $0, at: at) { events.append($0) } }
                    start = end
                }
                offsets[side, default: 0] += UInt64(bytes.count)
                global += bytes.count
            case .gap(let side, let length):
                session.gap(side, at: offsets[side, default: 0], length: length) { events.append($0) }
                offsets[side, default: 0] += length
            case .end(let side):
                session.end(side) { events.append($0) }
            }
        }
        return events
    }
}

/// swift-nio ByteToMessageDecoderVerifier style: the same events whatever the chunking —
/// whole steps, byte by byte, every 2-way split, and every (or, for long scripts, a seeded
/// sample of) 3-way split. Returns the events of the whole-steps run.
func verified(_ dialog: Dialog, sourceLocation: SourceLocation = #_sourceLocation) -> [SMTPEvent] {
    let whole = dialog.run()
    let total = dialog.totalBytes
    func check(_ cuts: [Int]) -> Bool {
        let got = dialog.run(cuts: cuts)
        if got != whole {
            Issue.record("events differ with chunk cuts at \(cuts.count > 8 ? "every byte" : "\(cuts)")", sourceLocation: sourceLocation)
            return false
        }
        return true
    }
    guard check(Array(0..<total)) else { return whole }
    for p in 1..<max(1, total) { guard check([p]) else { return whole } }
    if total <= 140 {
        for p in 1..<max(1, total) {
            for q in (p + 1)..<max(p + 1, total) { guard check([p, q]) else { return whole } }
        }
    } else {
        var rng = SplitMix64(seed: UInt64(total))
        for _ in 0..<1500 {
            let p = Int(rng.next() % UInt64(total - 1)) + 1
            let q = Int(rng.next() % UInt64(total - 1)) + 1
            guard p != q else { continue }
            guard check([min(p, q), max(p, q)]) else { return whole }
        }
    }
    return whole
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Reference for the strict reading of DATA content (RFC 5321 §4.1.1.4, §4.5.2), written
/// independently of the engine. `sent` is what the client wrote after the DATA line and before
/// the final `.\r\n`; each of its lines keeps its CRLF (the CRLF of `\r\n.\r\n` ends the last
/// line), and one leading dot per line is dropped. The message as Postfix counts it in `size=`.
func unstuffed(_ sent: String) -> [UInt8] {
    let bytes = Array(sent.utf8)
    var out: [UInt8] = []
    var lineStart = 0
    var i = 0
    while i <= bytes.count {
        let atLineEnd = i == bytes.count || (i >= 1 && bytes[i - 1] == 0x0D && bytes[i] == 0x0A)
        if atLineEnd {
            let end = i == bytes.count ? i : i + 1
            let line = bytes[lineStart..<end]
            out += line.first == 0x2E ? Array(line.dropFirst()) : Array(line)
            lineStart = end
        }
        i += 1
    }
    return out
}

/// XXH64 with seed 0, one-shot, written from the published specification
/// (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md), for expected fingerprints.
/// Checked against the specification's reference values in `FingerprintTests`.
func xxh64Hex(_ bytes: [UInt8]) -> String {
    let p1: UInt64 = 11_400_714_785_074_694_791
    let p2: UInt64 = 14_029_467_366_897_019_727
    let p3: UInt64 = 1_609_587_929_392_839_161
    let p4: UInt64 = 9_650_029_242_287_828_579
    let p5: UInt64 = 2_870_177_450_012_600_261
    func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
    func word(_ at: Int, _ width: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<width { v |= UInt64(bytes[at + k]) << UInt64(8 * k) }
        return v
    }
    func round(_ acc: UInt64, _ lane: UInt64) -> UInt64 { rotl(acc &+ lane &* p2, 31) &* p1 }
    var i = 0
    var h: UInt64
    if bytes.count >= 32 {
        var acc = [p1 &+ p2, p2, 0, 0 &- p1]
        while bytes.count - i >= 32 {
            for lane in 0..<4 { acc[lane] = round(acc[lane], word(i + 8 * lane, 8)) }
            i += 32
        }
        h = rotl(acc[0], 1) &+ rotl(acc[1], 7) &+ rotl(acc[2], 12) &+ rotl(acc[3], 18)
        for lane in 0..<4 { h = (h ^ round(0, acc[lane])) &* p1 &+ p4 }
    } else {
        h = p5
    }
    h &+= UInt64(bytes.count)
    while bytes.count - i >= 8 {
        h = rotl(h ^ round(0, word(i, 8)), 27) &* p1 &+ p4
        i += 8
    }
    if bytes.count - i >= 4 {
        h = rotl(h ^ (word(i, 4) &* p1), 23) &* p2 &+ p3
        i += 4
    }
    while i < bytes.count {
        h = rotl(h ^ (UInt64(bytes[i]) &* p5), 11) &* p1
        i += 1
    }
    h = (h ^ (h >> 33)) &* p2
    h = (h ^ (h >> 29)) &* p3
    h ^= h >> 32
    let s = String(h, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

func command(_ verb: String, _ argument: String, _ offset: UInt64, _ line: String) -> SMTPEvent {
    .command(SMTPCommand(verb: verb, argument: argument, offset: offset, length: line.utf8.count))
}

func cmd(_ verb: String, _ argument: String, _ offset: UInt64, _ line: String) -> SMTPCommand {
    SMTPCommand(verb: verb, argument: argument, offset: offset, length: line.utf8.count)
}

func reply(_ code: Int, _ lines: [String], _ offset: UInt64, _ text: String, _ context: ReplyContext) -> SMTPEvent {
    .reply(SMTPReply(code: code, lines: lines, offset: offset, endOffset: offset + UInt64(text.utf8.count)), answering: context)
}

func endsOfData(_ events: [SMTPEvent]) -> [(MessageSummary, TerminatorInfo?)] {
    events.compactMap {
        if case .endOfData(let s, let t) = $0 { return (s, t) }
        return nil
    }
}
