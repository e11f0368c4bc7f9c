/// The client side: command lines, held bytes, message data, BDAT chunks.
extension SMTPSession {
    /// Reads `bytes[start...]` (`bytes[0]` at stream offset `base`) in the current mode.
    mutating func processClient(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, at base: UInt64, emit: (SMTPEvent) -> Void) {
        let n = bytes.count
        var i = max(0, start)
        while i < n {
            switch clientMode {
            case .encrypted:
                statistics.encryptedBytes &+= UInt64(n - i)
                i = n
            case .hold:
                let room = options.maxHeldBytes - held.count
                if n - i <= room {
                    held.append(contentsOf: bytes[i..<n])
                    i = n
                } else {
                    // The deciding reply is overdue: take the likely reading and go on.
                    statistics.heldOverflows += 1
                    commitHold(emit: emit)
                }
            case .data:
                let (end, stop) = scanner.scan(bytes, from: i, base: base)
                i = end
                scanStopped(stop, at: end, base: base, emit: emit)
            case .bdat(let remaining, let last):
                let take = Int(min(UInt64(n - i), remaining))
                scanner.addRaw(bytes, i..<(i + take))
                i += take
                let left = remaining &- UInt64(take)
                if left > 0 {
                    clientMode = .bdat(remaining: left, last: last)
                } else {
                    clientMode = .commands
                    if last { finishMessage(terminator: nil, at: base &+ UInt64(i), emit: emit) }
                }
            case .commands:
                // Most command lines lie whole in the chunk, ended by `\r\n` and nothing else
                // to report: found here, past the framer (at a line boundary, it stays there).
                if clientFramer.pendingLength == 0 {
                    let q = LineBreakSearch.first(in: bytes, from: i)
                    if q &+ 1 < n, bytes[q] == 0x0D, bytes[q &+ 1] == 0x0A, q &- i <= options.maxLineLength {
                        let end = q &+ 2
                        let line = LineFramer.wholeLine(from: i, to: end, base: base)
                        i = end
                        clientLine(line, bytes, emit: emit)
                        break
                    }
                }
                guard let (line, end) = clientFramer.next(bytes, from: i, base: base, maxLength: options.maxLineLength)
                else {
                    i = n
                    break
                }
                i = end
                clientLine(line, bytes, emit: emit)
            }
        }
    }

    /// What the message scanner stopped at, index `end` of a chunk whose first byte is at `base`.
    mutating func scanStopped(_ stop: ScanStop, at end: Int, base: UInt64, emit: (SMTPEvent) -> Void) {
        switch stop {
        case .needMore:
            break
        case .nearMiss(let info):
            if let t = transaction { emit(.nearMissTerminator(transaction: t.index, terminator: info)) }
        case .terminator(let info):
            finishMessage(terminator: info, at: base &+ UInt64(end), emit: emit)
        }
    }

    /// Ends the open message: strict terminator (DATA) or end of the LAST chunk (BDAT, nil).
    mutating func finishMessage(terminator: TerminatorInfo?, at offset: UInt64, emit: (SMTPEvent) -> Void) {
        clientMode = .commands
        // Moved out: its envelope moves into the summary, not copied.
        guard transaction?.messageActive == true, let t = transaction.take() else { return }
        let index = t.index
        emit(.endOfData(summary(consume t), terminator: terminator))
        if let first = scanner.firstNearMiss {
            let envelope = Parsing.smuggledEnvelope(
                scanner.afterNearMiss, maxRecipients: options.maxRecipients, cap: options.maxArgumentLength)
            nearMissAfterEnd = (index, first.terminator, envelope, false)
        } else if nearMissAfterEnd != nil {
            nearMissAfterEnd = nil
        }
        push(.endOfData(transaction: index), at: offset, emit: emit)
        scanner.reset(afterCRLF: true)
    }

