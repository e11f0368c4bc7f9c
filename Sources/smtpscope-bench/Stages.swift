import Analysis
import Capture
import Foundation
import Reassembly
import SMTP
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// The cumulative pipeline stages the benchmark runs inside a child process of
/// its own (`smtpscope-bench --stage NAME FILE`). The full analysis users run,
/// `smtpscope analyze`, is timed by ``Runner`` as the real executable.
enum Stage: String, CaseIterable {
    /// (a) libpcap read loop through Capture, doing nothing with the frames.
    case read
    /// (b) + Wire decode to TCP.
    case decode
    /// (c) + TCP reassembly (SMTP ports).
    case reassemble
    /// (d) + one SMTPSession per flow fed from the reassembly events.
    case smtp
    /// (e') the full analysis with JSON output, in this process (Analysis target):
    /// what `smtpscope analyze` does, but countable for allocations.
    case inprocess

    var label: String {
        switch self {
        case .read: return "(a) read loop"
        case .decode: return "(b) + decode"
        case .reassemble: return "(c) + reassembly"
        case .smtp: return "(d) + SMTP"
        case .inprocess: return "(e') in-process analysis"
        }
    }
}

/// What one stage run measured; printed by the child as one line of `key=value` pairs.
struct StageResult {
    var stage: Stage
    var packets: UInt64 = 0
    var seconds = 0.0
    /// VmHWM at the end of the run, kB.
    var peakKilobytes = 0
    var counters: [(String, UInt64)] = []
    /// SMTP stage: per sent message, "client>server message-id reply-code|null" (for the truth check).
    var messages: [String] = []
    var allocations: AllocationFigures?
}

/// Runs `stage` over `path`. `traceWindow` (frame numbers) counts heap allocations over
/// the whole run and over those frames (see ``AllocationCounter``); timings of such a
/// run include the counting and the backtrace sampling.
func runStage(_ stage: Stage, path: String, traceWindow: ClosedRange<UInt64>?) throws -> StageResult {
    var result = StageResult(stage: stage)
    let jsonOutput = NSTemporaryDirectory() + "smtpscope-bench-\(getpid())-analysis.jsonl"
    let tracer = traceWindow.flatMap { AllocationCounter(window: $0) }
    let clock = ContinuousClock()
    let started = clock.now
    switch stage {
    case .read: try readLoop(path, &result, tracer)
    case .decode: try decodeLoop(path, &result, tracer)
    case .reassemble: try reassemblyLoop(path, &result, tracer)
    case .smtp: try smtpLoop(path, &result, tracer)
    case .inprocess: try analyzeRun(path, &result, output: jsonOutput, tracer)
    }
    let elapsed = clock.now - started
    result.allocations = tracer?.result(executable: ownExecutable())
    result.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    result.peakKilobytes = procStatus("VmHWM")
    if stage == .inprocess {
        result.messages = analyzedTransactions(jsonOutput)
        try? FileManager.default.removeItem(atPath: jsonOutput)
    }
    return result
}

private func readLoop(_ path: String, _ result: inout StageResult, _ tracer: AllocationCounter?) throws {
    let capture = try OfflineCapture(path: path)
    var bytes: UInt64 = 0
    let outcome = capture.readPackets { info, frame in
        tracer?.at(info.frameNumber)
        bytes &+= UInt64(frame.count)
        return .next
    }
    result.packets = outcome.framesRead
    result.counters = [("frame_bytes", bytes)]
}

private func decodeLoop(_ path: String, _ result: inout StageResult, _ tracer: AllocationCounter?) throws {
    let capture = try OfflineCapture(path: path)
    var decoder = PacketDecoder()
    var segments: UInt64 = 0
    var payload: UInt64 = 0
    let outcome = capture.readPackets { info, frame in
        tracer?.at(info.frameNumber)
        _ = decoder.decode(frame: frame, wireLength: info.wireLength, linkType: info.linkType, timestampNanoseconds: info.timestampNanoseconds) { _, bytes in
            segments &+= 1
            payload &+= UInt64(bytes.count)
        }
        return .next
    }
    result.packets = outcome.framesRead
    result.counters = [("tcp_segments", segments), ("tcp_payload_bytes", payload)]
}

private func reassemblyLoop(_ path: String, _ result: inout StageResult, _ tracer: AllocationCounter?) throws {
    let capture = try OfflineCapture(path: path)
    var decoder = PacketDecoder()
    var reassembler = TCPReassembler()
    var delivered: UInt64 = 0
    var flows: UInt64 = 0
    var gaps: UInt64 = 0
    let count: (StreamEvent) -> Void = { event in
        switch event {
        case .data(_, _, _, let bytes, _): delivered &+= UInt64(bytes.count)
        case .opened: flows &+= 1
        case .gap: gaps &+= 1
        default: break
        }
    }
    let outcome = capture.readPackets { info, frame in
        tracer?.at(info.frameNumber)
        _ = decoder.decode(frame: frame, wireLength: info.wireLength, linkType: info.linkType, timestampNanoseconds: info.timestampNanoseconds) { segment, bytes in
            reassembler.process(segment, payload: bytes, frame: info.frameNumber, timestampNanoseconds: info.timestampNanoseconds, emit: count)
        }
        return .next
    }
    reassembler.finish(emit: count)
    result.packets = outcome.framesRead
    result.counters = [("flows", flows), ("delivered_bytes", delivered), ("gaps", gaps)]
}

