import ArgumentParser
import Foundation

/// `smtpscope-bench adversarial [KIND...]`: generates each hostile capture with
/// `smtpscope-gen adversarial`, runs `smtpscope analyze --format jsonl` on it in a
/// child process, and prints size, frames, wall time, peak RSS, the stated bound
/// and PASS/FAIL. PASS needs the memory bound and the evidence that the limit
/// was reported (or, for unreadable records, a clear message).
struct AdversarialBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtpscope-bench adversarial",
        abstract: "Run smtpscope on each hostile capture and check its memory bound and what it reported.",
        discussion: """
            Needs smtpscope and smtpscope-gen next to this executable \
            (swift build -c release --product smtpscope --product smtpscope-bench --product smtpscope-gen). \
            Captures are written to --directory and removed afterwards unless --keep. Default limits of \
            smtpscope analyze apply (see its --help).

            Kinds: \(AdversarialCase.all.map(\.kind).joined(separator: ", ")) (default: all).
            """)

    @Argument(help: "Cases to run (default: all).")
    var kinds: [String] = []

    @Option(help: "Multiplies each case's count or size (1 = full size).")
    var scale: Double = 1

    @Option(help: "Where the captures are written.")
    var directory = "/tmp/smtpscope-adversarial"

    @Flag(help: "Keep the generated captures and outputs.")
    var keep = false

    func validate() throws {
        for kind in kinds where !AdversarialCase.all.contains(where: { $0.kind == kind }) {
            throw ValidationError("unknown kind '\(kind)'")
        }
    }

    func run() throws {
        let folder = URL(fileURLWithPath: ownExecutable()).deletingLastPathComponent()
        let generator = folder.appendingPathComponent("smtpscope-gen").path
        let analyzer = folder.appendingPathComponent("smtpscope").path
        for tool in [generator, analyzer] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw ValidationError("\(tool) is not built")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let cases = kinds.isEmpty ? AdversarialCase.all : AdversarialCase.all.filter { kinds.contains($0.kind) }
        print("smtpscope analyze --format jsonl, default limits, scale \(scale); peak RSS = VmHWM of the child, polled every 2 ms")
        print(pad("case", 18) + lpad("input MB", 10) + lpad("frames", 10) + lpad("gen RSS", 9) + lpad("seconds", 9)
            + lpad("peak RSS", 10) + lpad("bound", 9) + lpad("exit", 5) + "  result  evidence")
        var failures = 0
        for item in cases {
            let capture = "\(directory)/\(item.kind).\(item.kind.hasPrefix("pcapng") ? "pcapng" : "pcap")"
            let out = "\(directory)/\(item.kind).jsonl", err = "\(directory)/\(item.kind).stderr"
            let genOut = "\(directory)/\(item.kind).gen"
            defer {
                if !keep { for path in [capture, out, err, genOut] { try? FileManager.default.removeItem(atPath: path) } }
            }
            guard let gen = runChildCapturing(
                [generator, "adversarial", item.kind, "-w", capture, "--scale", String(scale)], stdoutPath: genOut, stderrPath: err),
                gen.status == 0
            else {
                print(pad(item.kind, 18) + "  generator failed")
                failures += 1
                continue
            }
            let generated = (try? String(contentsOfFile: genOut, encoding: .utf8)) ?? ""
            let frames = generated.split(separator: " ").firstIndex(of: "frames").map { generated.split(separator: " ")[$0 - 1] } ?? "?"
            let size = (try? FileManager.default.attributesOfItem(atPath: capture)[.size] as? Int) ?? 0
            guard let run = runChildCapturing([analyzer, "analyze", "--format", "jsonl", capture], stdoutPath: out, stderrPath: err) else {
                print(pad(item.kind, 18) + "  could not start smtpscope")
                failures += 1
                continue
            }
            let output = AdversarialOutput(stdoutPath: out, stderrPath: err)
            let verdict = item.check(output, scale, capture)
            let peakMiB = Double(run.peakKilobytes) / 1024
            let signalled = run.status >= 128
            let withinBound = peakMiB <= Double(item.boundMiB)
            let pass = !signalled && run.status != 2 || item.allowsExit2
            let ok = pass && withinBound && verdict.reported
            if !ok { failures += 1 }
            print(pad(item.kind, 18) + lpad(format(Double(size) / 1e6, 1), 10) + lpad(String(frames), 10)
                + lpad(format(Double(gen.peakKilobytes) / 1024, 0) + "M", 9) + lpad(format(run.seconds, 2), 9)
                + lpad(format(peakMiB, 1) + "M", 10) + lpad("\(item.boundMiB)M", 9) + lpad(String(run.status), 5)
                + "  " + (ok ? "PASS" : "FAIL") + "    " + verdict.evidence
                + (withinBound ? "" : "; OVER THE MEMORY BOUND") + (signalled ? "; KILLED BY SIGNAL \(run.status - 128)" : ""))
        }
        print("")
        print(failures == 0 ? "all \(cases.count) cases PASS" : "\(failures) of \(cases.count) cases FAIL")
    }
}

/// One hostile case: its stated memory bound (peak RSS of `smtpscope analyze` with
/// default limits) and what the output must show.
struct AdversarialCase: Sendable {
    var kind: String
    var boundMiB: Int
    /// The case expects an exit status of 2 (nothing readable) to be acceptable.
    var allowsExit2 = false
    /// Whether the limit (or damage) was reported, and the evidence seen.
    var check: @Sendable (AdversarialOutput, Double, String) -> (reported: Bool, evidence: String)

