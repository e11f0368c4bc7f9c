// Replay of the `smtp` fuzz harness (Tests/Fuzz): the SMTP machine alone over chunked bytes of both sides.
//
// Input: byte 0 selects the limits (bit 0 line 16 · bit 1 argument 8 ·
// bit 2 pending commands 2 · bit 3 reply lines 2 · bit 4 header bytes 64 ·
// bit 5 recipients 2 · bit 6 held bytes 32 · bit 7 smuggled bytes 16), then
// records until the input ends:
//   [op]     bit 0 side (server), bits 1-2: 0/1 feed, 2 gap, 3 end;
//            bits 3-7 scale a gap: length << (2 × scale);
//   [length] 0-255; for a feed, that many bytes follow.
//
// Checks every event against what was fed (offsets inside the bytes seen,
// caps respected, transactions numbered 0, 1, 2, …), and that the events do
// not depend on how each side's bytes were chunked: the same input with
// consecutive feeds of one side merged must give the same events.
import SMTP

private enum SMTPOperation {
    case feed(SMTPSide, [UInt8])
    case gap(SMTPSide, UInt64)
    case end(SMTPSide)
}

/// Replays one input of the `smtp` harness (format above); returns the events.
enum SMTPReplay {
    static func run(_ bytes: UnsafeBufferPointer<UInt8>) -> [SMTPEvent] {
        var input = FuzzInput(bytes)
        let limits = input.byte()
        var options = SMTPOptions()
        if limits & 0x01 != 0 { options.maxLineLength = 16 }
        if limits & 0x02 != 0 { options.maxArgumentLength = 8 }
        if limits & 0x04 != 0 { options.maxPendingCommands = 2 }
        if limits & 0x08 != 0 { options.maxReplyLines = 2 }
        if limits & 0x10 != 0 { options.maxHeaderBytes = 64 }
        if limits & 0x20 != 0 { options.maxRecipients = 2 }
        if limits & 0x40 != 0 { options.maxHeldBytes = 32 }
        if limits & 0x80 != 0 { options.maxSmuggledBytes = 16 }

        var operations: [SMTPOperation] = []
        while !input.isAtEnd, operations.count < 4096 {
            let op = input.byte()
            let length = Int(input.byte())
            let side: SMTPSide = op & 1 == 0 ? .client : .server
            switch (op >> 1) & 0x3 {
            case 0, 1: operations.append(.feed(side, input.take(length)))
            case 2: operations.append(.gap(side, UInt64(max(length, 1)) << (2 * UInt64(op >> 3))))
            default: operations.append(.end(side))
            }
        }

        let chunked = run(operations, options: options)
        // Merge consecutive feeds of the same side (nothing else between them).
        var merged: [SMTPOperation] = []
        for operation in operations {
            if case .feed(let side, let bytes) = operation,
                case .feed(let lastSide, let lastBytes)? = merged.last, side == lastSide
            {
                merged[merged.count - 1] = .feed(side, lastBytes + bytes)
            } else {
                merged.append(operation)
            }
        }
        let whole = run(merged, options: options)
        if chunked != whole {
            let first =
                (0..<min(chunked.count, whole.count)).first { chunked[$0] != whole[$0] }
                ?? min(chunked.count, whole.count)
            require(
                false,
                "events depend on chunking: event \(first) chunked \(first < chunked.count ? String(describing: chunked[first]) : "none") whole \(first < whole.count ? String(describing: whole[first]) : "none")"
            )
        }
        return chunked
    }

