import Foundation

/// `--count-allocations`: reruns each in-process stage in a child with the
/// counting `malloc` on (whole run, and a window of mid-file frames with sampled
/// call sites), after a control that makes a known number of allocations.
struct AllocationReport {
    var path: String
    var stages: [String]
    var packets: Double
    /// Frames per message of the truth file (its `message` records), when there is one:
    /// allocations per message are allocations per frame times this.
    var framesPerMessage: Double?

    static let controlCount = 10_000
    /// Call sites printed per stage.
    static let sitesShown = 12

    /// Prints the figures; returns allocations per packet in the window, per stage.
    func run() throws -> [(String, Double)] {
        print("")
        guard let control = allocationControl(count: Self.controlCount) else {
            print("allocations: not counted (this executable's malloc is not the counting one: was another allocator preloaded?)")
            return []
        }
        let controlOK = control.mallocs == UInt64(Self.controlCount) && control.frees == UInt64(Self.controlCount) && control.reallocs == 0
        print("allocation counter control: \(Self.controlCount) Swift arrays made and dropped -> counted \(control.mallocs) mallocs, "
            + "\(control.reallocs) reallocs, \(control.frees) frees: \(controlOK ? "OK" : "MISMATCH, figures below are suspect")")
        guard packets > 1_000 else {
            print("allocations: capture too small for a window (\(Int(packets)) frames)")
            return []
        }
        let first = UInt64(packets / 2)
        let last = first + UInt64(min(100_000, packets / 4)) - 1
        print("allocations (malloc-like + realloc, all threads) per frame, in frames \(first)-\(last) and over the whole run;")
        print("call sites from a backtrace of 1 in \(AllocationCounter.sampleEvery) allocations in the window (shown as: standard-library routine < our code):")
        var perPacket: [(String, Double)] = []
        for stage in Stage.allCases where stages.contains(stage.rawValue) || stage == .inprocess {
            let output = temporaryPath("alloc-\(stage.rawValue)")
            defer { try? FileManager.default.removeItem(atPath: output) }
            guard runChild([ownExecutable(), "--stage", stage.rawValue, "--trace-window", "\(first)-\(last)", path], stdoutPath: output) != nil,
                let decoded = ResultLine.decode((try? String(contentsOfFile: output, encoding: .utf8)) ?? ""),
                let windowPackets = decoded.allocation["window_packets"], windowPackets > 0
            else {
                print("  \(pad(stage.label, 26)) not counted (stage failed)")
                continue
            }
            let a = decoded.allocation
            let window = (a["window_mallocs"] ?? 0) + (a["window_reallocs"] ?? 0)
            let total = (a["total_mallocs"] ?? 0) + (a["total_reallocs"] ?? 0)
            let value = Double(window) / Double(windowPackets)
            perPacket.append((String(stage.label.prefix { $0 != " " }), value))
            let wholeRun = Double(total) / max(1, decoded.packets)
            print("  \(pad(stage.label, 26)) window: \(window) / \(windowPackets) frames = \(format(value, 4)) per frame"
                + perMessage(value) + " (\(a["window_reallocs"] ?? 0) reallocs, \(a["window_frees"] ?? 0) frees);"
                + " whole run: \(total) = \(format(wholeRun, 4)) per frame" + perMessage(wholeRun))
            for caller in decoded.callers.prefix(Self.sitesShown) { print("      \(caller)") }
        }
        return perPacket
    }

    /// `, N per message` from a per-frame figure, or nothing without a truth file.
    func perMessage(_ perFrame: Double) -> String {
        guard let framesPerMessage else { return "" }
        return ", \(format(perFrame * framesPerMessage, 2)) per message"
    }
}