    static let all: [AdversarialCase] = [
        // 100,000 tracked flows (--max-flows) plus one flow record per connection seen.
        AdversarialCase(kind: "syn-flood", boundMiB: 512) { out, scale, _ in
            let flood = max(1, Int((1_000_000 * scale).rounded()))
            // The first conversation has closed before the flood; the flood and the last one pass through 100,000 slots.
            let evictions = max(0, flood + 1 - 100_000)
            let ok = out.int("limits_hit") >= evictions && out.code("capture.limit_reached") >= evictions && out.outcome("accepted") == 2
            return (ok, "limits_hit=\(out.int("limits_hit")) (>= \(evictions) evictions expected), limit_reached findings=\(out.code("capture.limit_reached")), flows=\(out.int("flows")), accepted=\(out.outcome("accepted"))/2")
        },
        // One flow: out-of-order storage bounded by 1 MiB per flow.
        AdversarialCase(kind: "overlap-conflict", boundMiB: 64) { out, _, _ in
            let ok = out.code("tcp.overlap_conflict") >= 1 && out.int("transactions") == 1
            return (ok, "tcp.overlap_conflict=\(out.code("tcp.overlap_conflict")), outcomes accepted=\(out.outcome("accepted")) incomplete=\(out.outcome("incomplete")), limit_reached=\(out.code("capture.limit_reached"))")
        },
        AdversarialCase(kind: "seq-hole", boundMiB: 64) { out, _, _ in
            let ok = out.code("capture.limit_reached") >= 1 && out.code("capture.gap") >= 1 && out.int("transactions") == 1
            return (ok, "limit_reached=\(out.code("capture.limit_reached")), capture.gap=\(out.code("capture.gap")), limits_hit=\(out.int("limits_hit")), transactions=\(out.int("transactions"))")
        },
        // Per-flow memory must not depend on the message size.
        AdversarialCase(kind: "huge-body", boundMiB: 64) { out, scale, _ in
            let expected = max(4_096, Int((Double(1 << 30) * scale).rounded()))
            let sizes = out.transactionSizes
            let ok = out.outcome("accepted") == 1 && sizes.contains { $0 >= expected - 2 && $0 <= expected + 2 }
            return (ok, "accepted=\(out.outcome("accepted")), size=\(sizes.map(String.init).joined(separator: ",")) (sent \(expected))")
        },
        AdversarialCase(kind: "pipelined-flood", boundMiB: 64) { out, _, _ in
            (out.code("smtp.pipeline_limit") >= 1, "smtp.pipeline_limit=\(out.code("smtp.pipeline_limit")), flows=\(out.int("flows"))")
        },
        AdversarialCase(kind: "endless-line", boundMiB: 64) { out, _, _ in
            (out.code("smtp.line_too_long") >= 1, "smtp.line_too_long=\(out.code("smtp.line_too_long")), flows=\(out.int("flows")), codes=\(out.findingCodes.keys.sorted())")
        },
        AdversarialCase(kind: "records", boundMiB: 64) { out, scale, capture in
            let zero = max(1, Int((1_000 * scale).rounded()))
            let name = URL(fileURLWithPath: capture).lastPathComponent
            let giant = out.stderr.split(separator: "\n").first { $0.contains(name) && $0.contains("frame ") && $0.contains("300000") }
            let ok = giant != nil && out.int("decode_errors") >= zero && out.outcome("accepted") == 1 && out.int("read_errors") == 1
            return (ok, "stderr: \(giant.map { String($0.drop { $0 != ":" }.dropFirst().prefix(90)) } ?? "(no line naming the giant record)"); decode_errors=\(out.int("decode_errors")) (>= \(zero) zero-length), read_errors=\(out.int("read_errors")), accepted=\(out.outcome("accepted"))")
        },
        AdversarialCase(kind: "pcapng-interfaces", boundMiB: 64) { out, _, _ in
            let ok = out.outcome("accepted") == 1 && out.int("read_errors") == 0
            return (ok, "accepted=\(out.outcome("accepted")), read_errors=\(out.int("read_errors")), packets=\(out.int("packets"))")
        },
        AdversarialCase(kind: "pcapng-mixed", boundMiB: 64) { out, _, _ in
            let line = out.stderr.split(separator: "\n").first { $0.contains("different link types") }
            let ok = line != nil && out.outcome("accepted") == 1
            return (ok, "stderr: \(line.map { String($0.prefix(80)) } ?? "(no clear message)"); accepted=\(out.outcome("accepted"))")
        },
        // Fragment storage: 256 datagrams / 4 MiB held (DecoderOptions).
        AdversarialCase(kind: "frag-flood", boundMiB: 64) { out, _, _ in
            let reported = out.int("decode_errors") + out.int("limits_hit") + out.code("capture.limit_reached") > 0
            return (reported && out.outcome("accepted") == 1,
                    "accepted=\(out.outcome("accepted")), decode_errors=\(out.int("decode_errors")), limits_hit=\(out.int("limits_hit"))"
                    + (reported ? "" : ": fragment evictions NOT REPORTED (no counter in the output)"))
        },
    ]
}
