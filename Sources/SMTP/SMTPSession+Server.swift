/// The server side: reply lines, pairing with the pending FIFO, and what replies decide.
extension SMTPSession {
    mutating func processServer(_ bytes: UnsafeRawBufferPointer, at base: UInt64, emit: (SMTPEvent) -> Void) {
        let n = bytes.count
        var i = 0
        while i < n {
            if serverEncrypted {
                statistics.encryptedBytes &+= UInt64(n - i)
                return
            }
            // Most replies lie whole in the chunk: read at once, past the framer.
            if building.isNone, !serverResync, serverFramer.pendingLength == 0,
                let end = replyInPlace(bytes, from: i, base: base, emit: emit)
            {
                i = end
                continue
            }
            guard let (line, end) = serverFramer.next(bytes, from: i, base: base, maxLength: options.maxLineLength)
            else { return }
            i = end
            serverLine(line, bytes, emit: emit)
        }
    }

    mutating func serverGap(emit: (SMTPEvent) -> Void) {
        // The deciding reply may be in the gap: take the likely reading of held client bytes.
        if case .hold = clientMode { commitHold(emit: emit) }
        guard !serverEncrypted else { return }
        // Which replies were lost is unknown: forget the pending commands rather than misattribute.
        pending.removeAll()
        building = nil
        reportUnfinishedOverlongLine(.server, emit: emit)
        serverFramer.reset()
        serverResync = true
    }

    private mutating func serverLine(_ line: FramedLine, _ bytes: UnsafeRawBufferPointer, emit: (SMTPEvent) -> Void) {
        if !serverResync, line.ending == .crlf, !line.truncated, !line.bareCR,
            let content = LineFramer.inPlaceContent(of: line, in: bytes),
            building.isNone ? wholeReply(line, content, emit: emit) : continuedReply(line, content, emit: emit)
        {
            return
        }
        let cap = max(0, options.maxArgumentLength)
        let maxLines = options.maxReplyLines
        // The reply being built is moved out while this line joins it: its lines grow in
        // place, not copied. A new reply starts: the store can be reused if no earlier reply
        // is still held.
        var reply = building.take()
        if reply.isNone { replyText.recycle() }
        var first: ReplyLines?  // the text of a line that starts a reply
        let parsed = serverFramer.withContent(line, in: bytes) { content in
            let parsed = Parsing.replyLine(content)
            let start = min(parsed.textStart, content.count)
            let end = start + min(content.count - start, cap)
            let textBytes = UnsafeRawBufferPointer(rebasing: content[start..<end])
            if var current = reply.take() {
                // Past the line limit a multi-line reply keeps no more lines.
                if current.text.count < maxLines { current.text = replyText.appending(line: textBytes, to: current.text) }
                reply = current
            } else {
                first = replyText.appending(line: textBytes, to: nil)
            }
            return parsed
        }
        let lineEnd = line.offset &+ UInt64(line.length)
        if serverResync {
            guard parsed.code != nil else {
                building = reply
                return
            }
            serverResync = false
            anomaly(.dataAfterGap, .server, line.offset, emit: emit)
        }
        if line.truncated { anomaly(.lineTooLong, .server, line.offset, emit: emit) }
        if line.ending == .bareLF { anomaly(.bareLF, .server, line.offset, emit: emit) }
        if line.bareCR { anomaly(.bareCR, .server, line.offset, emit: emit) }

        if var reply = reply.take() {
            if parsed.code != reply.code { anomaly(.malformedReply, .server, line.offset, emit: emit) }
            reply.endOffset = lineEnd
            // A line without a code inside a multi-line reply does not end it.
            if parsed.code != nil && !parsed.continues {
                handleReply(reply, emit: emit)
            } else {
                building = reply
            }
            return
        }
        let text = first.take() ?? ReplyLines([])
        guard let code = parsed.code else {
            anomaly(.malformedReply, .server, line.offset, emit: emit)
            statistics.replies += 1
            emit(.reply(SMTPReply(code: 0, text: text, offset: line.offset, endOffset: lineEnd), answering: .unsolicited))
            return
        }
        let started = SMTPReply(code: code, text: text, offset: line.offset, endOffset: lineEnd)
        if parsed.continues {
            building = started
        } else {
            handleReply(consume started, emit: emit)
        }
    }

