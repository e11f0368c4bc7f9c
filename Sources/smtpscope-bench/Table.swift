/// One line of the stage table.
struct Row {
    var label: String
    var seconds = 0.0
    var packets = 0.0
    var peakKilobytes = 0
    /// False when the peak may be the benchmark's own (see ``ChildRun/peakIsChilds``).
    var peakIsChilds = true
    var note = ""
}

/// The stage table: seconds, MB/s, kpkt/s, ratio to the read loop, peak RSS.
struct Table {
    var fileBytes: Double
    var rows: [Row] = []

    mutating func add(_ label: String, _ decoded: ResultLine.Decoded) {
        rows.append(Row(label: label, seconds: decoded.seconds, packets: decoded.packets, peakKilobytes: decoded.peakKilobytes,
                        note: decoded.fields.filter { !["stage", "packets", "seconds", "hwm_kb"].contains($0.key) }
                            .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))
    }

    mutating func add(_ label: String, _ outcome: CLIRuns.Outcome?, packets: Double, what: String) {
        guard let outcome else {
            rows.append(Row(label: label, note: "n/a (smtpscope analyze failed)"))
            return
        }
        rows.append(Row(label: label, seconds: outcome.seconds, packets: packets, peakKilobytes: outcome.run.peakKilobytes,
                        peakIsChilds: outcome.run.peakIsChilds,
                        note: ([what, "real executable, wall time, peak = its ru_maxrss"] + (outcome.run.status == 0 ? [] : ["exit \(outcome.run.status)\(outcome.run.status == 1 ? " (problems found)" : "")"]))
                            .filter { !$0.isEmpty }.joined(separator: "; ")))
    }

    /// Seconds of the row whose label starts with `prefix`, if it ran.
    func seconds(_ prefix: String) -> Double? {
        rows.first { $0.label.hasPrefix(prefix) && $0.seconds > 0 }?.seconds
    }

    func print() {
        let read = seconds("(a)")
        Swift.print("")
        Swift.print(pad("stage", 24) + lpad("seconds", 9) + lpad("MB/s", 10) + lpad("kpkt/s", 10) + lpad("x read", 8) + lpad("peak RSS", 12) + "  notes")
        for row in rows {
            guard row.seconds > 0 else {
                Swift.print(pad(row.label, 24) + lpad("n/a", 9) + "  " + row.note)
                continue
            }
            let ratio = read.map { format(row.seconds / $0, 2) } ?? "-"
            Swift.print(pad(row.label, 24) + lpad(format(row.seconds, 3), 9) + lpad(format(fileBytes / 1e6 / row.seconds, 1), 10)
                + lpad(row.packets > 0 ? format(row.packets / 1e3 / row.seconds, 1) : "-", 10) + lpad(ratio, 8)
                + lpad(format(Double(row.peakKilobytes) / 1024, 1) + " MiB" + (row.peakIsChilds ? " " : "*"), 12) + "  " + row.note)
        }
        if rows.contains(where: { $0.seconds > 0 && !$0.peakIsChilds }) {
            Swift.print("* not above this benchmark's own peak RSS: ru_maxrss may show ours (posix_spawn runs the child on our memory until exec)")
        }
    }
}

/// Issue 9's targets next to the figures, each PASS, FAIL or n/a.
struct Verdict {
    private var lines: [(name: String, target: String, figure: String, pass: Bool?)] = []

    mutating func add(_ name: String, _ target: String, _ figure: String, _ pass: Bool?) {
        lines.append((name, target, figure, pass))
    }

    func print() {
        Swift.print("")
        Swift.print("verdict (issue 9 targets):")
        for line in lines {
            Swift.print("  " + pad(line.name, 26) + pad(line.target, 12) + pad(line.figure, 22)
                + (line.pass.map { $0 ? "PASS" : "FAIL" } ?? "n/a"))
        }
    }
}