    private mutating func clientLine(_ line: FramedLine, _ bytes: UnsafeRawBufferPointer, emit: (SMTPEvent) -> Void) {
        let lineEnd = line.offset &+ UInt64(line.length)
        // Checked by its case first: binding it copied the optional command for every line.
        if !authResponsePending.isNone, let auth = authResponsePending.take() {
            // The answer to a 334: not a command; the next reply answers the AUTH exchange.
            clientFramer.withContent(line, in: bytes) { _ in }
            push(command: auth, at: line.offset, emit: emit)
            enterHold(.auth, at: lineEnd, auth: auth)
            return
        }
        commandText.recycle()
        let cap = options.maxArgumentLength
        // A line in place is read where it lies; a buffered one through the framer.
        let (verb, known, argument, masked) =
            if let content = LineFramer.inPlaceContent(of: line, in: bytes) {
                Self.readCommand(content, maxArgument: cap, texts: &commandText)
            } else {
                clientFramer.withContent(line, in: bytes) { Self.readCommand($0, maxArgument: cap, texts: &commandText) }
            }
        if clientResync {
            guard known != nil else { return }
            clientResync = false
            if !clientResyncQuiet { anomaly(.dataAfterGap, .client, line.offset, emit: emit) }
            clientResyncQuiet = false
        }
        if line.truncated { anomaly(.lineTooLong, .client, line.offset, emit: emit) }
        if line.ending == .bareLF { anomaly(.bareLF, .client, line.offset, emit: emit) }
        if line.bareCR { anomaly(.bareCR, .client, line.offset, emit: emit) }
        if masked { anomaly(.commandMasked, .client, line.offset, emit: emit) }
        statistics.commands += 1
        // Checked first: clearing calls the value's destroy even when there is none.
        if nearMissAfterEnd != nil { nearMissAfterEnd = nil }
        // The argument moves into the command, read from there (one reference fewer to count).
        let command = SMTPCommand(other: verb, known: known, argumentText: consume argument, offset: line.offset, length: line.length)

        switch known {
        case .mail:
            _ = startTransaction(at: line.offset, emit: emit)
            if transaction != nil {
                transaction?.mailFrom = command.argumentText.withBytes { bytes in
                    Parsing.addressRange(bytes, prefix: "FROM:").map { envelopeText.text(UnsafeRawBufferPointer(rebasing: bytes[$0])) }
                }
            }
            report(command, always: true, at: line.offset, emit: emit)
        case .rcpt:
            // The list is appended to where it is (the arena writes on at its tail). Before the
            // events: what it changes is the session's own, which no event shows.
            if let count = transaction?.rcptTo.count {
                let grown: ReplyLines? = command.argumentText.withBytes { bytes in
                    guard let range = Parsing.addressRange(bytes, prefix: "TO:") else { return nil }
                    guard count < options.maxRecipients else {
                        statistics.droppedRecipients += 1
                        return nil
                    }
                    return envelopeText.appending(line: UnsafeRawBufferPointer(rebasing: bytes[range]), to: transaction?.rcptTo)
                }
                if let grown { transaction?.rcptTo = grown }
            }
            report(command, always: true, at: line.offset, emit: emit)
        case .data:
            let index = transaction?.index ?? startTransaction(at: line.offset, emit: emit)
            report(command, always: true, at: line.offset, emit: emit)
            enterHold(.data(transaction: index, afterCRLF: line.ending == .crlf), at: lineEnd)
        case .bdat:
            bdat(command, lineEnd: lineEnd, emit: emit)
        case .rset, .helo, .ehlo, .lhlo:
            // RFC 5321 §4.1.1.1/§4.1.1.5: these abort any open transaction.
            if transaction != nil { transaction = nil }
            report(command, always: known == .rset, at: line.offset, emit: emit)
        case .starttls:
            report(command, always: false, at: line.offset, emit: emit)
            starttlsClientOffset = lineEnd
            enterHold(.starttls, at: lineEnd)
        case .auth:
            if reportsRoutineEvents { emit(.command(command)) }
            push(command: command, at: line.offset, emit: emit)
            enterHold(.auth, at: lineEnd, auth: command)
        default:
            // QUIT ends the connection; an unknown verb may be a masked one.
            report(command, always: known == .quit || known == nil, at: line.offset, emit: emit)
        }
    }

    /// Reports `command` (when `always` or routine events are on) and queues it for its reply.
    /// The event holds a copy made field by field: a copy of the whole command went through
    /// its value witness, at several times the cost.
    @inline(__always)
    private mutating func report(_ command: consuming SMTPCommand, always: Bool, at offset: UInt64, emit: (SMTPEvent) -> Void) {
        if always || reportsRoutineEvents { emit(.command(SMTPCommand(fieldsOf: command))) }
        push(command: command, at: offset, emit: emit)
    }

