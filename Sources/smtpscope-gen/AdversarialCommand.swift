import ArgumentParser

/// `smtpscope-gen adversarial KIND -w out.pcap [--scale N]`: one hostile capture.
struct Adversarial: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtpscope-gen adversarial",
        abstract: "Write one hostile capture (streamed: the generator's memory does not grow with it).",
        discussion: "Kinds:\n" + AdversarialKind.allCases.map { "  \($0.rawValue): \($0.summary)" }.joined(separator: "\n")
            + "\n\nExample: smtpscope-gen adversarial syn-flood -w /tmp/syn-flood.pcap")

    @Argument(help: ArgumentHelp("The case: \(AdversarialKind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "kind"))
    var kind: String

    @Option(name: [.customShort("w"), .long], help: "The capture file to write (pcap; pcapng for the pcapng-* kinds).")
    var write: String

    @Option(help: "Multiplies the case's count or size (1 = full size, 0.001 for a quick test).")
    var scale: Double = 1

    @Flag(name: .shortAndLong, help: "Print nothing on success.")
    var quiet = false

    func validate() throws {
        guard AdversarialKind(rawValue: kind) != nil else {
            throw ValidationError("unknown kind '\(kind)'; one of: \(AdversarialKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard scale.isFinite, scale > 0, scale <= 16 else { throw ValidationError("--scale must be in (0, 16]") }
    }

    func run() throws {
        guard let kind = AdversarialKind(rawValue: kind) else { return }
        let output = try AdversarialGenerator(kind: kind, scale: scale).write(path: write)
        if !quiet { print("wrote \(write): \(output.fileBytes) bytes, \(output.frames) frames (\(kind.rawValue), scale \(scale))") }
    }
}
