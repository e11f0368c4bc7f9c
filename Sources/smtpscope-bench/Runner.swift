import Foundation

/// The parent side: runs stages (a)-(d) and (e') in child processes
/// of this executable, (e) and (f) as the real `smtpscope analyze`, then tshark;
/// prints the table, the truth checks, the allocation counts and the verdict.
///
/// Peak RSS of (e), (f) and tshark comes from GNU time (see ``runChildMeasured``);
/// this process also keeps its own memory small until every timed child has
/// run (truth and outputs are read afterwards), for the fallback's sake.
struct Runner {
    var path: String
    var stages: [String]
    var skipTshark: Bool
    var countAllocations: Bool
    var repeats: Int
    /// Worker threads of stage (f).
    var threads: Int
    /// A second capture (same seed and mix, another size) for the peak-RSS flatness check.
    var flatnessPath: String?

    func run() throws {
        let fileBytes = Self.size(of: path)
        let truthPath = Self.truthPath(for: path)
        let hasTruth = FileManager.default.fileExists(atPath: truthPath)
        warmPageCache(path)
        print("capture: \(path), \(format(fileBytes / 1e6, 1)) MB\(hasTruth ? ", truth: \(truthPath)" : " (no truth file)")")
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; each stage in its own process, best of \(repeats) rounds (each round runs every stage once), page cache warm")

        // Rounds: every timed stage once per round, best of `repeats` rounds, so that a slow spell of
        // this shared machine weighs on all stages alike instead of on the ratio between two of them.
        let cli = CLIRuns(folder: URL(fileURLWithPath: ownExecutable()).deletingLastPathComponent().path, repeats: repeats)
        let timedStages = Stage.allCases.filter { stages.contains($0.rawValue) }
        var decodedByStage: [Stage: ResultLine.Decoded] = [:]
        var failedStages: Set<Stage> = []
        var single: CLIRuns.Outcome?
        var multi: CLIRuns.Outcome?
        var singleFailed = false, multiFailed = false
        var threadsNote: String?
        defer { for outcome in [single, multi] { if let outcome { try? FileManager.default.removeItem(atPath: outcome.output) } } }
        let runsAnalyze = stages.contains("analyze") && cli.smtpscope != nil
        let runsThreads = runsAnalyze && stages.contains("threads") && cli.hasThreads
        if runsAnalyze, stages.contains("threads"), !cli.hasThreads { threadsNote = "(f) n/a: smtpscope analyze has no --threads" }
        for _ in 0..<repeats {
            for stage in timedStages where !failedStages.contains(stage) {
                guard let decoded = runStageOnce(stage) else {
                    failedStages.insert(stage)
                    decodedByStage[stage] = nil
                    continue
                }
                if let best = decodedByStage[stage], best.seconds <= decoded.seconds { continue }
                decodedByStage[stage] = decoded
            }
            if let smtpscope = cli.smtpscope, runsAnalyze, !singleFailed {
                single = cli.analyze(smtpscope, path, threads: cli.hasThreads ? 1 : nil, tag: "e", runs: 1, best: single)
                singleFailed = single == nil
            }
            if let smtpscope = cli.smtpscope, runsThreads, !singleFailed, !multiFailed {
                multi = cli.analyze(smtpscope, path, threads: threads, tag: "f", runs: 1, best: multi)
                multiFailed = multi == nil
            }
        }

        var table = Table(fileBytes: fileBytes)
        for stage in timedStages {
            if let decoded = decodedByStage[stage] {
                table.add(stage.label, decoded)
            } else {
                table.rows.append(Row(label: stage.label, note: "n/a (stage failed)"))
            }
        }
        let packets = decodedByStage[.read]?.packets ?? decodedByStage.values.first?.packets ?? 0
        if stages.contains("analyze") {
            if cli.smtpscope != nil {
                table.add("(e) smtpscope analyze", single, packets: packets, what: cli.hasThreads ? "--threads 1" : "")
                if runsThreads, !singleFailed { table.add("(f) --threads \(threads)", multi, packets: packets, what: "") }
            } else {
                table.rows.append(Row(label: "(e) smtpscope analyze", note: "n/a (\(cli.folder)/smtpscope is not built)"))
            }
        }
        if stages.contains("tshark"), !skipTshark { table.rows.append(tsharkRow(packets: packets)) }

        var flatness: (small: CLIRuns.Outcome, other: CLIRuns.Outcome, otherPath: String)?
        var peakConnections: (this: Int?, other: Int?) = (nil, nil)
        if let flatnessPath, let smtpscope = cli.smtpscope, let single {
            warmPageCache(flatnessPath)
            if let other = cli.analyze(smtpscope, flatnessPath, threads: cli.hasThreads ? 1 : nil, tag: "flat") {
                peakConnections = (PeakConcurrency.of(jsonLines: single.output), PeakConcurrency.of(jsonLines: other.output))
                try? FileManager.default.removeItem(atPath: other.output)
                flatness = (single, other, flatnessPath)
            }
        }

        // Every timed child has run: from here on this process may grow.
        table.print()
        if let threadsNote { print(threadsNote) }
        let truth = hasTruth ? TruthFile(path: truthPath) : nil
        var verdict = Verdict()
        let read = table.seconds("(a)")
        // The verdict takes the real executable (e), start-up and all; (e') is the same work timed
        // as (a)-(d) are, inside one process, and shows how much of the ratio start-up is.
        if let read, let inProcess = table.seconds("(e')"), let full = single {
            print("(e') in-process analysis: \(format(inProcess / read, 2))x the read loop, timed as (a)-(d); "
                + "(e) the real executable: \(format(full.seconds / read, 2))x (with its process start-up)")
        }
        if let full = single, let read {
            verdict.add("full/read-loop", "<= 2.5x", format(full.seconds / read, 2) + "x", full.seconds / read <= 2.5)
        } else {
            verdict.add("full/read-loop", "<= 2.5x", "n/a", nil)
        }
        if let full = single, let tshark = table.seconds("(g)") {
            verdict.add("tshark/full", ">= 50x", format(tshark / full.seconds, 1) + "x", tshark / full.seconds >= 50)
        } else {
            verdict.add("tshark/full", ">= 50x", "n/a" + (skipTshark ? " (tshark skipped)" : ""), nil)
        }
        if let full = single {
            verdict.add("peak RSS (e)", "< 64 MiB", mebibytes(full.run) + (full.run.peakIsChilds ? "" : " (*)"),
                        Double(full.run.peakKilobytes) / 1024 < 64)
        }
        if let flatness {
            let small = Double(flatness.small.run.peakKilobytes) / 1024, other = Double(flatness.other.run.peakKilobytes) / 1024
            let within = abs(small - other) <= 0.10 * min(small, other)
            let names = [(path, small), (flatness.otherPath, other)].sorted { Self.size(of: $0.0) < Self.size(of: $1.0) }
            print("peak RSS \(sizeLabel(names[0].0)): \(format(names[0].1, 1)) MiB, \(sizeLabel(names[1].0)): \(format(names[1].1, 1)) MiB, "
                + "within 10%: \(within ? "yes" : "no")  (|difference| <= 10 % of the smaller; smtpscope analyze, ru_maxrss)"
                + (flatness.small.run.peakIsChilds && flatness.other.run.peakIsChilds ? "" : " (* a figure may be ours: see below the table)"))
            let mix = TrafficMix.describe([path, flatness.otherPath])
            print("  mix (\(sizeLabel(path)) / \(sizeLabel(flatness.otherPath))): " + mix.text)
            print("  peak connections open at once (flow records' start and end): "
                + "\(peakConnections.this.map(String.init) ?? "?") / \(peakConnections.other.map(String.init) ?? "?")")
            verdict.add("peak RSS flat", "within 10%", format(abs(small - other) / min(small, other) * 100, 1) + "% apart"
                + (mix.same ? "" : " (mix differs)"), mix.same ? within : nil)
        }
        if let single, let multi {
            let comparison = compareFiles(single.output, multi.output)
            print("(f) output vs (e): \(comparison.text)")
            let speedup = single.seconds / multi.seconds
            verdict.add("threads \(threads) vs 1", ">= 1.6x", format(speedup, 2) + "x", speedup >= 1.6)
            verdict.add("threads output", "identical", comparison.identical ? "IDENTICAL" : "DIFFERENT", comparison.identical)
        }
        if flatnessPath != nil, flatness == nil { print("peak RSS flatness: n/a (needs stage analyze and smtpscope built)") }

        if let truth {
            print("")
            if let decoded = decodedByStage[.smtp] {
                print(truth.compare(decoded.messages, against: truth.messages, stage: "(d) SMTP",
                                    what: "messages: same flow, Message-ID, end-of-data reply (or none)"))
            }
            if let decoded = decodedByStage[.inprocess] {
                print(truth.compare(decoded.messages, against: truth.transactions, stage: "(e') in-process",
                                    what: "transactions: same flow, index, Message-ID, reply, diagnosis, split_after"))
            }
            if let single {
                let line = truth.compare(analyzedTransactions(single.output), against: truth.transactions, stage: "(e) smtpscope analyze",
                                         what: "transactions: same flow, index, Message-ID, reply, diagnosis, split_after")
                print(line)
                verdict.add("findings (e)", "= truth", line.contains(": EQUAL") ? "EQUAL" : "DIFFERENT", line.contains(": EQUAL"))
            }
        }
        if countAllocations {
            let perPacket = try AllocationReport(
                path: path, stages: stages, packets: packets,
                framesPerMessage: truth.flatMap { $0.messageRecords > 0 ? packets / Double($0.messageRecords) : nil }
            ).run()
            // A few amortised growths (a table doubling) in the whole window are not per-packet allocations.
            for (label, value) in perPacket {
                verdict.add("allocs/frame \(label)", "0 (< 0.001)", format(value, 5), value < 0.001)
            }
        }
        verdict.print()
    }

