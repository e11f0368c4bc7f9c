import Reassembly
import SMTP

/// Turns a ``TranscriptRecording`` into transcript entries, both sides interleaved in the
/// order their bytes became complete. Client bytes are read as the SMTP engine read them:
/// command lines, message content (from its start to its terminator, or a BDAT chunk's
/// size), TLS after STARTTLS; server bytes as reply lines, then TLS.
public enum TranscriptBuilder {
    /// A part of a client or server stream that is not read as lines of the dialog.
    private struct Region {
        enum Kind { case message, encrypted }
        var kind: Kind
        var start: UInt64
        var end: UInt64
        /// Message lines stop here; the rest up to `end` is the terminator, shown on its own.
        var contentEnd: UInt64
        init(kind: Kind, start: UInt64, end: UInt64, contentEnd: UInt64? = nil) {
            self.kind = kind
            self.start = start
            self.end = end
            self.contentEnd = contentEnd ?? end
        }
    }

    public static func entries(_ recording: TranscriptRecording, options: TranscriptOptions = TranscriptOptions()) -> [TranscriptEntry] {
        var clientRegions: [Region] = []
        var serverRegions: [Region] = []
        var clientNotes: [TranscriptEntry] = []
        var messageStart: [Int: UInt64] = [:]
        var bdat: Set<Int> = []
        var commands: [UInt64: SMTPCommand] = [:]
        var replyToEnd: [Int: Int] = [:]
        for (event, _) in recording.events {
            if case .reply(let reply, .endOfData(let t)) = event, replyToEnd[t] == nil { replyToEnd[t] = reply.code }
        }
        let client = recording.client
        for (event, order) in recording.events {
            switch event {
            case .command(let command):
                commands[command.offset] = command
            case .messageStarted(let t, let offset):
                messageStart[t] = offset
            case .bdatChunk(let t, let size, _, let offset):
                bdat.insert(t)
                clientRegions.append(Region(kind: .message, start: offset, end: offset &+ size))
            case .endOfData(let summary, let terminator):
                let t = summary.transaction
                if bdat.contains(t) || terminator == nil {
                    // BDAT … LAST: the message ends with the last chunk's byte, no terminator.
                    let end = clientRegions.last { $0.kind == .message }?.end ?? 0
                    clientNotes.append(TranscriptEntry(
                        kind: .endOfData(.init(
                            transaction: t, style: nil, splitAfter: [], spreadNanoseconds: 0, repeatedBy: [],
                            mailFrom: summary.mailFrom, rcptTo: summary.rcptTo, messageID: summary.messageID,
                            size: summary.size, replyCode: replyToEnd[t])),
                        direction: .clientToServer, offset: end, length: 0, slices: [], bytes: [], order: order,
                        timestampNanoseconds: nil))
                    continue
                }
                guard let start = messageStart[t], let terminator else { continue }
                let terminatorEnd = terminator.offset &+ UInt64(terminator.length)
                clientRegions.append(Region(
                    kind: .message, start: start, end: max(start, terminatorEnd), contentEnd: max(start, terminator.offset)))
                let info = TranscriptEntry.Terminator(
                    transaction: t, style: terminator.style, splitAfter: [], spreadNanoseconds: 0,
                    repeatedBy: repeats(in: client, offset: terminator.offset, length: UInt64(terminator.length)),
                    mailFrom: summary.mailFrom, rcptTo: summary.rcptTo, messageID: summary.messageID,
                    size: summary.size, replyCode: replyToEnd[t])
                var entry = span(
                    client, .endOfData(info), .clientToServer, terminator.offset, UInt64(terminator.length), fallbackOrder: order)
                if case .endOfData(var geometry) = entry.kind {
                    geometry.splitAfter = entry.cuts
                    let times = entry.slices.map(\.timestampNanoseconds)
                    geometry.spreadNanoseconds = (times.max() ?? 0) &- (times.min() ?? 0)
                    entry.kind = .endOfData(geometry)
                }
                clientNotes.append(entry)
            case .messageIncomplete(let summary, _):
                let t = summary.transaction
                guard !bdat.contains(t), let start = messageStart[t] else { continue }
                let gapAfter = client.gaps.first { $0.offset >= start }?.offset ?? UInt64.max
                clientRegions.append(Region(kind: .message, start: start, end: gapAfter))
            case .nearMissTerminator(let t, let terminator):
                clientNotes.append(span(
                    client, .nearMiss(transaction: t, style: terminator.style), .clientToServer, terminator.offset,
                    UInt64(terminator.length), fallbackOrder: order))
            case .smugglingAccepted(let t, let terminator, let envelope):
                var note = span(
                    client, .smuggling(transaction: t, envelope: envelope), .clientToServer, terminator.offset,
                    UInt64(terminator.length), fallbackOrder: order)
                note.order = max(note.order, order)
                clientNotes.append(note)
            case .tlsStarted(let clientOffset, let serverOffset):
                clientRegions.append(Region(kind: .encrypted, start: clientOffset, end: UInt64.max))
                serverRegions.append(Region(kind: .encrypted, start: serverOffset, end: UInt64.max))
            default:
                break
            }
        }
        var clientEntries = lines(client, .clientToServer, regions: clientRegions, commands: commands, options: options)
        clientEntries += clientNotes
        let serverEntries = lines(recording.server, .serverToClient, regions: serverRegions, commands: [:], options: options)
        let repeated = (repeatEntries(client, .clientToServer) + repeatEntries(recording.server, .serverToClient))
            .sorted { $0.order < $1.order }
        return merge([positional(clientEntries), positional(serverEntries), repeated])
    }

