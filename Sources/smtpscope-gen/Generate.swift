import ArgumentParser
import Capture

@main
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtpscope-gen",
        abstract: "Write a deterministic synthetic SMTP capture and its truth file.",
        discussion: """
            Hundreds of concurrent SMTP conversations on port 25 (pipelined envelopes, 1-200 KB messages in \
            MSS-sized segments, a few percent of split end-of-data terminators, some unanswered and retried, \
            greylisting), plus about 20 % bulk TCP and DNS traffic by bytes. The same seed and size give a \
            byte-identical capture. The truth file has one JSON line per transaction and a summary line.

            Example: smtpscope-gen --size 1GiB --seed 7 -w /tmp/smtp-1g.pcap

            Hostile captures: smtpscope-gen adversarial KIND -w FILE [--scale N] (see `smtpscope-gen adversarial --help`).
            """,
        version: Generator.revision)

    /// `adversarial …` goes to its own command (it shares `-w` with this one, so it cannot be a subcommand).
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "adversarial" { Adversarial.main(Array(arguments.dropFirst())) } else { main(arguments) }
    }

    @Option(name: .long, help: "Approximate capture size: bytes or with a unit (KB, MB, GB, KiB, MiB, GiB).")
    var size: String = "100MB"

    @Option(name: .long, help: "Random seed; the same seed and size give the same capture.")
    var seed: UInt64 = 1

    @Option(name: [.customShort("w"), .long], help: "The pcap file to write.")
    var write: String

    @Option(name: .long, help: "The truth file to write (default: the capture path with .truth.jsonl).")
    var truth: String?

    @Option(name: .long, help: "Concurrent SMTP conversations (default: size / 200 KB, between 4 and 300).")
    var concurrency: Int?

    @Option(name: .long, help: "Seconds between a failed attempt's MAIL and its retry's MAIL.")
    var retryInterval: Int = 60

    @Flag(name: .shortAndLong, help: "Print nothing on success.")
    var quiet = false

    var targetBytes: Int { parseByteSize(size) ?? 0 }

    func validate() throws {
        guard let bytes = parseByteSize(size), bytes >= 10_000 else {
            throw ValidationError("--size must be at least 10KB, e.g. 2MB, 100MB or 1GiB")
        }
        if let concurrency, !(1...10_000).contains(concurrency) { throw ValidationError("--concurrency must be 1-10000") }
        guard (1...3_600).contains(retryInterval) else { throw ValidationError("--retry-interval must be 1-3600 seconds") }
    }

    func run() throws {
        let truthPath = truth ?? Self.truthPath(for: write)
        let sink = try FrameSink(path: write)
        guard let truthFile = TruthWriter(path: truthPath) else {
            throw ValidationError("cannot write the truth file \(truthPath)")
        }
        let options = Generator.Options(
            targetBytes: targetBytes, seed: seed,
            concurrency: concurrency ?? min(300, max(4, targetBytes / 200_000)),
            retryIntervalNanoseconds: Int64(retryInterval) * 1_000_000_000)
        let generator = Generator(options: options, sink: sink, truth: truthFile)
        generator.run()
        try sink.close()
        truthFile.write(line: generator.summary())
        guard truthFile.close() else { throw ValidationError("cannot finish the truth file \(truthPath)") }
        if !quiet {
            print("wrote \(write): \(sink.fileBytes) bytes, \(sink.frames) frames, \(generator.conversations) SMTP connections, "
                + "\(truthFile.records) transactions, \(generator.bulkTransfers) bulk transfers")
            print("truth: \(truthPath)")
        }
    }

    /// `x.pcap` → `x.truth.jsonl`.
    static func truthPath(for capture: String) -> String {
        (capture.hasSuffix(".pcap") ? String(capture.dropLast(5)) : capture) + ".truth.jsonl"
    }
}

/// `2MB` = 2,000,000; `1GiB` = 2^30; plain digits are bytes.
func parseByteSize(_ text: String) -> Int? {
    let units: [(String, Int)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000),
        ("K", 1_000), ("M", 1_000_000), ("G", 1_000_000_000), ("B", 1),
    ]
    for (suffix, factor) in units where text.hasSuffix(suffix) {
        guard let value = Double(text.dropLast(suffix.count)), value >= 0, value < 1e6 else { return nil }
        return Int(value * Double(factor))
    }
    return Int(text)
}