    /// Most reply lines are a whole reply (`250 2.1.0 Ok`) or the first line of one
    /// (`250-mx.example.net`), with nothing to report about the line itself: the reply is made
    /// at once (or begun), as the general path would. False, with nothing done, for any other
    /// line (its content, in place, is then read again by the general path).
    private mutating func wholeReply(_ line: FramedLine, _ content: UnsafeRawBufferPointer, emit: (SMTPEvent) -> Void) -> Bool {
        let parsed = Parsing.replyLine(content)
        guard let code = parsed.code else { return false }
        let cap = max(0, options.maxArgumentLength)
        replyText.recycle()
        let start = min(parsed.textStart, content.count)
        let end = start + min(content.count - start, cap)
        let text = replyText.appending(line: UnsafeRawBufferPointer(rebasing: content[start..<end]), to: nil)
        let reply = SMTPReply(code: code, text: consume text, offset: line.offset, endOffset: line.offset &+ UInt64(line.length))
        if parsed.continues {
            building = reply
        } else {
            handleReply(reply, emit: emit)
        }
        return true
    }

    /// A line that goes on with the reply being built (`250-PIPELINING`, `250 8BITMIME`: its
    /// code, nothing to report about the line): joined to it, and the reply handled if the
    /// line ends it, as the general path would. False, with nothing done, for any other line.
    private mutating func continuedReply(_ line: FramedLine, _ content: UnsafeRawBufferPointer, emit: (SMTPEvent) -> Void) -> Bool {
        let parsed = Parsing.replyLine(content)
        guard let code = parsed.code, var reply = building.take() else { return false }
        guard code == reply.code else {
            building = reply
            return false
        }
        // Past the line limit a multi-line reply keeps no more lines.
        if reply.text.count < options.maxReplyLines {
            let cap = max(0, options.maxArgumentLength)
            let start = min(parsed.textStart, content.count)
            let end = start + min(content.count - start, cap)
            reply.text = replyText.appending(line: UnsafeRawBufferPointer(rebasing: content[start..<end]), to: reply.text)
        }
        reply.endOffset = line.offset &+ UInt64(line.length)
        if parsed.continues {
            building = reply
        } else {
            handleReply(reply, emit: emit)
        }
        return true
    }

    mutating func handleReply(_ reply: consuming SMTPReply, emit: (SMTPEvent) -> Void) {
        statistics.replies += 1
        if !greetingSeen {
            greetingSeen = true
            if reply.code == 220 || reply.code == 554 || reply.code == 421, pending.isEmpty || reply.offset == 0 {
                emit(.reply(reply, answering: .greeting))
                if reply.code == 220, Self.firstLineIsMaskedBanner(reply) {
                    anomaly(.bannerMasked, .server, reply.offset, emit: emit)
                }
                return
            }
        }
        // Read before the entry is popped, and only after a near miss: matched against the
        // popped context, or read for every reply, the entry was copied (its command retained
        // and released, or an outlined copy run for an end of data).
        let endOfData = nearMissAfterEnd.isNone ? nil : pending.nextEndOfData
        if let (context, verb) = pending.pop() {
            if nearMissAfterEnd != nil {
                if let endOfData, nearMissAfterEnd?.transaction == endOfData {
                    nearMissAfterEnd?.armed = true
                } else {
                    nearMissAfterEnd = nil
                }
            }
            // What the reply changes depends on the command's verb (and a refused RCPT's
            // address, kept as where it lies in the argument: no string): read before the
            // context moves into the event, which is not copied.
            var refused: RefusedAddress?
            if verb == .rcpt, reply.code >= 400, case .command(let command) = context {
                let argument = command.argumentText
                refused = argument.withBytes { Parsing.addressRange($0, prefix: "TO:") }.map { RefusedAddress(argument: argument, range: $0) }
            }
            // The reply moves into the event; what `answered` reads of it is kept aside (its
            // lines only for EHLO, the one verb that reads them).
            let outcome = ReplyOutcome(code: reply.code, offset: reply.offset, endOffset: reply.endOffset)
            let lines: ReplyLines? = verb == .ehlo ? reply.text : nil
            if reportsRoutineEvents || !Self.isRoutine(reply, answering: context) {
                emit(.reply(consume reply, answering: consume context))
            }
            if let verb { answered(verb, refused: refused, by: outcome, lines: lines, emit: emit) }
            return
        }
        if clientMode == .data, let t = transaction, t.messageActive, let first = scanner.firstNearMiss, reply.code != 421 {
            smugglingAccepted(reply, transaction: t, nearMiss: first, emit: emit)
            return
        }
        if let n = nearMissAfterEnd, n.armed {
            // More replies than the client asked for after a message with a near miss: the
            // server ended the message early and answered the smuggled commands too.
            emit(.smugglingAccepted(transaction: n.transaction, terminator: n.terminator, smuggled: n.envelope))
        }
        if nearMissAfterEnd != nil { nearMissAfterEnd = nil }
        anomaly(.unsolicitedReply, .server, reply.offset, emit: emit)
        emit(.reply(reply, answering: .unsolicited))
    }

