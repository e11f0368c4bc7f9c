/// What every section needs: the input, the options, and lookups computed once.
struct ReportView {
    let input: ReportInput
    let options: ReportOptions
    private let flowsByKey: [String: ReportFlow]
    private let captureOrder: [String]

    init(input: ReportInput, options: ReportOptions) {
        self.input = input
        self.options = options
        var flowsByKey: [String: ReportFlow] = [:]
        for flow in input.flows where flowsByKey[Self.key(flow.capture, flow.index)] == nil {
            flowsByKey[Self.key(flow.capture, flow.index)] = flow
        }
        self.flowsByKey = flowsByKey
        self.captureOrder = input.captures
    }

    static func key(_ capture: String, _ flow: Int) -> String { "\(capture)\u{1F}\(flow)" }

    func flow(capture: String, index: Int) -> ReportFlow? { flowsByKey[Self.key(capture, index)] }

    /// `outside`, `inside`, … for a capture: the option first, then the file's label.
    func vantage(of capture: String) -> String? {
        if let label = options.vantages[capture] { return label }
        if let file = input.file(forCapture: capture) { return file.vantage }
        return ReportInputFile.guessVantage(fromFileName: capture)
    }

    /// Short name of a capture for row labels: the vantage, else the file name, else its index.
    func shortName(of capture: String) -> String {
        if let vantage = vantage(of: capture) { return vantage }
        if let file = input.file(forCapture: capture) { return file.name }
        return capture.isEmpty ? "capture" : capture
    }

    /// Sort key putting `outside` before `inside`, then captures in order of appearance.
    func captureRank(_ capture: String) -> Int {
        let base = (captureOrder.firstIndex(of: capture) ?? captureOrder.count) + 10
        switch vantage(of: capture) {
        case "outside": return 0
        case "inside": return 1
        default: return base
        }
    }

    /// Escaped capture text, cut to the option's length.
    func text(_ value: String) -> String { escape(value, limit: options.maxTextLength) }

    /// The time a transaction started: its own `start`, else the matching message attempt, else
    /// the flow start for the first transaction and the terminator time for later ones.
    func startTime(of transaction: ReportTransaction, in flow: ReportFlow, attemptStarts: [String: Double]) -> Double? {
        if let start = transaction.start { return start }
        if let start = attemptStarts[Self.key(flow.capture, flow.index) + "/\(transaction.index)"] { return start }
        if transaction.index == flow.transactions.first?.index { return flow.start ?? transaction.terminator?.time }
        return transaction.terminator?.time ?? flow.start
    }

    /// Message attempt starts by `capture/flow/transaction`.
    var attemptStarts: [String: Double] {
        var starts: [String: Double] = [:]
        for message in input.messages {
            for attempt in message.attempts {
                starts[Self.key(attempt.capture, attempt.flow) + "/\(attempt.transaction)"] = attempt.start
            }
        }
        return starts
    }
}

/// `1.2 MiB`.
func byteSize(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : cFormat("%.1f", value) + " " + units[unit]
}

/// `p = 0.0667`, `p < 0.0001`.
func pValueText(_ p: Double) -> String {
    if !p.isFinite { return "p = ?" }
    if p < 0.0001 { return "p < 0.0001" }
    if p >= 0.1 { return cFormat("p = %.2f", p) }
    return cFormat("p = %.3g", p)
}
