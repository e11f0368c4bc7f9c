import Capture

#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress report on standard error for long runs: percent of the file,
/// frames and frames per second. Only when standard error is a terminal; at most about
/// four updates a second (the wall clock is read every 4096 frames); cleared at the end.
/// Results written to the same terminal clear it first (``TerminalLine``).
///
/// `SMTPSCOPE_PROGRESS_EVERY=N` (tests) updates it every N frames from the first, so that a
/// run of a few hundred frames shows it between its results.
struct Progress {
    private let enabled: Bool
    private let name: String
    private let totalBytes: Int?
    /// Bytes of file format around each record, to estimate how far into the file we are.
    private let headerBytes: Int
    private let recordOverhead: Int
    private var consumedBytes = 0
    private var frames: UInt64 = 0
    /// Frames that reached us (a filter skips some of the `frames` read).
    private var seen: UInt64 = 0
    private var started: Double = 0
    private var lastUpdate: Double = 0
    private var shown = false
    /// Frames between two looks at the clock (a power of two, minus one).
    private let everyMask: UInt64
    /// Seconds between updates, and before the first.
    private let spacing: Double, quiet: Double

    init(name: String, totalBytes: Int?, format: OfflineCapture.Format) {
        enabled = isatty(STDERR_FILENO) == 1
        self.name = name
        self.totalBytes = totalBytes
        headerBytes = format == .pcap ? 24 : 0
        recordOverhead = format == .pcap ? 16 : 32
        if let every = Self.testEvery() {
            everyMask = every - 1
            (spacing, quiet) = (0, 0)
        } else {
            everyMask = 4095
            (spacing, quiet) = (0.25, 1)
        }
        if enabled {
            started = Self.now()
            lastUpdate = started
        }
    }

    /// Per frame: without a terminal it is one test, inlined into the read loop.
    @inline(__always)
    mutating func advance(info: CaptureInfo) {
        guard enabled else { return }
        count(info)
    }

    private mutating func count(_ info: CaptureInfo) {
        frames = info.frameNumber
        seen &+= 1
        consumedBytes &+= recordOverhead &+ (info.capturedLength + 3) & ~3
        guard seen & everyMask == 0 else { return }
        let now = Self.now()
        // Quiet for the first second: short runs never show a progress line.
        guard now - lastUpdate >= spacing, now - started >= quiet else { return }
        lastUpdate = now
        var line = "\(name): "
        if let totalBytes, totalBytes > 0 {
            // Frames a filter skipped are assumed to be as long as those seen.
            let estimate = Double(consumedBytes) * Double(frames) / Double(max(seen, 1))
            let percent = min(100, (Double(headerBytes) + estimate) * 100 / Double(totalBytes))
            line += "\(Int(percent))%, "
        }
        line += "\(frames) frames, \(Int(Double(frames) / max(now - started, 0.001))) frames/s"
        TerminalLine.shared.show(line)
        shown = true
    }

    /// Removes the progress line.
    mutating func clear() {
        guard shown else { return }
        TerminalLine.shared.clear()
        shown = false
    }

    /// The test setting's interval, rounded up to a power of two (1 to 4096).
    private static func testEvery() -> UInt64? {
        guard let text = getenv("SMTPSCOPE_PROGRESS_EVERY"), let every = UInt64(String(cString: text)), every > 0 else { return nil }
        var power: UInt64 = 1
        while power < min(every, 4096) { power <<= 1 }
        return power
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