    /// A positive reply to a command with no line that may be a masked keyword (see
    /// ``SMTPOptions/reportsRoutineEvents``).
    @inline(__always)
    private static func isRoutine(_ reply: SMTPReply, answering context: ReplyContext) -> Bool {
        guard reply.code < 400, case .command = context else { return false }
        return !reply.text.someLineStarts(where: ReplyLines.mayStartMaskedKeyword)
    }

    /// The path of a RCPT its reply refused: where it lies in the command's argument.
    struct RefusedAddress {
        var argument: SMTPText
        var range: Range<Int>
    }

    /// What ``answered(_:refused:by:lines:emit:)`` reads of a reply besides its lines.
    struct ReplyOutcome {
        var code: Int
        var offset: UInt64
        var endOffset: UInt64
    }

    /// What a reply to a command with `verb` changes (`refused`: the path of a RCPT the
    /// reply refused; `lines`: the reply's lines, given for EHLO).
    mutating func answered(
        _ verb: SMTPVerb, refused: RefusedAddress?, by reply: ReplyOutcome, lines: ReplyLines?, emit: (SMTPEvent) -> Void
    ) {
        switch verb {
        case .ehlo:
            guard let lines else { return }
            if reply.code / 100 == 2 && !options.reportsExtensions {
                var first = true
                var masked = 0
                lines.forEachLine { (line: UnsafeRawBufferPointer) -> Void in
                    if first {
                        first = false
                    } else if Parsing.isMaskedKeyword(line) {
                        masked += 1
                    }
                }
                for _ in 0..<masked { anomaly(.starttlsMasked, .server, reply.offset, emit: emit) }
            } else if reply.code / 100 == 2 {
                var keywords: [String] = []
                keywords.reserveCapacity(max(0, lines.count - 1))
                var first = true
                var masked = false
                lines.forEachLine { line in
                    if first {
                        first = false
                        return
                    }
                    let keyword = Parsing.ehloKeyword(line)
                    if Parsing.isMaskedKeyword(keyword) { masked = true }
                    keywords.append(keyword)
                }
                // One anomaly per masked keyword, as each was found.
                if masked {
                    for keyword in keywords where Parsing.isMaskedKeyword(keyword) {
                        anomaly(.starttlsMasked, .server, reply.offset, emit: emit)
                    }
                }
                emit(.extensions(keywords))
            } else if reply.code == 500 || reply.code == 502 {
                anomaly(.ehloRejected, .server, reply.offset, emit: emit)
            }
        case .rcpt:
            guard let refused, var t = transaction.take() else { return }
            refused.argument.withBytes { bytes in
                let address = UnsafeRawBufferPointer(rebasing: bytes[refused.range.clamped(to: 0..<bytes.count)])
                if let at = t.rcptTo.index(ofLine: address) { t.rcptTo = envelopeText.removing(line: at, from: t.rcptTo) }
            }
            transaction = t
        case .data:
            guard case .hold(.data(let index, let afterCRLF)) = clientMode else { return }
            if reply.code == 354 {
                startDataMessage(transaction: index, afterCRLF: afterCRLF, emit: emit)
            } else {
                // Rejected DATA: the client had no right to send content; read on as commands.
                releaseHeld(as: .commands, emit: emit)
            }
        case .starttls:
            if case .hold(.starttls) = clientMode {
                if reply.code == 220 {
                    statistics.encryptedBytes &+= UInt64(held.count)
                    held = []
                    clientMode = .encrypted
                    beginTLS(serverOffset: reply.endOffset, emit: emit)
                } else {
                    releaseHeld(as: .commands, emit: emit)
                }
            } else if clientMode == .encrypted && reply.code == 220 {
                beginTLS(serverOffset: reply.endOffset, emit: emit)
            }
        case .auth:
            guard case .hold(.auth) = clientMode, let auth = heldAuth else { return }
            if reply.code == 334 { authResponsePending = auth }
            releaseHeld(as: .commands, emit: emit)
        default:
            break
        }
    }

