import Foundation
import Reassembly
import Testing
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// Printed figures, not a timed test: runs only with `SMTPSCOPE_BENCH=1`, e.g.
/// `SMTPSCOPE_BENCH=1 swift test -c release --filter ReassemblyBenchmark`.
/// Allocations are counted exactly by ``AllocationCounter`` (the test binary
/// re-runs itself with a malloc-counting library preloaded); build in release
/// for figures that mean anything.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["SMTPSCOPE_BENCH"] == "1"))
struct ReassemblyBenchmark {
    /// In the re-run child only the allocation count runs.
    static let isChild = ProcessInfo.processInfo.environment[AllocationCounter.childVariable] == "1"

    static let client = Endpoint(address: .v4(0xC000_0201), port: 40000)
    static let server = Endpoint(address: .v4(0xC633_6419), port: 25)

    /// Allocated once, outside any counting window.
    static let segmentPayload = [UInt8](repeating: 0x41, count: 1000)
    /// Built once: an option-set array literal allocates its array in debug builds.
    static let dataFlags: TCPFlags = [.ack, .psh]

    /// Feeds `count` in-order 1,000-byte segments of one flow after the handshake.
    static func inOrder(_ reassembler: inout TCPReassembler, packets count: Int, firstFrame: UInt64, seq: inout UInt32, delivered: inout Int) {
        segmentPayload.withUnsafeBytes { bytes in
            for index in 0..<count {
                let segment = TCPSegment(
                    source: client, destination: server, sequenceNumber: seq, acknowledgmentNumber: 5001,
                    flags: dataFlags, window: 65535, payloadLength: 1000)
                let frame = firstFrame + UInt64(index)
                reassembler.process(segment, payload: bytes, frame: frame, timestampNanoseconds: Int64(frame) * 1000) {
                    if case .data(_, _, _, let chunk, _) = $0 { delivered += chunk.count }
                }
                seq &+= 1000
            }
        }
    }

    static func handshake(_ reassembler: inout TCPReassembler, client: Endpoint, frame: UInt64) {
        let syn = TCPSegment(source: client, destination: server, sequenceNumber: 1000, acknowledgmentNumber: 0, flags: .syn, window: 65535, payloadLength: 0)
        let synAck = TCPSegment(source: server, destination: client, sequenceNumber: 5000, acknowledgmentNumber: 1001, flags: [.syn, .ack], window: 65535, payloadLength: 0)
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        reassembler.process(syn, payload: empty, frame: frame, timestampNanoseconds: Int64(frame)) { _ in }
        reassembler.process(synAck, payload: empty, frame: frame + 1, timestampNanoseconds: Int64(frame + 1)) { _ in }
    }

    /// One connection in both directions: the client sends 1,000-byte segments,
    /// the server acknowledges each and answers every 4th with 100 bytes.
    static func conversation(_ reassembler: inout TCPReassembler, rounds: Int, firstFrame: UInt64, seq: inout (client: UInt32, server: UInt32), delivered: inout Int) {
        segmentPayload.withUnsafeBytes { bytes in
            var frame = firstFrame
            for round in 0..<rounds {
                let data = TCPSegment(
                    source: client, destination: server, sequenceNumber: seq.client, acknowledgmentNumber: seq.server,
                    flags: dataFlags, window: 65535, payloadLength: 1000)
                reassembler.process(data, payload: bytes, frame: frame, timestampNanoseconds: Int64(frame) * 1000) {
                    if case .data(_, _, _, let chunk, _) = $0 { delivered += chunk.count }
                }
                seq.client &+= 1000
                frame += 1
                let answer = round % 4 == 3 ? 100 : 0
                let reply = TCPSegment(
                    source: server, destination: client, sequenceNumber: seq.server, acknowledgmentNumber: seq.client,
                    flags: answer > 0 ? dataFlags : .ack, window: 65535, payloadLength: answer)
                let replyBytes = UnsafeRawBufferPointer(rebasing: bytes[0..<answer])
                reassembler.process(reply, payload: replyBytes, frame: frame, timestampNanoseconds: Int64(frame) * 1000) {
                    if case .data(_, _, _, let chunk, _) = $0 { delivered += chunk.count }
                }
                seq.server &+= UInt32(answer)
                frame += 1
            }
        }
    }