    /// One run of `stage` in a child process of this executable; nil when it fails.
    private func runStageOnce(_ stage: Stage) -> ResultLine.Decoded? {
        let output = temporaryPath("stage-\(stage.rawValue)")
        defer { try? FileManager.default.removeItem(atPath: output) }
        guard runChild([ownExecutable(), "--stage", stage.rawValue, path], stdoutPath: output) != nil else { return nil }
        return ResultLine.decode((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    private func tsharkRow(packets: Double) -> Row {
        let output = temporaryPath("tshark")
        defer { try? FileManager.default.removeItem(atPath: output) }
        guard let child = runChildMeasured(
            ["tshark", "-r", path, "-Y", "smtp.response.code", "-T", "fields", "-e", "frame.number", "-e", "smtp.response.code"],
            stdoutPath: output), child.status == 0
        else { return Row(label: "(g) tshark", note: "n/a (tshark failed or missing)") }
        let lines = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").count
        return Row(label: "(g) tshark", seconds: child.seconds, packets: packets, peakKilobytes: child.peakKilobytes,
                   peakIsChilds: child.peakIsChilds, note: "\(lines) reply lines (wall time incl. start-up)")
    }

    static func size(of path: String) -> Double {
        Double(((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0)
    }

    /// `x.pcap` → `x.truth.jsonl` (smtpscope-gen's convention).
    static func truthPath(for path: String) -> String {
        (path.hasSuffix(".pcap") ? String(path.dropLast(5)) : path) + ".truth.jsonl"
    }
}

/// Byte-for-byte comparison of two files, naming the first differing line.
func compareFiles(_ first: String, _ second: String) -> (identical: Bool, text: String) {
    guard let a = fopen(first, "r"), let b = fopen(second, "r") else { return (false, "DIFFERENT (cannot open the outputs)") }
    defer {
        fclose(a)
        fclose(b)
    }
    var line = 1
    while true {
        let x = getc(a), y = getc(b)
        if x != y {
            let which = x == EOF ? " ((e) ends first)" : y == EOF ? " ((f) ends first)" : ""
            return (false, "DIFFERENT from line \(line)\(which)")
        }
        if x == EOF { return (true, "IDENTICAL (\(line - 1) lines)") }
        if x == 0x0A { line += 1 }
    }
}

/// Reads the file once so every stage starts with it in the page cache.
func warmPageCache(_ path: String) {
    guard let file = fopen(path, "r") else { return }
    defer { fclose(file) }
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while fread(&buffer, 1, buffer.count, file) > 0 {}
}

func temporaryPath(_ name: String) -> String {
    NSTemporaryDirectory() + "smtpscope-bench-\(getpid())-\(name).txt"
}

func mebibytes(_ run: ChildRun) -> String { format(Double(run.peakKilobytes) / 1024, 1) + " MiB" }

/// "100MB" for /tmp/smtpscope-bench-100MB-seed1.pcap, else the size in MB.
func sizeLabel(_ path: String) -> String {
    let name = URL(fileURLWithPath: path).lastPathComponent
    if name.hasPrefix("smtpscope-bench-"), let seed = name.range(of: "-seed") {
        return String(name[name.index(name.startIndex, offsetBy: 16)..<seed.lowerBound])
    }
    return format(Runner.size(of: path) / 1e6, 0) + " MB"
}

func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
func lpad(_ text: String, _ width: Int) -> String { text.count >= width ? " " + text : String(repeating: " ", count: width - text.count) + text }
