import CAllocationCounter

#if canImport(Glibc)
    import Glibc
#endif

/// Heap calls counted by the `CAllocationCounter` interposer (this executable's
/// own `malloc` & co., forwarding to glibc): allocations are malloc-like calls
/// plus reallocs; every thread is counted.
struct AllocationCounts {
    var mallocs: UInt64 = 0
    var reallocs: UInt64 = 0
    var frees: UInt64 = 0

    var allocations: UInt64 { mallocs &+ reallocs }

    static var now: AllocationCounts {
        let counts = smtpscope_allocation_counts_read()
        return AllocationCounts(mallocs: counts.mallocs, reallocs: counts.reallocs, frees: counts.frees)
    }

    static func - (later: AllocationCounts, earlier: AllocationCounts) -> AllocationCounts {
        AllocationCounts(mallocs: later.mallocs &- earlier.mallocs, reallocs: later.reallocs &- earlier.reallocs,
                         frees: later.frees &- earlier.frees)
    }
}

/// Counts allocations over a whole stage run and, separately, between two
/// frame numbers (the window), where it also samples backtraces of every
/// `sampleEvery`-th allocation to name the allocating call sites.
final class AllocationCounter {
    static let sampleEvery: UInt32 = 32
    private let window: ClosedRange<UInt64>
    private var state = 0  // 0 before the window, 1 inside, 2 after
    private var windowStart = AllocationCounts()
    private var windowCounts = AllocationCounts()

    /// Whether calls to `malloc` reach the counter (nil when they do not).
    static var isInstalled: Bool { smtpscope_allocation_counter_installed() != 0 }

    /// Starts counting; nil when the interposer is not in front of glibc's malloc.
    init?(window: ClosedRange<UInt64>) {
        guard Self.isInstalled else { return nil }
        self.window = window
        smtpscope_allocation_counting_start()
    }

    /// Called before each frame is handled.
    @inline(__always)
    func at(_ frame: UInt64) {
        if state == 0, frame == window.lowerBound {
            state = 1
            windowStart = .now
            smtpscope_allocation_sampling(Self.sampleEvery)
        } else if state == 1, frame == window.upperBound &+ 1 {
            closeWindow()
        }
    }

    private func closeWindow() {
        windowCounts = .now - windowStart
        smtpscope_allocation_sampling(0)
        state = 2
    }

    /// Stops counting and reports (call once, after the stage's last output).
    func result(executable: String) -> AllocationFigures {
        if state == 1 { closeWindow() }
        let total = AllocationCounts.now
        smtpscope_allocation_counting_stop()
        let sites = state == 2 ? AllocationSites.top(executable: executable, limit: AllocationReport.sitesShown) : []
        return AllocationFigures(
            windowPackets: state == 2 ? window.upperBound - window.lowerBound + 1 : 0, window: windowCounts, total: total,
            samples: smtpscope_allocation_sample_count(), topSites: sites)
    }
}

/// What a stage run counted.
struct AllocationFigures {
    var windowPackets: UInt64
    var window: AllocationCounts
    var total: AllocationCounts
    var samples: Int
    /// "count site" for the most frequent sampled call sites.
    var topSites: [(String, Int)]
}

/// The control: exactly `count` Swift arrays, each one heap allocation and one free.
func allocationControl(count: Int) -> AllocationCounts? {
    guard AllocationCounter.isInstalled else { return nil }
    smtpscope_allocation_counting_start()
    for index in 0..<count { controlSink = controlArray(index) }
    controlSink = []
    let counts = AllocationCounts.now
    smtpscope_allocation_counting_stop()
    return counts
}

nonisolated(unsafe) private var controlSink: [Int] = []

@inline(never)
private func controlArray(_ value: Int) -> [Int] { [Int](repeating: value, count: 32) }