/// Per flow, what the truth check needs besides the SMTP session: kept as values and made
/// into text only at the end, so that the check adds no allocation per message to the stage.
private struct FlowNotes {
    var client: Endpoint
    var server: Endpoint
    /// How many of the flow's messages wait in `smtpLoop`'s `waiting`, and the lowest and
    /// highest transaction among them (a table per flow would be allocated per new slot).
    var waitingCount = 0
    var lowestWaiting = Int.max
    var highestWaiting = Int.min
}

/// A message waiting for its end-of-data reply: the slot of its flow and its transaction.
private struct WaitingKey: Hashable {
    var slot: Int
    var transaction: Int
}

/// One message for the truth check: its flow's endpoints, Message-ID and reply code (nil: none).
private struct SeenMessage {
    var client: Endpoint
    var server: Endpoint
    /// Where the Message-ID's bytes are in `idBytes` (nil: none).
    var id: Range<Int>?
    var code: Int?
}

private func smtpLoop(_ path: String, _ result: inout StageResult, _ tracer: AllocationCounter?) throws {
    let capture = try OfflineCapture(path: path)
    var decoder = PacketDecoder()
    var reassembler = TCPReassembler()
    // Sessions and notes live in an array of slots: mutating a large struct through a
    // Dictionary subscript (`dict[key]?.feed(…)`, `dict[key]?.waiting[…] = …`) runs a
    // `_modify` coroutine whose frame is heap-allocated, mallocs per event.
    var slotOf: [FlowID: Int] = [:]
    // A slot's session is reused with `reset()` for the next flow (as the analysis reuses
    // trackers); notes are a separate array, changed while a session is being fed.
    var sessions: [SMTPSession] = []
    var notes: [FlowNotes] = []
    var freeSlots: [Int] = []
    var commands: UInt64 = 0
    var replies: UInt64 = 0
    var endOfData: UInt64 = 0
    var incomplete: UInt64 = 0
    var seen: [SeenMessage] = []
    var idBytes: [UInt8] = []
    /// Message-IDs (where their bytes are in `idBytes`; nil: none) of messages whose end of
    /// data was seen, waiting for their reply, of every flow: one table that grows to the
    /// most messages waiting at once.
    var waiting: [WaitingKey: Range<Int>?] = [:]
    // As the analysis runs its sessions (it has no use for the EHLO keyword list).
    var smtpOptions = SMTPOptions()
    smtpOptions.reportsExtensions = false
    func handle(_ slot: Int, _ event: SMTPEvent) {
        switch event {
        case .command: commands &+= 1
        case .reply(let reply, let context):
            replies &+= 1
            if case .endOfData(let transaction) = context, notes[slot].waitingCount > 0,
                let id = waiting.removeValue(forKey: WaitingKey(slot: slot, transaction: transaction))
            {
                notes[slot].waitingCount -= 1
                seen.append(SeenMessage(client: notes[slot].client, server: notes[slot].server, id: id, code: reply.code))
            }
        case .endOfData(let summary, _):
            endOfData &+= 1
            let start = idBytes.count
            let id = summary.messageIDText.map { text -> Range<Int> in
                text.withBytes { idBytes.append(contentsOf: $0) }
                return start..<idBytes.count
            }
            if waiting.updateValue(id, forKey: WaitingKey(slot: slot, transaction: summary.transaction)) == nil {
                notes[slot].waitingCount += 1
            }
            notes[slot].lowestWaiting = min(notes[slot].lowestWaiting, summary.transaction)
            notes[slot].highestWaiting = max(notes[slot].highestWaiting, summary.transaction)
        case .messageIncomplete: incomplete &+= 1
        default: break
        }
    }
    func stream(_ event: StreamEvent) {
        switch event {
        case .opened(let info):
            let slot: Int
            if let free = freeSlots.popLast() {
                slot = free
                sessions[slot].reset()
            } else {
                slot = sessions.count
                sessions.append(SMTPSession(options: smtpOptions))
                notes.append(FlowNotes(client: info.client, server: info.server))
            }
            slotOf[info.id] = slot
            notes[slot].client = info.client
            notes[slot].server = info.server
        case .data(let flow, let direction, let offset, let bytes, _):
            guard let slot = slotOf[flow] else { return }
            sessions[slot].feed(direction == .clientToServer ? .client : .server, bytes, at: offset) { handle(slot, $0) }
        case .gap(let flow, let direction, let offset, let length, _):
            guard let slot = slotOf[flow] else { return }
            sessions[slot].gap(direction == .clientToServer ? .client : .server, at: offset, length: length) { handle(slot, $0) }
        case .end(let flow, let direction, _, _, _):
            guard let slot = slotOf[flow] else { return }
            sessions[slot].end(direction == .clientToServer ? .client : .server) { handle(slot, $0) }
        case .closed(let flow, _):
            guard let slot = slotOf.removeValue(forKey: flow) else { return }
            // In transaction order, without a sorted copy per closed flow (this loop's own
            // allocations would count as the SMTP stage's).
            if notes[slot].waitingCount > 0 {
                for transaction in notes[slot].lowestWaiting...notes[slot].highestWaiting {
                    guard let id = waiting.removeValue(forKey: WaitingKey(slot: slot, transaction: transaction)) else { continue }
                    seen.append(SeenMessage(client: notes[slot].client, server: notes[slot].server, id: id, code: nil))
                }
            }
            notes[slot].waitingCount = 0
            notes[slot].lowestWaiting = .max
            notes[slot].highestWaiting = .min
            freeSlots.append(slot)
        default: break
        }
    }
    let outcome = capture.readPackets { info, frame in
        tracer?.at(info.frameNumber)
        _ = decoder.decode(frame: frame, wireLength: info.wireLength, linkType: info.linkType, timestampNanoseconds: info.timestampNanoseconds) { segment, bytes in
            reassembler.process(segment, payload: bytes, frame: info.frameNumber, timestampNanoseconds: info.timestampNanoseconds, emit: stream)
        }
        return .next
    }
    reassembler.finish(emit: stream)
    result.packets = outcome.framesRead
    result.counters = [("commands", commands), ("replies", replies), ("end_of_data", endOfData), ("incomplete", incomplete)]
    result.messages = seen.map { message in
        let id = message.id.map { String(decoding: idBytes[$0], as: UTF8.self) } ?? "null"
        return "\(message.client)>\(message.server) \(id) \(message.code.map(String.init) ?? "null")"
    }
}