    private static func firstLineIsMaskedBanner(_ reply: SMTPReply) -> Bool {
        var masked = false
        reply.text.forEachLine(while: { line in
            masked = Parsing.isMaskedBanner(line)
            return false
        })
        return masked
    }

    private mutating func beginTLS(serverOffset: UInt64, emit: (SMTPEvent) -> Void) {
        serverEncrypted = true
        serverFramer.reset()
        emit(.tlsStarted(clientOffset: starttlsClientOffset, serverOffset: serverOffset))
    }

    /// A reply came while the message was still open after a near miss: the server took the
    /// near miss as its end. The message ends there, the reply answers that end, and the
    /// client bytes after the near miss are read again as commands, as the server read them.
    private mutating func smugglingAccepted(
        _ reply: SMTPReply, transaction t: OpenTransaction,
        nearMiss: (terminator: TerminatorInfo, size: UInt64, fingerprint: String), emit: (SMTPEvent) -> Void
    ) {
        let retained = scanner.afterNearMiss
        let complete = scanner.afterNearMissComplete
        let offset = nearMiss.terminator.offset &+ UInt64(nearMiss.terminator.length)
        let envelope = Parsing.smuggledEnvelope(retained, maxRecipients: options.maxRecipients, cap: options.maxArgumentLength)
        emit(.smugglingAccepted(transaction: t.index, terminator: nearMiss.terminator, smuggled: envelope))
        emit(.endOfData(summary(t, size: nearMiss.size, fingerprint: nearMiss.fingerprint), terminator: nearMiss.terminator))
        transaction = nil
        scanner.reset(afterCRLF: true)
        nearMissAfterEnd = nil
        emit(.reply(reply, answering: .endOfData(transaction: t.index)))
        clientMode = .commands
        clientFramer.reset()
        retained.withUnsafeBytes { processClient($0, at: offset, emit: emit) }
        if !complete {
            // Only part of the text was kept: pick up at the next command line. What its last
            // command began (bytes held for a reply, a message, a BDAT chunk) misses the bytes
            // that were not kept, and the next client bytes do not follow on from the kept
            // ones: reading them there would shift every offset by the bytes dropped.
            switch clientMode {
            case .hold:
                held = []
                heldAuth = nil
                clientMode = .commands
            case .data, .bdat:
                endMessageIncomplete(.gap, emit: emit)
                clientMode = .commands
            case .commands, .encrypted:
                break
            }
            authResponsePending = nil
            clientFramer.reset()
            clientResync = true
            clientResyncQuiet = true
        }
    }
}
