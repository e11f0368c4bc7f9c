#if canImport(Glibc)
    import Glibc
#endif

/// Counts heap allocations between two frame numbers with glibc's malloc
/// tracer (`mtrace`), which works only when `libc_malloc_debug.so.0` is
/// preloaded and `MALLOC_TRACE` names the trace file; the parent arranges both.
/// Every `malloc`/`calloc` appears as a `+` line and every `realloc` as a `>`
/// line, with its caller; nothing is sampled or estimated.
final class AllocationCounter {
    private typealias Toggle = @convention(c) () -> Void
    /// `dlvsym`, which Swift's Glibc module does not import (it is a GNU extension).
    private typealias VersionedLookup = @convention(c) (
        UnsafeMutableRawPointer?, UnsafePointer<CChar>, UnsafePointer<CChar>
    ) -> UnsafeMutableRawPointer?
    private let window: ClosedRange<UInt64>
    private let start: Toggle
    private let stop: Toggle
    private let tracePath: String
    private var state = 0  // 0 before, 1 tracing, 2 done

    init?(window: ClosedRange<UInt64>) {
        // Ask the preloaded debug library itself for the versioned symbols: libc keeps
        // inert stubs of these names, and plain dlsym does not find a non-default version.
        guard let path = getenv("MALLOC_TRACE").map({ String(cString: $0) }),
            let library = dlopen("libc_malloc_debug.so.0", RTLD_NOW | RTLD_NOLOAD),
            let lookup = dlsym(nil, "dlvsym").map({ unsafeBitCast($0, to: VersionedLookup.self) }),
            let start = lookup(library, "mtrace", "GLIBC_2.2.5"), let stop = lookup(library, "muntrace", "GLIBC_2.2.5")
        else { return nil }
        self.window = window
        self.tracePath = path
        self.start = unsafeBitCast(start, to: Toggle.self)
        self.stop = unsafeBitCast(stop, to: Toggle.self)
    }

    /// Called before each frame is handled.
    @inline(__always)
    func at(_ frame: UInt64) {
        if state == 0, frame == window.lowerBound {
            state = 1
            start()
        } else if state == 1, frame == window.upperBound &+ 1 {
            stop()
            state = 2
        }
    }

    /// Counts the trace's allocation lines, by caller.
    func result() -> AllocationWindow? {
        if state == 1 {
            stop()
            state = 2
        }
        guard state == 2, let file = fopen(tracePath, "r") else { return nil }
        defer { fclose(file) }
        var total = 0
        var started = false
        var callers: [String: Int] = [:]
        var line = [CChar](repeating: 0, count: 1_024)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("= Start") { started = true }
            let words = text.split(separator: " ")
            guard words.count >= 3, words[0] == "@", words[2] == "+" || words[2] == ">" else { continue }
            total += 1
            callers[String(words[1]), default: 0] += 1
        }
        guard started else { return nil }
        let top = callers.sorted { $0.value > $1.value }.prefix(5).map { ($0.key, $0.value) }
        return AllocationWindow(packets: window.upperBound - window.lowerBound + 1, allocations: total, topCallers: top)
    }
}
