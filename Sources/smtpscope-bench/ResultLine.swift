/// The child's report to the parent: `key=value` lines on standard output.
enum ResultLine {
    static func encode(_ result: StageResult) -> String {
        var text = "RESULT stage=\(result.stage.rawValue) packets=\(result.packets) seconds=\(result.seconds) hwm_kb=\(result.peakKilobytes)"
        for (name, value) in result.counters { text += " \(name)=\(value)" }
        text += "\n"
        if let a = result.allocations {
            text += "ALLOC window_packets=\(a.windowPackets) window_mallocs=\(a.window.mallocs) window_reallocs=\(a.window.reallocs)"
                + " window_frees=\(a.window.frees) total_mallocs=\(a.total.mallocs) total_reallocs=\(a.total.reallocs)"
                + " total_frees=\(a.total.frees) samples=\(a.samples)\n"
            for (caller, count) in a.topSites { text += "CALLER \(count) \(caller)\n" }
        }
        for message in result.messages { text += "MSG \(message)\n" }
        return text
    }

    /// What the parent reads back.
    struct Decoded {
        var fields: [String: String] = [:]
        /// The ALLOC line's fields (empty when allocations were not counted).
        var allocation: [String: UInt64] = [:]
        var callers: [String] = []
        var messages: [String] = []

        var packets: Double { Double(fields["packets"] ?? "") ?? 0 }
        var seconds: Double { Double(fields["seconds"] ?? "") ?? 0 }
        var peakKilobytes: Int { Int(fields["hwm_kb"] ?? "") ?? 0 }
    }

    static func decode(_ text: String) -> Decoded? {
        var decoded = Decoded()
        var sawResult = false
        for line in text.split(separator: "\n") {
            if line.hasPrefix("RESULT ") {
                sawResult = true
                for pair in line.dropFirst(7).split(separator: " ") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    if parts.count == 2 { decoded.fields[String(parts[0])] = String(parts[1]) }
                }
            } else if line.hasPrefix("ALLOC ") {
                for pair in line.dropFirst(6).split(separator: " ") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    if parts.count == 2, let value = UInt64(parts[1]) { decoded.allocation[String(parts[0])] = value }
                }
            } else if line.hasPrefix("CALLER ") {
                decoded.callers.append(String(line.dropFirst(7)))
            } else if line.hasPrefix("MSG ") {
                decoded.messages.append(String(line.dropFirst(4)))
            }
        }
        return sawResult ? decoded : nil
    }
}
