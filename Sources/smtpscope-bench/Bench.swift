import ArgumentParser
import Foundation

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtpscope-bench",
        abstract: "Measure each pipeline stage on a capture and print the figures and a verdict.",
        discussion: """
            Stages (a)-(d) run cumulatively in a child process of this benchmark each (so each peak RSS is \
            its own VmHWM): (a) the bare libpcap read loop through Capture, (b) + Wire decode, (c) + TCP \
            reassembly, (d) + SMTP sessions. (e) is what users run: the real `smtpscope analyze --format \
            jsonl -o FILE CAPTURE` built next to this executable (with --threads 1 when it has that option), \
            peak RSS its own wait4 ru_maxrss, read through /usr/bin/time (posix_spawn would carry this \
            benchmark's peak into a direct child's). (f) is the same with --threads N: its output must be identical \
            byte for byte, and the speedup (e)/(f) is shown. (g) is tshark extracting SMTP reply codes. \
            (e') runs the analysis in-process (stage name inprocess; not timed by default).

            Prints MB/s, packets/s, peak RSS, the ratios to the read loop, whether the findings of (d) and \
            (e) equal the capture's truth file, and a verdict against issue 9's targets: full/read-loop \
            <= 2.5x, tshark/full >= 50x, peak RSS < 64 MiB (and within 10 % across sizes with --flatness), \
            --threads speedup >= 1.6x with identical output, zero allocations per packet.

            --count-allocations reruns (a)-(d) and (e') with this executable's counting malloc (a C \
            interposer forwarding to glibc): allocations per frame over a window of mid-file frames and \
            over the whole run, the top allocating call sites (sampled backtraces, symbolised with \
            llvm-symbolizer and swift-demangle), and a control that makes exactly 10,000 Swift arrays.

            Without FILE, a capture of --size is generated into /tmp once (needs smtpscope-gen next to \
            this executable); --flatness SIZE generates a second one with the same seed.

            Example: swift build -c release && .build/release/smtpscope-bench --size 1GiB --flatness 100MB

            Hostile captures: smtpscope-bench adversarial [KIND...] (see `smtpscope-bench adversarial --help`).
            """)

    /// `adversarial …` goes to its own command (FILE would otherwise take the word).
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "adversarial" { AdversarialBench.main(Array(arguments.dropFirst())) } else { main(arguments) }
    }

    @Argument(help: "A capture to measure (default: a generated one of --size).")
    var file: String?

    @Option(help: "Size of the generated capture when no FILE is given (e.g. 100MB, 1GiB).")
    var size = "1GiB"

    @Option(help: "Seed of the generated captures.")
    var seed: UInt64 = 1

    @Option(help: "Stages to run, comma-separated: read,decode,reassemble,smtp,inprocess,analyze,threads,tshark.")
    var stages = "read,decode,reassemble,smtp,inprocess,analyze,threads,tshark"

    @Option(help: "Runs per stage; the fastest time is shown (shared machines are noisy), and the highest peak RSS.")
    var repeats = 3

    @Option(help: "Worker threads of stage (f), `smtpscope analyze --threads N`.")
    var threads = 2

    @Option(help: "Also run (e) on a generated capture of this size (same seed and mix) and compare peak RSS.")
    var flatness: String?

    @Flag(help: "Do not run tshark.")
    var skipTshark = false

    @Flag(help: "Also count heap allocations per packet (counting malloc linked into this executable).")
    var countAllocations = false

    @Option(help: ArgumentHelp("Internal: run one stage and print its result.", visibility: .hidden))
    var stage: String?

    @Option(help: ArgumentHelp("Internal: frames first-last to count allocations over.", visibility: .hidden))
    var traceWindow: String?

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    mutating func run() throws {
        if let stage {
            try runAsChild(stage)
            return
        }
        let path = try file ?? generatedCapture(size: size)
        let flatnessPath = try flatness.map { try generatedCapture(size: $0) }
        try Runner(
            path: path, stages: stages.split(separator: ",").map(String.init), skipTshark: skipTshark,
            countAllocations: countAllocations, repeats: max(1, repeats), threads: threads, flatnessPath: flatnessPath
        ).run()
    }

    private func runAsChild(_ name: String) throws {
        guard let stage = Stage(rawValue: name), let file else { throw ValidationError("--stage needs a known stage and FILE") }
        var window: ClosedRange<UInt64>?
        if let traceWindow {
            let parts = traceWindow.split(separator: "-").compactMap { UInt64($0) }
            if parts.count == 2, parts[0] <= parts[1] { window = parts[0]...parts[1] }
        }
        let result = try runStage(stage, path: file, traceWindow: window)
        print(ResultLine.encode(result), terminator: "")
    }

    /// /tmp/smtpscope-bench-SIZE-seedN.pcap, generated with smtpscope-gen when missing or
    /// written by another revision of the traffic model (its truth summary's `generator`
    /// differs from `smtpscope-gen --version`).
    private func generatedCapture(size: String) throws -> String {
        let path = "/tmp/smtpscope-bench-\(size)-seed\(seed).pcap"
        let generator = URL(fileURLWithPath: ownExecutable()).deletingLastPathComponent().appendingPathComponent("smtpscope-gen").path
        let revision = generatorRevision(generator)
        let cached = FileManager.default.fileExists(atPath: path) ? TrafficMix.summary(Runner.truthPath(for: path)) : nil
        if let cached, revision == nil || cached["generator"] == revision { return path }
        guard FileManager.default.isExecutableFile(atPath: generator) else {
            throw ValidationError("\(path) is missing and \(generator) is not built: run `swift build -c release` first")
        }
        let reason = cached == nil ? "" : " (it was written by generator revision \(cached?["generator"] ?? "1"), this one is \(revision ?? "?"))"
        FileHandle.standardError.write(Data("generating \(path) (\(size), seed \(seed))\(reason) …\n".utf8))
        guard let run = runChild([generator, "--size", size, "--seed", String(seed), "-w", path], stdoutPath: "/dev/null"), run.status == 0 else {
            try? FileManager.default.removeItem(atPath: path)
            throw ValidationError("smtpscope-gen failed")
        }
        FileHandle.standardError.write(Data(String(format: "generated in %.1f s\n", run.seconds).utf8))
        return path
    }

    /// The traffic-model revision `smtpscope-gen --version` prints, nil when it cannot run.
    private func generatorRevision(_ generator: String) -> String? {
        guard FileManager.default.isExecutableFile(atPath: generator) else { return nil }
        let output = temporaryPath("generator-version")
        defer { try? FileManager.default.removeItem(atPath: output) }
        guard let run = runChild([generator, "--version"], stdoutPath: output), run.status == 0,
            let text = try? String(contentsOfFile: output, encoding: .utf8)
        else { return nil }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