    /// Heap allocation calls per in-order packet (target: zero), counted in
    /// two windows of different lengths so a one-off is told from a per-packet cost.
    @Test func inOrderAllocations() throws {
        guard let calls = AllocationCounter.reader() else {
            try Self.countInPreloadedChild()
            return
        }
        var reassembler = TCPReassembler()
        Self.handshake(&reassembler, client: Self.client, frame: 1)
        var seq: (client: UInt32, server: UInt32) = (1001, 5001)
        var delivered = 0
        Self.conversation(&reassembler, rounds: 10_000, firstFrame: 3, seq: &seq, delivered: &delivered)  // warm-up
        var frame: UInt64 = 20_003
        for rounds in [50_000, 100_000] {
            let start = calls()
            Self.conversation(&reassembler, rounds: rounds, firstFrame: frame, seq: &seq, delivered: &delivered)
            let allocations = calls() &- start
            frame += UInt64(2 * rounds)
            let packets = 2 * rounds
            print("reassembly in-order: \(allocations) allocation calls in \(packets) packets (both directions) = \(Double(allocations) / Double(packets)) per packet (preloaded counter)")
            #expect(allocations == 0)
        }
        #expect(delivered == 160_000 * 1000 + 40_000 * 100)
        // Control: the counter does see a real allocation on this thread.
        let beforeControl = calls()
        let control = NSMutableData(length: 4096)
        let controlAllocations = calls() &- beforeControl
        print("reassembly allocation counter control: \(controlAllocations) calls for one NSMutableData(length: 4096) of \(control?.length ?? 0) bytes")
        #expect(controlAllocations > 0)
    }

    /// Without the counter preloaded: re-runs this test binary with it (the counting tests
    /// run there and print their figures), and checks the re-run passed.
    static func countInPreloadedChild() throws {
        guard !isChild else {
            Issue.record("counter library preloaded but its symbol is missing")
            return
        }
        let library = try #require(AllocationCounter.build())
        let child = AllocationCounter.runSelfPreloaded(library: library)
        try? FileManager.default.removeItem(atPath: (library as NSString).deletingLastPathComponent)
        let lines = child.output.split(separator: "\n").filter { $0.hasPrefix("reassembly") }
        for line in lines { print(line) }
        #expect(child.code == 0, "preloaded re-run failed: \(child.output.suffix(2000))")
        #expect(!lines.isEmpty, "preloaded re-run printed no figure: \(child.output.suffix(2000))")
    }

    /// One short connection: handshake, a request and a reply, FINs both ways, a last ACK
    /// (absorbed by the closed tuple). 8 packets, 10 ms apart.
    static func shortConnection(
        _ reassembler: inout TCPReassembler, client: Endpoint, payload: UnsafeRawBufferPointer, frame: inout UInt64,
        events: inout Int
    ) {
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        let request = UnsafeRawBufferPointer(rebasing: payload[0..<100])
        let reply = UnsafeRawBufferPointer(rebasing: payload[0..<50])
        func send(_ fromClient: Bool, _ seq: UInt32, _ ack: UInt32, _ flags: TCPFlags, _ payload: UnsafeRawBufferPointer) {
            let segment = TCPSegment(
                source: fromClient ? client : server, destination: fromClient ? server : client, sequenceNumber: seq,
                acknowledgmentNumber: ack, flags: flags, window: 65535, payloadLength: payload.count)
            reassembler.process(segment, payload: payload, frame: frame, timestampNanoseconds: Int64(frame) * 10_000_000) { _ in events += 1 }
            frame += 1
        }
        send(true, 1000, 0, synFlags, empty)
        send(false, 5000, 1001, synAckFlags, empty)
        send(true, 1001, 5001, ackFlags, empty)
        send(true, 1001, 5001, dataFlags, request)
        send(false, 5001, 1101, dataFlags, reply)
        send(true, 1101, 5051, finFlags, empty)
        send(false, 5051, 1102, finFlags, empty)
        send(true, 1102, 5052, ackFlags, empty)
    }