    // MARK: - Lines

    /// Lines of one direction outside and inside its regions, plus gaps, kept-limit notes and the end.
    private static func lines(
        _ stream: TranscriptStream, _ direction: FlowDirection, regions: [Region], commands: [UInt64: SMTPCommand],
        options: TranscriptOptions
    ) -> [TranscriptEntry] {
        var entries: [TranscriptEntry] = []
        let sorted = regions.sorted { $0.start < $1.start }
        let end = stream.endOffset
        var cursor: UInt64 = 0
        for region in sorted where region.end > cursor {
            let start = max(region.start, cursor)
            if start > cursor { entries += dialogLines(stream, direction, cursor, start, commands: commands) }
            let stop = min(region.end, end)
            guard stop > start else {
                cursor = max(cursor, start)
                continue
            }
            switch region.kind {
            case .message: entries += messageLines(stream, direction, start, min(stop, region.contentEnd), options: options)
            case .encrypted: entries.append(span(stream, .encrypted, direction, start, stop &- start, fallbackOrder: 0))
            }
            cursor = stop
        }
        if end > cursor { entries += dialogLines(stream, direction, cursor, end, commands: commands) }
        for gap in stream.gaps {
            entries.append(TranscriptEntry(
                kind: .gap(gap.reason), direction: direction, offset: gap.offset, length: gap.length, slices: [], bytes: [],
                order: gap.order, timestampNanoseconds: nil))
        }
        for piece in stream.pieces where piece.storage == nil {
            entries.append(TranscriptEntry(
                kind: .notKept, direction: direction, offset: piece.offset, length: UInt64(piece.length),
                slices: [slice(piece, piece.offset, piece.length)], bytes: [], order: piece.order,
                timestampNanoseconds: piece.timestampNanoseconds))
        }
        if let last = stream.end {
            entries.append(TranscriptEntry(
                kind: .end(last.reason, frame: last.frame), direction: direction, offset: end, length: 0, slices: [],
                bytes: [], order: last.order, timestampNanoseconds: last.timestampNanoseconds))
        }
        return entries
    }

    /// Line ranges in `[start, end)`: each ends after LF, at a hole, or at `end`.
    private static func lineRanges(_ stream: TranscriptStream, _ start: UInt64, _ end: UInt64) -> [(UInt64, UInt64)] {
        var ranges: [(UInt64, UInt64)] = []
        var lineStart: UInt64?
        var position = start
        while position < end {
            guard let index = stream.pieceIndex(at: position), let storage = stream.pieces[index].storage else {
                if let s = lineStart { ranges.append((s, position)) }
                lineStart = nil
                // Skip to the next kept byte.
                let next = stream.pieces.first { $0.offset > position && $0.storage != nil }?.offset ?? end
                position = min(next, end)
                continue
            }
            let piece = stream.pieces[index]
            let pieceEnd = min(piece.offset &+ UInt64(piece.length), end)
            if lineStart == nil { lineStart = position }
            var p = position
            while p < pieceEnd {
                let byte = stream.bytes[storage + Int(p &- piece.offset)]
                p &+= 1
                if byte == 0x0A, let s = lineStart {
                    ranges.append((s, p))
                    lineStart = p < end ? p : nil
                }
            }
            position = pieceEnd
            if position < end, stream.pieceIndex(at: position).map({ stream.pieces[$0].storage != nil }) != true {
                if let s = lineStart, s < position { ranges.append((s, position)) }
                lineStart = nil
            }
        }
        if let s = lineStart, s < end { ranges.append((s, end)) }
        return ranges
    }

    private static func dialogLines(
        _ stream: TranscriptStream, _ direction: FlowDirection, _ start: UInt64, _ end: UInt64, commands: [UInt64: SMTPCommand]
    ) -> [TranscriptEntry] {
        lineRanges(stream, start, end).map { range in
            var entry = span(stream, .message, direction, range.0, range.1 &- range.0, fallbackOrder: 0)
            if direction == .clientToServer {
                let command = commands[range.0]
                entry.kind = .command(verb: command?.verb, argument: command?.argument)
            } else {
                entry.kind = .reply(code: replyCode(entry.bytes))
            }
            return entry
        }
    }

