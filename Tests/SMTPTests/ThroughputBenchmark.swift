import SMTP
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Prints the end-of-data DFA's throughput for a 100 MB message. A figure, not a pass/fail
/// timing: enabled only with SMTPSCOPE_BENCH=1 (run it with `-c release`).
@Test(.enabled(if: getenv("SMTPSCOPE_BENCH") != nil))
func messageThroughputBenchmark() {
    let line = Array("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n".utf8)
    var chunk: [UInt8] = []
    while chunk.count < 64 * 1024 - line.count { chunk += line }
    let total = 100 * 1024 * 1024
    var session = SMTPSession()
    var ends = 0
    let sink: (SMTPEvent) -> Void = { if case .endOfData = $0 { ends += 1 } }
    Array("220 mx\r\n".utf8).withUnsafeBytes { session.feed(.server, $0, at: 0, emit: sink) }
    let head = Array("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n".utf8)
    head.withUnsafeBytes { session.feed(.client, $0, at: 0, emit: sink) }
    Array("250 ok\r\n250 ok\r\n354 go\r\n".utf8).withUnsafeBytes { session.feed(.server, $0, at: 8, emit: sink) }
    var offset = UInt64(head.count)
    let clock = ContinuousClock()
    let elapsed = clock.measure {
        var sent = 0
        chunk.withUnsafeBytes { buffer in
            while sent < total {
                session.feed(.client, buffer, at: offset, emit: sink)
                offset += UInt64(buffer.count)
                sent += buffer.count
            }
        }
        Array(".\r\n".utf8).withUnsafeBytes { session.feed(.client, $0, at: offset, emit: sink) }
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let mb = Double(offset - UInt64(head.count)) / 1e6
    print("SMTP DATA DFA: \(Int(mb)) MB in \(seconds) s = \(Int(mb / seconds)) MB/s")
    #expect(ends == 1)
}