/// The whole pipeline as `smtpscope analyze --format jsonl` runs it: each flow's JSON line
/// written to a file as the flow closes (no record kept), then messages and the summary.
private func analyzeRun(_ path: String, _ result: inout StageResult, output: String, _ tracer: AllocationCounter?) throws {
    let capture = try OfflineCapture(path: path)
    guard let file = fopen(output, "w") else { throw BenchError("cannot write \(output)") }
    var lines: UInt64 = 0
    var bytes: UInt64 = 0
    var writer = JSONLinesEncoder.LineWriter()
    func write(_ line: UnsafeRawBufferPointer) {
        if let base = line.baseAddress { fwrite(base, 1, line.count, file) }
        lines &+= 1
        bytes &+= UInt64(line.count)
    }
    var options = AnalysisOptions()
    options.retainFlowRecords = false
    let analyzer = Analyzer(options: options, onFlow: { flow in writer.write(flow, bytesTo: write) })
    analyzer.beginCapture(name: path)
    let outcome = capture.readPackets { info, frame in
        tracer?.at(info.frameNumber)
        analyzer.process(info, frame: frame)
        return .next
    }
    analyzer.noteRead(outcome)
    let analysis = analyzer.finish()
    writer.writeEnd(messages: analysis.messages, summary: analysis.summary, bytesTo: write)
    fclose(file)
    result.packets = outcome.framesRead
    result.counters = [("jsonl_lines", lines), ("jsonl_bytes", bytes)]
}

/// Per transaction in the JSON Lines: "client>server index message-id reply-code diagnosis [split]",
/// the same shape ``TruthFile`` makes from the truth file. Read after the timing stopped.
func analyzedTransactions(_ output: String) -> [String] {
    guard let text = try? String(contentsOfFile: output, encoding: .utf8) else { return [] }
    var transactions: [String] = []
    for line in text.split(separator: "\n") {
        guard let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            record["type"] as? String == "flow",
            let client = record["client"] as? [String: Any], let server = record["server"] as? [String: Any]
        else { continue }
        for case let t as [String: Any] in record["transactions"] as? [Any] ?? [] {
            let reply = (t["reply"] as? [String: Any])?["code"] as? Int
            let split = ((t["terminator"] as? [String: Any])?["split_after"] as? [Int]) ?? []
            transactions.append(TruthFile.transactionKey(
                client: client, server: server, index: t["index"] as? Int ?? -1, messageID: t["message_id"] as? String,
                reply: reply, diagnosis: t["diagnosis"] as? String ?? "?", split: split))
        }
    }
    return transactions
}

/// A field of /proc/self/status in kB.
func procStatus(_ field: String) -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix(field + ":") {
            return Int(text.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0
        }
    }
    return 0
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
