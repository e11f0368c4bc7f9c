import Foundation
import Reassembly
import Testing
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// Printed figures, not a timed test: runs only with `SMTPSCOPE_BENCH=1`, e.g.
/// `SMTPSCOPE_BENCH=1 swift test -c release --filter ReassemblyBenchmark`.
/// Allocation counts use glibc's malloc tracer when it is active
/// (`LD_PRELOAD=libc_malloc_debug.so.0 MALLOC_TRACE=<file>`); otherwise count
/// them differentially under valgrind: run with `SMTPSCOPE_BENCH_PACKETS=20000`
/// and `=40000` and compare "total heap usage: N allocs".
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["SMTPSCOPE_BENCH"] == "1"))
struct ReassemblyBenchmark {
    static let client = Endpoint(address: .v4(0xC000_0201), port: 40000)
    static let server = Endpoint(address: .v4(0xC633_6419), port: 25)

    /// Feeds `count` in-order 1,000-byte segments of one flow after the handshake.
    static func inOrder(_ reassembler: inout TCPReassembler, packets count: Int, firstFrame: UInt64, seq: inout UInt32, delivered: inout Int) {
        let payload = [UInt8](repeating: 0x41, count: 1000)
        payload.withUnsafeBytes { bytes in
            for index in 0..<count {
                let segment = TCPSegment(
                    source: client, destination: server, sequenceNumber: seq, acknowledgmentNumber: 5001,
                    flags: [.ack, .psh], window: 65535, payloadLength: 1000)
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

    @Test func inOrderPathCost() {
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

        // Every malloc in a window, counted with glibc's tracer when it is preloaded.
        if let tracePath = ProcessInfo.processInfo.environment["MALLOC_TRACE"],
            let start = dlsym(nil, "mtrace"),  // RTLD_DEFAULT
            let stop = dlsym(nil, "muntrace")
        {
            typealias Toggle = @convention(c) () -> Void
            let window = 100_000
            unsafeBitCast(start, to: Toggle.self)()
            Self.inOrder(&reassembler, packets: window, firstFrame: 3_000_000, seq: &seq, delivered: &delivered)
            unsafeBitCast(stop, to: Toggle.self)()
            let trace = (try? String(contentsOfFile: tracePath, encoding: .utf8)) ?? ""
            guard trace.contains("= Start") else {
                print("reassembly in-order: malloc tracer inactive (no trace written); allocations not counted")
                return
            }
            let allocations = trace.split(separator: "\n").filter { $0.contains(" + ") }.count
            print("reassembly in-order: \(allocations) allocations in \(window) packets (mtrace) = \(Double(allocations) / Double(window)) per packet")
        } else {
            print("reassembly in-order: allocation count needs LD_PRELOAD=libc_malloc_debug.so.0 MALLOC_TRACE=<file>")
        }
        #expect(delivered >= (packets + 10_000) * 1000)
    }

    @Test func peakMemoryFor100kFlows() {
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