    /// A command line's verb (upper-cased), known verb, argument (kept in `texts`) and
    /// whether the verb is masked.
    @inline(__always)
    private static func readCommand(
        _ content: UnsafeRawBufferPointer, maxArgument: Int, texts: inout TextArena
    ) -> (verb: String?, known: SMTPVerb?, argument: SMTPText, masked: Bool) {
        let (other, known, argumentBytes) = Parsing.commandParts(content, maxArgument: maxArgument)
        return (other, known, texts.text(argumentBytes), Parsing.isMaskedVerb(content))
    }

    private mutating func startTransaction(at offset: UInt64, emit: (SMTPEvent) -> Void) -> Int {
        let index = transactionCount
        transactionCount += 1
        transaction = OpenTransaction(index: index)
        // The last transaction's envelope is no longer referenced unless an event was kept.
        envelopeText.recycle()
        scanner.reset(afterCRLF: true)
        emit(.transactionStarted(transaction: index, offset: offset))
        return index
    }

    private mutating func bdat(_ command: SMTPCommand, lineEnd: UInt64, emit: (SMTPEvent) -> Void) {
        guard let (size, last) = Parsing.bdat(command.argument) else {
            // The server will refuse it; without a size the chunk cannot be counted, so read on as commands.
            anomaly(.malformedBDAT, .client, command.offset, emit: emit)
            emit(.command(command))
            push(command: command, at: command.offset, emit: emit)
            return
        }
        let index = transaction?.index ?? startTransaction(at: command.offset, emit: emit)
        emit(.command(command))
        if size > options.maxBDATChunkSize { anomaly(.malformedBDAT, .client, command.offset, emit: emit) }
        if transaction?.messageActive != true {
            transaction?.messageActive = true
            transaction?.dataOffset = lineEnd
            emit(.messageStarted(transaction: index, offset: lineEnd))
        }
        emit(.bdatChunk(transaction: index, size: size, last: last, offset: lineEnd))
        if !last { push(command: command, at: command.offset, emit: emit) }
        clientMode = .bdat(remaining: size, last: last)
        if size == 0 {
            clientMode = .commands
            if last { finishMessage(terminator: nil, at: lineEnd, emit: emit) }
        }
    }

    private mutating func enterHold(_ verdict: Verdict, at offset: UInt64, auth: SMTPCommand? = nil) {
        clientMode = .hold(verdict)
        heldAuth = auth
        heldOffset = offset
        held.removeAll(keepingCapacity: true)
    }

    /// Reads the held bytes in `mode`, from where they were held.
    mutating func releaseHeld(as mode: ClientMode, emit: (SMTPEvent) -> Void) {
        let bytes = held
        held = []
        clientMode = mode
        heldAuth = nil
        guard !bytes.isEmpty else { return }
        let offset = heldOffset
        bytes.withUnsafeBytes { processClient($0, at: offset, emit: emit) }
    }

    /// Message mode after DATA's 354 (or when the 354 is taken for granted).
    mutating func startDataMessage(transaction index: Int, afterCRLF: Bool, emit: (SMTPEvent) -> Void) {
        if transaction?.index != index {
            transaction = OpenTransaction(index: index)
        }
        transaction?.messageActive = true
        transaction?.dataOffset = heldOffset
        scanner.reset(afterCRLF: afterCRLF)
        emit(.messageStarted(transaction: index, offset: heldOffset))
        releaseHeld(as: .data, emit: emit)
    }

    /// The deciding reply will not come in time: DATA → message, STARTTLS → encrypted, AUTH → commands.
    mutating func commitHold(emit: (SMTPEvent) -> Void) {
        guard case .hold(let verdict) = clientMode else { return }
        switch verdict {
        case .data(let index, let afterCRLF):
            startDataMessage(transaction: index, afterCRLF: afterCRLF, emit: emit)
        case .starttls:
            statistics.encryptedBytes &+= UInt64(held.count)
            held = []
            clientMode = .encrypted
        case .auth:
            releaseHeld(as: .commands, emit: emit)
        }
    }

    mutating func clientGap(emit: (SMTPEvent) -> Void) {
        if case .hold = clientMode { commitHold(emit: emit) }
        switch clientMode {
        case .encrypted:
            return
        case .data, .bdat:
            endMessageIncomplete(.gap, emit: emit)
        case .commands, .hold:
            break
        }
        clientMode = .commands
        reportUnfinishedOverlongLine(.client, emit: emit)
        clientFramer.reset()
        authResponsePending = nil
        clientResync = true
        clientResyncQuiet = false
    }
}
