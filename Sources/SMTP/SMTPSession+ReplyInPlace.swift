/// The server side's fast path: a reply whose lines all lie in the chunk being read.
extension SMTPSession {
    /// Most replies (`250 2.1.0 Ok`, a whole EHLO reply) arrive in one chunk with nothing to
    /// report about their lines: each ends with `\r\n`, holds no other `\r` or `\n`, is no
    /// longer than the line limit, and starts with the code of the first line (`250-` on every
    /// line but the last). Such a reply at `bytes[start...]` (the framer at a line boundary,
    /// no reply being built, no resync) is read here at once and handled as the framer and
    /// ``serverLine(_:_:emit:)`` would have handled it line by line. Returns the index just
    /// past it; nil, with nothing done, when the reply is anything else (the general path
    /// then reads it).
    mutating func replyInPlace(_ bytes: UnsafeRawBufferPointer, from start: Int, base: UInt64, emit: (SMTPEvent) -> Void) -> Int? {
        let n = bytes.count
        let maxLength = options.maxLineLength
        let cap = max(0, options.maxArgumentLength)
        // Lines kept: as `serverLine` keeps them, no more than the limit.
        let keep = max(1, options.maxReplyLines)
        // At most this many lines are read here (a longer reply takes the general path).
        let maxLines = 32
        return withUnsafeTemporaryAllocation(of: (Int, Int).self, capacity: maxLines) { texts -> Int? in
            var lineStart = start
            var lines = 0
            var code = -1
            while true {
                guard lines < maxLines, lineStart < n else { return nil }
                let q = LineBreakSearch.first(in: bytes, from: lineStart)
                // `\r\n` must end it (a bare `\n` or `\r`, or the chunk's end, is no fast line).
                guard q &+ 1 < n, bytes[q] == 0x0D, bytes[q &+ 1] == 0x0A, q &- lineStart <= maxLength else { return nil }
                let content = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<q])
                let parsed = Parsing.replyLine(content)
                guard let lineCode = parsed.code, lines == 0 || lineCode == code else { return nil }
                code = lineCode
                // The line's text: after the code (and `-` or space), capped.
                let from = min(parsed.textStart, content.count)
                texts[lines] = (lineStart &+ from, lineStart &+ from &+ min(content.count &- from, cap))
                lines &+= 1
                lineStart = q &+ 2
                if !parsed.continues { break }
            }
            let kept = UnsafeBufferPointer(rebasing: texts[0..<min(lines, keep)])
            // A routine reply left unreported (`handleReply` would report nothing) needs no
            // text: what it changes is done here, as `handleReply` does it.
            if !reportsRoutineEvents, greetingSeen, code < 400, pending.nextIsCommandButEHLO,
                !kept.contains(where: { $0.0 < $0.1 && ReplyLines.mayStartMaskedKeyword(bytes[$0.0]) })
            {
                routineReply(code: code, offset: base &+ UInt64(start), endOffset: base &+ UInt64(lineStart), emit: emit)
                return lineStart
            }
            replyText.recycle()
            let text = replyText.lines(kept, in: bytes)
            let reply = SMTPReply(code: code, text: consume text, offset: base &+ UInt64(start), endOffset: base &+ UInt64(lineStart))
            handleReply(consume reply, emit: emit)
            return lineStart
        }
    }

    /// ``handleReply(_:emit:)`` for a positive reply to a command other than EHLO, none of
    /// whose kept lines may be a masked keyword, with routine events off and the greeting
    /// seen: it pops the command, clears a pending near miss and applies what the reply
    /// decides; it reports nothing.
    private mutating func routineReply(code: Int, offset: UInt64, endOffset: UInt64, emit: (SMTPEvent) -> Void) {
        statistics.replies += 1
        guard let (_, verb) = pending.pop() else { return }
        if nearMissAfterEnd != nil { nearMissAfterEnd = nil }
        if let verb { answered(verb, refused: nil, by: ReplyOutcome(code: code, offset: offset, endOffset: endOffset), lines: nil, emit: emit) }
    }
}
