import Analysis
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Memory of a long run that keeps no flow record (`live`): N complete SMTP flows, one
/// short message each, N distinct Message-IDs, every 20th flow a retry of the message sent
/// 10 flows earlier. Prints peak RSS (VmHWM) and the malloc heap in use after N = 10,000
/// and N = 100,000; flat figures mean the run's state does not grow with the flows seen.
/// Opt-in: SMTPSCOPE_BENCH=1 swift test --filter LiveMemoryBenchmark
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SMTPSCOPE_BENCH"] == "1"))
struct LiveMemoryBenchmark {
    /// The run's figures after feeding `flows` flows.
    struct Figures {
        var flows: Int
        var peakKilobytes: Int
        /// Heap in use with the analyzer alive, and its growth over the run.
        var heapBytes: Int
        var heapGrowth: Int
        var identities: Int
        var evicted: Int
        var retried: Int
        var seconds: Double
    }

    static func run(flows: Int, maxCorrelatedMessages: Int) -> Figures {
        var options = AnalysisOptions()
        options.retainFlowRecords = false
        options.maxCorrelatedMessages = maxCorrelatedMessages
        let baseline = heapInUse()
        let analyzer = Analyzer(options: options) { _ in }
        analyzer.beginCapture(name: "bench")
        let started = Date()
        var frameNumber: UInt64 = 0
        for n in 0..<flows {
            let message = n % 20 == 19 ? n - 10 : n
            // Flows 1 s apart, each finished within 20 ms: one open at a time.
            let conversation = MailConversation(client: syntheticClient(n), startMs: Int64(n) * 1_000,
                                                messageID: "<bench\(message)@example.org>", body: "Bench message \(message).")
            feed(conversation.frames(), to: analyzer, frameNumber: &frameNumber)
        }
        let held = analyzer.correlatedMessages
        return withExtendedLifetime(analyzer) {
            let result = analyzer.finish()
            let heap = heapInUse()
            return Figures(flows: result.summary.flows, peakKilobytes: status("VmHWM"), heapBytes: heap, heapGrowth: heap - baseline,
                           identities: held, evicted: result.summary.correlationEvictedMessages,
                           retried: result.summary.retriedMessages, seconds: Date().timeIntervalSince(started))
        }
    }

    @Test func memoryIsFlatInTheNumberOfFlows() {
        let cap = 5_000
        let small = Self.run(flows: 10_000, maxCorrelatedMessages: cap)
        let large = Self.run(flows: 100_000, maxCorrelatedMessages: cap)
        for figures in [small, large] { Self.print(figures, cap: cap) }
        Swift.print("live memory: from 10,000 to 100,000 flows VmHWM grew \(large.peakKilobytes - small.peakKilobytes) kB, "
            + "heap held by the run \(small.heapGrowth / 1024) kB -> \(large.heapGrowth / 1024) kB")
        #expect(small.flows == 10_000 && large.flows == 100_000)
        #expect(small.identities == cap && large.identities == cap)
        // Every 20th flow retries a message sent 10 flows before, well within the cap.
        #expect(small.retried == 500 && large.retried == 5_000)

        // The default cap, for its cost per identity: held identities grow to the cap, then stop.
        let defaultCap = AnalysisOptions().maxCorrelatedMessages
        let full = Self.run(flows: 60_000, maxCorrelatedMessages: defaultCap)
        Self.print(full, cap: defaultCap)
        Swift.print("live memory: \(full.heapGrowth / max(full.identities, 1)) bytes of heap per message identity held")
        #expect(full.identities == defaultCap)
    }

    static func print(_ figures: Figures, cap: Int) {
        Swift.print("live memory, \(figures.flows) flows (message table cap \(cap)): VmHWM \(figures.peakKilobytes) kB, "
            + "heap in use \(figures.heapBytes / 1024) kB (run: \(figures.heapGrowth / 1024) kB), \(figures.identities) identities held, "
            + "\(figures.evicted) evicted, \(figures.retried) retried messages, \(String(format: "%.1f", figures.seconds)) s")
    }

    /// A field of /proc/self/status in kB.
    static func status(_ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
        }
        return -1
    }

    /// Bytes malloc has handed out and not got back (arena chunks `uordblks` plus mmapped
    /// ones `hblkhd`), from glibc's `mallinfo2`; -1 where it cannot be read.
    ///
    /// `<malloc.h>` is not part of the Glibc module, so the function is looked up by name. Its
    /// 80-byte result is returned through a buffer whose address the caller passes as a hidden
    /// first argument (System V x86-64 ABI), which is how it is called here; x86-64 only.
    static func heapInUse() -> Int {
        #if arch(x86_64)
        typealias MallInfo2 = @convention(c) (UnsafeMutablePointer<Int>) -> UnsafeMutableRawPointer?
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallinfo2") else { return -1 }  // RTLD_DEFAULT
        var fields = [Int](repeating: 0, count: 10)
        _ = fields.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.map { unsafeBitCast(address, to: MallInfo2.self)($0) }
        }
        return fields[7] + fields[4]
        #else
        return -1
        #endif
    }
}
