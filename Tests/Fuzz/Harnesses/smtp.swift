// Fuzz harness 3: the SMTP machine alone over chunked bytes of both sides.
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

private enum Operation {
    case feed(SMTPSide, [UInt8])
    case gap(SMTPSide, UInt64)
    case end(SMTPSide)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSMTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(UnsafeBufferPointer(start: data, count: size))
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

    var operations: [Operation] = []
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
    var merged: [Operation] = []
    for operation in operations {
        if case .feed(let side, let bytes) = operation, case .feed(let lastSide, let lastBytes)? = merged.last, side == lastSide {
            merged[merged.count - 1] = .feed(side, lastBytes + bytes)
        } else {
            merged.append(operation)
        }
    }
    let whole = run(merged, options: options)
    if chunked != whole {
        let first = (0..<min(chunked.count, whole.count)).first { chunked[$0] != whole[$0] } ?? min(chunked.count, whole.count)
        preconditionFailure(
            "events depend on chunking: event \(first) chunked \(first < chunked.count ? String(describing: chunked[first]) : "none") whole \(first < whole.count ? String(describing: whole[first]) : "none")")
    }
    return 0
}

/// Runs one session over `operations`, checking each event; returns the events.
private func run(_ operations: [Operation], options: SMTPOptions) -> [SMTPEvent] {
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
            precondition(command.length > 0, "empty command line at \(command.offset)")
            precondition(command.offset + UInt64(command.length) <= client, "command beyond client bytes: \(command.offset)+\(command.length) > \(client)")
            precondition(command.argument.utf8.count <= options.maxArgumentLength * 4 + 16, "argument over its cap: \(command.argument.utf8.count)")
        case .reply(let reply, _):
            precondition(reply.offset < reply.endOffset, "reply without bytes at \(reply.offset)")
            precondition(reply.endOffset <= server, "reply beyond server bytes: \(reply.endOffset) > \(server)")
            precondition((0...999).contains(reply.code), "reply code \(reply.code)")
            precondition(reply.lines.count <= options.maxReplyLines, "reply lines over the cap: \(reply.lines.count)")
        case .extensions(let keywords):
            precondition(keywords.count <= options.maxReplyLines, "more keywords than reply lines")
        case .transactionStarted(let transaction, let offset):
            precondition(transaction == nextTransaction, "transaction \(transaction), expected \(nextTransaction)")
            precondition(offset <= client, "transaction start beyond client bytes")
            nextTransaction += 1
        case .messageStarted(let transaction, let offset):
            precondition(transaction < nextTransaction, "message of unknown transaction \(transaction)")
            precondition(offset <= client, "message start beyond client bytes: \(offset) > \(client)")
        case .endOfData(let summary, let terminator):
            checkSummary(summary, client: client)
            if let terminator {
                precondition(terminator.offset + UInt64(terminator.length) <= client, "terminator beyond client bytes")
                precondition((1...6).contains(terminator.length), "terminator length \(terminator.length)")
                precondition(summary.dataOffset <= terminator.offset, "terminator before the message")
            }
        case .nearMissTerminator(let transaction, let terminator):
            precondition(transaction < nextTransaction, "near miss of unknown transaction")
            precondition(terminator.offset + UInt64(terminator.length) <= client, "near miss beyond client bytes")
        case .smugglingAccepted(let transaction, let terminator, let smuggled):
            precondition(transaction < nextTransaction, "smuggling in unknown transaction")
            precondition(terminator.offset + UInt64(terminator.length) <= client, "near miss beyond client bytes")
            precondition(smuggled.rcptTo.count <= options.maxRecipients, "smuggled recipients over the cap")
        case .bdatChunk(let transaction, _, _, let offset):
            precondition(transaction < nextTransaction, "BDAT of unknown transaction")
            precondition(offset <= client, "BDAT chunk beyond client bytes")
        case .messageIncomplete(let summary, _):
            checkSummary(summary, client: client)
        case .tlsStarted(let clientOffset, let serverOffset):
            precondition(clientOffset <= client && serverOffset <= server, "TLS start beyond the bytes seen")
        case .anomaly(_, let side, let offset):
            precondition(offset <= (side == .client ? client : server), "anomaly beyond the bytes seen")
        }
        events.append(event)
    }
    func checkSummary(_ summary: MessageSummary, client: UInt64) {
        precondition(summary.transaction < nextTransaction, "summary of unknown transaction \(summary.transaction)")
        precondition(summary.dataOffset <= client, "message data beyond client bytes")
        precondition(summary.size <= client - min(summary.dataOffset, client), "message larger than its bytes: \(summary.size)")
        precondition(summary.rcptTo.count <= options.maxRecipients, "recipients over the cap: \(summary.rcptTo.count)")
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