    static let synFlags: TCPFlags = [.syn]
    static let synAckFlags: TCPFlags = [.syn, .ack]
    static let ackFlags: TCPFlags = [.ack]
    static let finFlags: TCPFlags = [.fin, .ack]

    /// Heap allocation calls for many short connections once the reassembler is warm (its
    /// tables grown, closed tuples expiring as fast as they come, tail boxes recycled):
    /// opening, following and closing a connection allocates nothing.
    @Test func connectionChurnAllocations() throws {
        guard let calls = AllocationCounter.reader() else {
            try Self.countInPreloadedChild()
            return
        }
        var reassembler = TCPReassembler()
        var frame: UInt64 = 1
        var events = 0
        func connections(_ range: Range<Int>) {
            Self.segmentPayload.withUnsafeBytes { payload in
                for n in range {
                    let client = Endpoint(address: .v4(0xC000_0200 | UInt32((n >> 16) & 0xFF)), port: UInt16(truncatingIfNeeded: n))
                    Self.shortConnection(&reassembler, client: client, payload: payload, frame: &frame, events: &events)
                }
            }
        }
        // Warm-up: 5,000 connections = 400 s of capture time, past the 60 s closed-tuple retention.
        connections(0..<5_000)
        let start = calls()
        connections(5_000..<25_000)
        let allocations = calls() &- start
        print("reassembly connection churn: \(allocations) allocation calls in 20000 connections (160000 packets) = \(Double(allocations) / 20_000) per connection (preloaded counter)")
        #expect(allocations == 0)
        #expect(reassembler.statistics.flowsOpened == 25_000)
        #expect(reassembler.statistics.packetsAfterClose == 25_000)
        // opened, a data event each way, an end each way, closed.
        #expect(events == 25_000 * 6)
    }

    @Test(.enabled(if: !isChild)) func inOrderPathCost() {
        var reassembler = TCPReassembler()
        Self.handshake(&reassembler, client: Self.client, frame: 1)
        var seq: UInt32 = 1001
        var delivered = 0
        Self.inOrder(&reassembler, packets: 10_000, firstFrame: 3, seq: &seq, delivered: &delivered)  // warm-up

        let packets = Int(ProcessInfo.processInfo.environment["SMTPSCOPE_BENCH_PACKETS"] ?? "") ?? 2_000_000
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            Self.inOrder(&reassembler, packets: packets, firstFrame: 10_003, seq: &seq, delivered: &delivered)
        }
        let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        print(String(format: "reassembly in-order: %.1f ns/packet, %.3f ns/byte (%d packets of 1000 bytes)",
                     nanoseconds / Double(packets), nanoseconds / Double(packets * 1000), packets))

        #expect(delivered >= (packets + 10_000) * 1000)
    }

    @Test(.enabled(if: !isChild)) func peakMemoryFor100kFlows() {
        func status(_ field: String) -> Int {
            let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
                return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
            }
            return 0
        }
        let rssBefore = status("VmRSS")
        var reassembler = TCPReassembler()
        let payload = [UInt8]("EHLO client.example\r\n".utf8)
        let flows = 100_000
        payload.withUnsafeBytes { bytes in
            for index in 0..<flows {
                let client = Endpoint(address: .v4(0xC000_0200 | UInt32(index >> 16)), port: UInt16(truncatingIfNeeded: index))
                let frame = UInt64(index) * 3 + 1
                Self.handshake(&reassembler, client: client, frame: frame)
                let data = TCPSegment(source: client, destination: Self.server, sequenceNumber: 1001, acknowledgmentNumber: 5001, flags: .ack, window: 65535, payloadLength: bytes.count)
                reassembler.process(data, payload: bytes, frame: frame + 2, timestampNanoseconds: Int64(frame + 2)) { _ in }
            }
        }
        let rssAfter = status("VmRSS")
        print("reassembly 100k flows: \(reassembler.trackedFlows) flows held; VmRSS +\(rssAfter - rssBefore) kB (\((rssAfter - rssBefore) * 1024 / flows) bytes/flow); VmHWM \(status("VmHWM")) kB")
        #expect(reassembler.trackedFlows == flows)
    }
}
