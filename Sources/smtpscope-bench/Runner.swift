import Foundation

/// The parent side: runs each stage in a child process, then tshark, and prints the table.
struct Runner {
    var path: String
    var stages: [String]
    var skipTshark: Bool
    var countAllocations: Bool
    var repeats: Int

    private struct Row {
        var label: String
        var seconds: Double
        var packets: Double
        var peakKilobytes: Int
        var note: String = ""
    }

    func run() throws {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let fileBytes = Double((attributes[.size] as? Int) ?? 0)
        let truthPath = (path.hasSuffix(".pcap") ? String(path.dropLast(5)) : path) + ".truth.jsonl"
        let truth = FileManager.default.fileExists(atPath: truthPath) ? TruthFile(path: truthPath) : nil
        warmPageCache()
        print("capture: \(path), \(format(fileBytes / 1e6, 1)) MB\(truth == nil ? " (no truth file)" : ", truth: \(truthPath)")")
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; each stage in its own process, best of \(repeats), page cache warm")

        var rows: [Row] = []
        var readPackets: Double = 0
        var decodedByStage: [String: ResultLine.Decoded] = [:]
        for stage in Stage.allCases where stages.contains(stage.rawValue) {
            let output = temporaryPath("stage-\(stage.rawValue)")
            defer { try? FileManager.default.removeItem(atPath: output) }
            var best: ResultLine.Decoded?
            for _ in 0..<repeats {
                guard runChild([ownExecutable(), "--stage", stage.rawValue, path], stdoutPath: output) != nil,
                    let decoded = ResultLine.decode((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
                else { break }
                if best == nil || decoded.seconds < best?.seconds ?? 0 { best = decoded }
            }
            guard let decoded = best else {
                rows.append(Row(label: stage.label, seconds: 0, packets: 0, peakKilobytes: 0, note: "n/a"))
                continue
            }
            decodedByStage[stage.rawValue] = decoded
            if stage == .read { readPackets = decoded.packets }
            rows.append(Row(label: stage.label, seconds: decoded.seconds, packets: decoded.packets, peakKilobytes: decoded.peakKilobytes,
                            note: decoded.fields.filter { !["stage", "packets", "seconds", "hwm_kb"].contains($0.key) }
                                .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))
        }
        var tsharkLines: Int?
        if stages.contains("tshark"), !skipTshark {
            let output = temporaryPath("tshark")
            defer { try? FileManager.default.removeItem(atPath: output) }
            if let child = runChild(
                ["tshark", "-r", path, "-Y", "smtp.response.code", "-T", "fields", "-e", "frame.number", "-e", "smtp.response.code"],
                stdoutPath: output), child.status == 0
            {
                let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
                tsharkLines = text.split(separator: "\n").count
                rows.append(Row(label: "(f) tshark", seconds: child.seconds, packets: readPackets, peakKilobytes: child.peakKilobytes,
                                note: "\(tsharkLines ?? 0) reply lines (wall time incl. start-up)"))
            } else {
                rows.append(Row(label: "(f) tshark", seconds: 0, packets: 0, peakKilobytes: 0, note: "n/a (tshark failed or missing)"))
            }
        }

        let readSeconds = rows.first { $0.label.hasPrefix("(a)") }?.seconds ?? 0
        print("")
        print(pad("stage", 20) + lpad("seconds", 9) + lpad("MB/s", 10) + lpad("kpkt/s", 10) + lpad("x read", 8) + lpad("peak RSS", 11) + "  notes")
        for row in rows {
            guard row.seconds > 0 else {
                print(pad(row.label, 20) + lpad("n/a", 9) + "  " + row.note)
                continue
            }
            let ratio = readSeconds > 0 ? format(row.seconds / readSeconds, 2) : "-"
            print(pad(row.label, 20) + lpad(format(row.seconds, 3), 9) + lpad(format(fileBytes / 1e6 / row.seconds, 1), 10)
                + lpad(format(row.packets / 1e3 / row.seconds, 1), 10) + lpad(ratio, 8)
                + lpad(format(Double(row.peakKilobytes) / 1024, 1) + " MiB", 11) + "  " + row.note)
        }
        let full = rows.first { $0.label.hasPrefix("(e)") && $0.seconds > 0 }
        let tshark = rows.first { $0.label.hasPrefix("(f)") && $0.seconds > 0 }
        print("")
        print("full/read-loop: " + (full.map { readSeconds > 0 ? format($0.seconds / readSeconds, 2) + "x" : "n/a" } ?? "n/a (no full analysis)")
            + "    tshark/full: " + (full.flatMap { f in tshark.map { format($0.seconds / f.seconds, 1) + "x" } } ?? "n/a"))
        if let smtp = rows.first(where: { $0.label.hasPrefix("(d)") && $0.seconds > 0 }), let tshark {
            print("tshark/(d): \(format(tshark.seconds / smtp.seconds, 1))x")
        }

        if let truth {
            if let decoded = decodedByStage["smtp"] {
                print(truth.compare(decoded.messages, against: truth.messages, stage: "(d) SMTP",
                                    what: "messages: same flow, Message-ID, end-of-data reply (or none)"))
            }
            if let decoded = decodedByStage["analyze"] {
                print(truth.compare(decoded.messages, against: truth.transactions, stage: "(e) analysis",
                                    what: "transactions: same flow, index, Message-ID, reply, diagnosis, split_after"))
            }
        }
        if countAllocations { try measureAllocations(packets: readPackets) }
    }

    /// Reruns stages (b)-(d) under glibc's malloc tracer over mid-file frames.
    private func measureAllocations(packets: Double) throws {
        let preload = "/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0"
        guard FileManager.default.fileExists(atPath: preload), packets > 1_000 else {
            print("allocations: not counted (needs \(preload))")
            return
        }
        let first = UInt64(packets / 2)
        let last = first + UInt64(min(100_000, packets / 4)) - 1
        print("")
        print("allocations in frames \(first)-\(last) (glibc mtrace, every malloc/calloc/realloc):")
        for stage in [Stage.read, .decode, .reassemble, .smtp] where stages.contains(stage.rawValue) {
            let output = temporaryPath("alloc-\(stage.rawValue)")
            let trace = temporaryPath("mtrace-\(stage.rawValue)")
            defer {
                try? FileManager.default.removeItem(atPath: output)
                try? FileManager.default.removeItem(atPath: trace)
            }
            guard runChild([ownExecutable(), "--stage", stage.rawValue, "--trace-window", "\(first)-\(last)", path],
                           stdoutPath: output, environment: ["LD_PRELOAD": preload, "MALLOC_TRACE": trace]) != nil,
                let decoded = ResultLine.decode((try? String(contentsOfFile: output, encoding: .utf8)) ?? ""),
                let allocations = decoded.allocations, decoded.allocationPackets > 0
            else {
                print("  \(pad(stage.label, 20)) not counted (tracer inactive)")
                continue
            }
            print("  \(pad(stage.label, 20)) \(allocations) allocations / \(decoded.allocationPackets) packets = "
                + format(Double(allocations) / Double(decoded.allocationPackets), 4) + " per packet")
            for caller in decoded.callers.prefix(3) { print("      \(caller)") }
        }
    }

    /// Reads the file once so every stage starts with it in the page cache.
    private func warmPageCache() {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        while let chunk = try? handle.read(upToCount: 1 << 22), !chunk.isEmpty {}
    }

    private func temporaryPath(_ name: String) -> String {
        NSTemporaryDirectory() + "smtpscope-bench-\(getpid())-\(name).txt"
    }
}

func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
func lpad(_ text: String, _ width: Int) -> String { text.count >= width ? " " + text : String(repeating: " ", count: width - text.count) + text }
