@testable import Analysis
import Foundation
import Testing

/// What one message identity costs a ``MessageTable``: 1,000,000 identities each seen once
/// (the common case), with an envelope shaped like the benchmark captures' (a 38-byte
/// Message-ID, a 16-digit fingerprint, a 34-byte MAIL FROM, one 20-byte RCPT TO), noted into
/// a table large enough to hold them all. Prints the malloc heap and resident memory the
/// table added, per identity, and the envelope text each one carries.
/// Opt-in: SMTPSCOPE_BENCH=1 swift test --filter MessageTableMemoryBenchmark
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SMTPSCOPE_BENCH"] == "1"))
struct MessageTableMemoryBenchmark {
    static let identities = 1_000_000

    static func record(_ n: Int) -> TransactionRecord {
        let relay = n % 1_000
        let fingerprint = String(UInt64(n) &* 0x9E37_79B9_7F4A_7C15 | 1 << 63, radix: 16)
        return TransactionRecord(
            capture: 0, flow: n, client: EndpointRecord(ip: "192.0.2.10", port: 40000),
            server: EndpointRecord(ip: "198.51.100.25", port: 25), index: 0,
            mailFrom: "newsletter\(n % 1_000)@relay\(relay).example.net", rcptTo: ["judy\(n % 10_000)@example.com"],
            messageID: "<1.\(n % 1_000).\(400_000_000 + n)@relay\(relay).example.net>", fingerprint: fingerprint,
            startNanoseconds: 1_704_067_200_000_000_000 + Int64(n) * 50_000_000, outcome: .accepted, diagnosis: .ok)
    }

    @Test func bytesPerIdentitySeenOnce() {
        var text = 0
        for n in [0, Self.identities / 2, Self.identities - 1] {
            let r = Self.record(n)
            text += (r.messageID?.utf8.count ?? 0) + (r.fingerprint?.utf8.count ?? 0) + (r.mailFrom?.utf8.count ?? 0)
                + r.rcptTo.reduce(0) { $0 + $1.utf8.count }
        }
        let heapBefore = LiveMemoryBenchmark.heapInUse()
        let residentBefore = LiveMemoryBenchmark.status("VmRSS")
        let peakBefore = LiveMemoryBenchmark.status("VmHWM")
        var table = MessageTable(windowNanoseconds: 5_000_000_000, maxMessages: Self.identities, maxTransactionsPerMessage: 64)
        let started = Date()
        for n in 0..<Self.identities { table.note(Self.record(n)) }
        let seconds = Date().timeIntervalSince(started)
        let heap = LiveMemoryBenchmark.heapInUse() - heapBefore
        let resident = (LiveMemoryBenchmark.status("VmRSS") - residentBefore) * 1024
        let peak = (LiveMemoryBenchmark.status("VmHWM") - peakBefore) * 1024
        Swift.print("message table: \(table.count) identities seen once: heap \(heap / Self.identities) B, RSS \(resident / Self.identities) B, "
            + "peak RSS \(peak / Self.identities) B per identity (envelope text \(text / 3) B of it); noted in \(String(format: "%.2f", seconds)) s")
        let parts = table.footprint
        Swift.print("message table: allocated per identity: arena \(parts.arena / Self.identities) B (garbage \(parts.garbage)), "
            + "slots \(parts.slots / Self.identities) B, index \(parts.index / Self.identities) B")
        #expect(table.count == Self.identities)
        #expect(table.evictedMessages == 0)
        #expect(table.messages().isEmpty)
    }
}
