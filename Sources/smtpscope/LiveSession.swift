import Analysis
import Capture

#if canImport(Glibc)
import Glibc
#endif

/// One `live` run: open the interface, then loop — wait for packets (or a tick), feed
/// them to the analyzer and the -w file, advance the analyzer's clock — until a
/// signal, --duration or --count; then flush open flows and print the summary.
struct LiveSession {
    var interface: String
    var capture: LiveCapture.Options
    var filter: String
    var analysis: AnalysisOptions
    var format: LiveStream.Format
    var writePath: String?
    var rotateBytes: Int?
    var durationNanoseconds: Int64?
    var packetLimit: UInt64?
    var user: String?

    /// Longest wait for packets before the clock ticks (ms): the stall report is at most this late.
    static let tickMilliseconds: Int32 = 200
    /// Packets handled per wake before the clock ticks and signals are looked at.
    static let packetsPerWake = 4_096

    /// Exit status: 0 no problem, 1 problems, 2 error.
    func run() -> Int32 {
        LiveSignals.install()
        let source: LiveCapture
        do {
            source = try LiveCapture(interface: interface, options: capture)
            try source.setFilter(filter)
            try source.setNonblocking()
        } catch {
            Diagnostics.write("smtpscope: \(error.description)")
            return 2
        }
        for warning in source.warnings { Diagnostics.write("smtpscope: \(interface): warning: \(warning)") }
        if let user {
            do { try LivePrivileges.drop(to: user) } catch {
                Diagnostics.write("smtpscope: \(error.description)")
                return 2
            }
        }
        var recorder: LiveRecorder?
        if let writePath {
            do {
                recorder = try LiveRecorder(
                    path: writePath, linkType: source.linkType, snapshotLength: source.snapshotLength,
                    nanosecondTimestamps: source.hasNanosecondTimestamps, rotateBytes: rotateBytes)
            } catch {
                Diagnostics.write("smtpscope: \(error.description)")
                return 2
            }
        }
        let stream = LiveStream(format: format, analysis: analysis)
        // Each flow is printed as it closes: the run keeps counters and the message table only.
        var options = analysis
        options.retainFlowRecords = false
        let analyzer = Analyzer(options: options) { stream.emit($0) }
        analyzer.beginCapture(name: interface)
        Diagnostics.write("smtpscope: listening on \(interface), link-type \(source.linkType.description), "
            + "snapshot length \(source.snapshotLength) bytes, filter '\(filter)'")

        var failure: String?
        var packets: UInt64 = 0
        let deadline = durationNanoseconds.map { LiveClock.now() &+ $0 }
        loop: while !LiveSignals.stopRequested {
            var wait = Self.tickMilliseconds
            if let deadline {
                let left = deadline &- LiveClock.now()
                if left <= 0 { break }
                wait = Int32(clamping: min(Int64(wait), left / 1_000_000 + 1))
            }
            _ = source.waitForPackets(timeoutMilliseconds: wait)
            let read = source.readAvailable(limit: Self.packetsPerWake) { info, bytes in
                if let recorder {
                    do { try recorder.write(info, bytes) } catch {
                        failure = "\(error)"
                        return .stop
                    }
                }
                analyzer.process(info, frame: bytes)
                packets &+= 1
                return packets == packetLimit ? .stop : .next
            }
            switch read {
            case .read: break
            case .stopped: break loop
            case .failed(let reason):
                failure = "\(interface): capture failed: \(reason)"
                break loop
            }
            // Packets carry wall-clock stamps live, so the idle tick may use the wall clock too.
            analyzer.advanceClock(to: LiveClock.now())
            if let recorder {
                do { try recorder.flush() } catch { failure = error.description }
            }
            if stream.failed { failure = failure ?? "standard output: cannot write" }
            if failure != nil { break }
        }

        if let stats = try? source.statistics() {
            analyzer.noteDrops(stats.droppedByKernel)
            Diagnostics.write("smtpscope: \(packets) packets captured, \(stats.received) received by filter, "
                + "\(stats.droppedByKernel) dropped by kernel, \(stats.droppedByInterface) dropped by interface")
        }
        let result = analyzer.finish()
        stream.finish(result)
        if let recorder {
            do { try recorder.close() } catch { failure = failure ?? error.description }
        }
        if stream.failed { failure = failure ?? "standard output: cannot write" }
        if let failure {
            Diagnostics.write("smtpscope: \(failure)")
            return 2
        }
        return result.hasProblems ? 1 : 0
    }
}

/// CLOCK_REALTIME in nanoseconds: the clock libpcap stamps live packets with.
enum LiveClock {
    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec)
    }
}