    private static func messageLines(
        _ stream: TranscriptStream, _ direction: FlowDirection, _ start: UInt64, _ end: UInt64, options: TranscriptOptions
    ) -> [TranscriptEntry] {
        let ranges = lineRanges(stream, start, end)
        let head = max(0, options.bodyHeadLines), tail = max(0, options.bodyTailLines)
        func line(_ range: (UInt64, UInt64)) -> TranscriptEntry {
            span(stream, .message, direction, range.0, range.1 &- range.0, fallbackOrder: 0)
        }
        guard ranges.count > head + tail + 1 else { return ranges.map(line) }
        let middle = ranges[head..<(ranges.count - tail)]
        let first = middle.first?.0 ?? start, last = middle.last?.1 ?? start
        var elided = span(stream, .elided(lines: middle.count), direction, first, last &- first, fallbackOrder: 0)
        elided.bytes = []
        return ranges.prefix(head).map(line) + [elided] + ranges.suffix(tail).map(line)
    }

    static func replyCode(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 3, bytes.prefix(3).allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return bytes.prefix(3).reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    // MARK: - Spans

    private static func slice(_ piece: TranscriptStream.Piece, _ offset: UInt64, _ length: Int) -> TranscriptEntry.Slice {
        TranscriptEntry.Slice(offset: offset, length: length, frame: piece.frame, timestampNanoseconds: piece.timestampNanoseconds)
    }

    /// An entry over `[offset, offset + length)` with its slices and kept bytes; its order and
    /// time are those of the piece that completed it.
    private static func span(
        _ stream: TranscriptStream, _ kind: TranscriptEntry.Kind, _ direction: FlowDirection, _ offset: UInt64,
        _ length: UInt64, fallbackOrder: Int
    ) -> TranscriptEntry {
        var slices: [TranscriptEntry.Slice] = []
        var bytes: [UInt8] = []
        var order = fallbackOrder
        var time: Int64?
        let end = offset &+ length
        var position = offset
        var index = stream.pieceIndex(at: offset) ?? stream.pieces.firstIndex { $0.offset > offset } ?? stream.pieces.count
        while position < end, index < stream.pieces.count {
            let piece = stream.pieces[index]
            guard piece.offset < end else { break }
            let from = max(position, piece.offset)
            let to = min(end, piece.offset &+ UInt64(piece.length))
            if to > from {
                slices.append(slice(piece, from, Int(to &- from)))
                if let storage = piece.storage, length <= 1 << 20 {
                    let a = storage + Int(from &- piece.offset)
                    bytes += stream.bytes[a..<(a + Int(to &- from))]
                }
                if piece.order >= order {
                    order = piece.order
                    time = piece.timestampNanoseconds
                }
            }
            position = to
            index += 1
        }
        return TranscriptEntry(
            kind: kind, direction: direction, offset: offset, length: length, slices: slices, bytes: bytes, order: order,
            timestampNanoseconds: time)
    }

    private static func repeats(in stream: TranscriptStream, offset: UInt64, length: UInt64) -> [UInt64] {
        stream.repeats.filter { $0.offset < offset &+ length && $0.offset &+ UInt64($0.length) > offset }.map(\.frame)
    }

    private static func repeatEntries(_ stream: TranscriptStream, _ direction: FlowDirection) -> [TranscriptEntry] {
        stream.repeats.map {
            TranscriptEntry(
                kind: .repeated(frame: $0.frame, conflicting: $0.conflicting), direction: direction, offset: $0.offset,
                length: UInt64($0.length), slices: [], bytes: [], order: $0.order, timestampNanoseconds: $0.timestampNanoseconds)
        }
    }

    // MARK: - Ordering

    /// Stream order within one side (by end of range; at equal ends lines before notes about
    /// them), with orders raised so that they never go back.
    private static func positional(_ entries: [TranscriptEntry]) -> [TranscriptEntry] {
        func rank(_ entry: TranscriptEntry) -> Int {
            switch entry.kind {
            case .command, .reply, .message, .elided, .encrypted, .notKept: return 0
            case .nearMiss, .endOfData: return 1
            case .smuggling: return 2
            case .gap: return 3
            case .repeated: return 4
            case .end: return 5
            }
        }
        let sorted = entries.enumerated().sorted { a, b in
            let ea = a.element.kind.isEnd ? UInt64.max : a.element.offset &+ a.element.length
            let eb = b.element.kind.isEnd ? UInt64.max : b.element.offset &+ b.element.length
            if ea != eb { return ea < eb }
            if rank(a.element) != rank(b.element) { return rank(a.element) < rank(b.element) }
            return a.offset < b.offset
        }.map(\.element)
        var result: [TranscriptEntry] = []
        var highest = 0
        for var entry in sorted {
            highest = max(highest, entry.order)
            entry.order = highest
            result.append(entry)
        }
        return result
    }

    /// Merges lists each sorted by order; at equal order the earlier list first.
    private static func merge(_ lists: [[TranscriptEntry]]) -> [TranscriptEntry] {
        var heads = Array(repeating: 0, count: lists.count)
        var result: [TranscriptEntry] = []
        while true {
            var best: Int?
            for (index, list) in lists.enumerated() where heads[index] < list.count {
                if let b = best, lists[b][heads[b]].order <= list[heads[index]].order { continue }
                best = index
            }
            guard let chosen = best else { return result }
            result.append(lists[chosen][heads[chosen]])
            heads[chosen] += 1
        }
    }
}

extension TranscriptEntry.Kind {
    var isEnd: Bool {
        if case .end = self { return true }
        return false
    }
}
