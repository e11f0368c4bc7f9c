import Foundation

/// Runs the real `smtpscope analyze --format jsonl -o FILE CAPTURE` (stage (e),
/// and (f) with `--threads N`), built next to this executable: wall time of the
/// whole process, peak RSS its own `ru_maxrss` (see ``runChildMeasured``).
struct CLIRuns {
    var folder: String
    var repeats: Int
    /// The executable, when built.
    var smtpscope: String?
    /// Whether `smtpscope analyze --help` lists `--threads`.
    var hasThreads = false

    /// One stage's best run: its output file is kept (the caller removes it).
    struct Outcome {
        var seconds: Double
        /// The run with the highest peak RSS of the repeats (peaks vary less than times, but take the worst).
        var run: ChildRun
        var output: String
    }

    init(folder: String, repeats: Int) {
        self.folder = folder
        self.repeats = repeats
        let path = folder + "/smtpscope"
        guard FileManager.default.isExecutableFile(atPath: path) else { return }
        smtpscope = path
        let help = temporaryPath("analyze-help")
        defer { try? FileManager.default.removeItem(atPath: help) }
        if runChild([path, "analyze", "--help"], stdoutPath: help, stderrPath: "/dev/null")?.status == 0 {
            hasThreads = ((try? String(contentsOfFile: help, encoding: .utf8)) ?? "").contains("--threads")
        }
    }

    /// Best of `runs` runs (default `repeats`), counting `best` from earlier runs of the same
    /// command as one of them; nil when any run fails.
    func analyze(_ smtpscope: String, _ capture: String, threads: Int?, tag: String, runs: Int? = nil, best earlier: Outcome? = nil) -> Outcome? {
        let output = temporaryPath("analyze-\(tag)").replacingOccurrences(of: ".txt", with: ".jsonl")
        let errors = temporaryPath("analyze-\(tag)-stderr")
        defer { try? FileManager.default.removeItem(atPath: errors) }
        let arguments = [smtpscope, "analyze", "--format", "jsonl", "-o", output] + (threads.map { ["--threads", String($0)] } ?? []) + [capture]
        var best = earlier
        for _ in 0..<(runs ?? repeats) {
            guard let run = runChildMeasured(arguments, stdoutPath: "/dev/null", stderrPath: errors), run.status == 0 || run.status == 1 else {
                let message = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
                FileHandle.standardError.write(Data("\(arguments.joined(separator: " ")) failed: \(message.prefix(300))\n".utf8))
                try? FileManager.default.removeItem(atPath: output)
                return nil
            }
            var outcome = Outcome(seconds: min(run.seconds, best?.seconds ?? .infinity), run: run, output: output)
            if let best, best.run.peakKilobytes > run.peakKilobytes { outcome.run = best.run }
            best = outcome
        }
        return best
    }
}
