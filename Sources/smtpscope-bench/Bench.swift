import ArgumentParser
import Foundation

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtpscope-bench",
        abstract: "Measure each pipeline stage on a capture and print the figures.",
        discussion: """
            Times, each in its own process (so each peak RSS is its own): (a) the bare libpcap read loop \
            through Capture, (b) + Wire decode, (c) + TCP reassembly, (d) + SMTP sessions, (e) the full \
            analysis with JSON output, (f) tshark extracting SMTP reply codes. Prints MB/s, packets/s, \
            peak RSS, the ratios full/read-loop and tshark/full, and whether the findings match the \
            capture's truth file. Without FILE, a capture of --size is generated into /tmp once \
            (needs smtpscope-gen next to this executable: `swift build -c release`).

            Example: swift build -c release && .build/release/smtpscope-bench --size 1GiB

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

    @Option(help: "Seed of the generated capture.")
    var seed: UInt64 = 1

    @Option(help: "Stages to run, comma-separated: read,decode,reassemble,smtp,analyze,tshark.")
    var stages = "read,decode,reassemble,smtp,analyze,tshark"

    @Option(help: "Runs per stage; the fastest is shown (shared machines are noisy).")
    var repeats = 3

    @Flag(help: "Do not run tshark.")
    var skipTshark = false

    @Flag(help: "Also count heap allocations per packet (glibc mtrace over a window of mid-file frames).")
    var countAllocations = false

    @Option(help: ArgumentHelp("Internal: run one stage and print its result.", visibility: .hidden))
    var stage: String?

    @Option(help: ArgumentHelp("Internal: frames first-last to trace allocations over.", visibility: .hidden))
    var traceWindow: String?

    mutating func run() throws {
        if let stage {
            try runAsChild(stage)
            return
        }
        let path = try capturePath()
        try Runner(
            path: path, stages: stages.split(separator: ",").map(String.init), skipTshark: skipTshark,
            countAllocations: countAllocations, repeats: max(1, repeats)
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

    private func capturePath() throws -> String {
        if let file { return file }
        let path = "/tmp/smtpscope-bench-\(size)-seed\(seed).pcap"
        if FileManager.default.fileExists(atPath: path) { return path }
        let generator = URL(fileURLWithPath: ownExecutable()).deletingLastPathComponent().appendingPathComponent("smtpscope-gen").path
        guard FileManager.default.isExecutableFile(atPath: generator) else {
            throw ValidationError("\(path) is missing and \(generator) is not built: run `swift build -c release` first")
        }
        FileHandle.standardError.write(Data("generating \(path) (\(size), seed \(seed)) …\n".utf8))
        guard let run = runChild([generator, "--size", size, "--seed", String(seed), "-w", path], stdoutPath: "/dev/null"), run.status == 0 else {
            try? FileManager.default.removeItem(atPath: path)
            throw ValidationError("smtpscope-gen failed")
        }
        FileHandle.standardError.write(Data(String(format: "generated in %.1f s\n", run.seconds).utf8))
        return path
    }
}