    /// Runs one session over `operations`, checking each event; returns the events.
    private static func run(_ operations: [SMTPOperation], options: SMTPOptions) -> [SMTPEvent] {
        var session = SMTPSession(options: options)
        var events: [SMTPEvent] = []
        var seen: [SMTPSide: UInt64] = [.client: 0, .server: 0]
        var ended: Set<SMTPSide> = []
        var nextTransaction = 0
        func check(_ event: SMTPEvent) {
            let client = seen[.client] ?? 0
            let server = seen[.server] ?? 0
            switch event {
            case .command(let command):
                require(command.length > 0, "empty command line at \(command.offset)")
                require(
                    command.offset + UInt64(command.length) <= client,
                    "command beyond client bytes: \(command.offset)+\(command.length) > \(client)")
                require(
                    command.argument.utf8.count <= options.maxArgumentLength * 4 + 16,
                    "argument over its cap: \(command.argument.utf8.count)")
            case .reply(let reply, _):
                require(reply.offset < reply.endOffset, "reply without bytes at \(reply.offset)")
                require(
                    reply.endOffset <= server, "reply beyond server bytes: \(reply.endOffset) > \(server)")
                require((0...999).contains(reply.code), "reply code \(reply.code)")
                require(
                    reply.lines.count <= options.maxReplyLines,
                    "reply lines over the cap: \(reply.lines.count)")
            case .extensions(let keywords):
                require(keywords.count <= options.maxReplyLines, "more keywords than reply lines")
            case .transactionStarted(let transaction, let offset):
                require(
                    transaction == nextTransaction, "transaction \(transaction), expected \(nextTransaction)")
                require(offset <= client, "transaction start beyond client bytes")
                nextTransaction += 1
            case .messageStarted(let transaction, let offset):
                require(transaction < nextTransaction, "message of unknown transaction \(transaction)")
                require(offset <= client, "message start beyond client bytes: \(offset) > \(client)")
            case .endOfData(let summary, let terminator):
                checkSummary(summary, client: client)
                if let terminator {
                    require(
                        terminator.offset + UInt64(terminator.length) <= client,
                        "terminator beyond client bytes")
                    require((1...6).contains(terminator.length), "terminator length \(terminator.length)")
                    // The CRLF that begins `\r\n.\r\n` may be the DATA line's own (an empty message).
                    require(
                        summary.dataOffset <= terminator.offset &+ 2,
                        "terminator at \(terminator.offset) more than its CRLF before the data at \(summary.dataOffset)")
                }
            case .nearMissTerminator(let transaction, let terminator):
                require(transaction < nextTransaction, "near miss of unknown transaction")
                require(
                    terminator.offset + UInt64(terminator.length) <= client, "near miss beyond client bytes")
            case .smugglingAccepted(let transaction, let terminator, let smuggled):
                require(transaction < nextTransaction, "smuggling in unknown transaction")
                require(
                    terminator.offset + UInt64(terminator.length) <= client, "near miss beyond client bytes")
                require(smuggled.rcptTo.count <= options.maxRecipients, "smuggled recipients over the cap")
            case .bdatChunk(let transaction, _, _, let offset):
                require(transaction < nextTransaction, "BDAT of unknown transaction")
                require(offset <= client, "BDAT chunk beyond client bytes")
            case .messageIncomplete(let summary, _):
                checkSummary(summary, client: client)
            case .tlsStarted(let clientOffset, let serverOffset):
                require(clientOffset <= client && serverOffset <= server, "TLS start beyond the bytes seen")
            case .anomaly(_, let side, let offset):
                require(offset <= (side == .client ? client : server), "anomaly beyond the bytes seen")
            }
            events.append(event)
        }
        func checkSummary(_ summary: MessageSummary, client: UInt64) {
            require(
                summary.transaction < nextTransaction,
                "summary of unknown transaction \(summary.transaction)")
            require(summary.dataOffset <= client, "message data beyond client bytes")
            require(
                summary.size <= client - min(summary.dataOffset, client),
                "message larger than its bytes: \(summary.size)")
            require(
                summary.rcptTo.count <= options.maxRecipients,
                "recipients over the cap: \(summary.rcptTo.count)")
        }

        for operation in operations {
            switch operation {
            case .feed(let side, let bytes):
                guard !ended.contains(side), !bytes.isEmpty else { continue }
                let offset = seen[side] ?? 0
                seen[side] = offset + UInt64(bytes.count)
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
                bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
                session.feed(side, UnsafeRawBufferPointer(buffer), at: offset) { check($0) }
                buffer.deallocate()
            case .gap(let side, let length):
                guard !ended.contains(side) else { continue }
                let offset = seen[side] ?? 0
                let (end, overflow) = offset.addingReportingOverflow(length)
                guard !overflow, end < UInt64(1) << 62 else { continue }
                seen[side] = end
                session.gap(side, at: offset, length: length) { check($0) }
            case .end(let side):
                guard !ended.contains(side) else { continue }
                ended.insert(side)
                session.end(side) { check($0) }
            }
        }
        for side in [SMTPSide.client, .server] where !ended.contains(side) {
            session.end(side) { check($0) }
        }
        return events
    }
}
