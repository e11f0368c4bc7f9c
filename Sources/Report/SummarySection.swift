/// The top of the report: verdict, split × unanswered table, middlebox verdict, counts, inputs.
struct SummarySection {
    let view: ReportView

    /// The association from the summary records (summed when several), or counted from the transactions.
    var association: (table: SplitAssociation, computedHere: Bool)? {
        let given = view.input.summaries.compactMap(\.association)
        if given.count == 1, let only = given.first { return (only, false) }
        if given.count > 1 {
            return (SplitAssociation(
                splitUnanswered: given.reduce(0) { $0 + $1.splitUnanswered },
                splitAnswered: given.reduce(0) { $0 + $1.splitAnswered },
                wholeUnanswered: given.reduce(0) { $0 + $1.wholeUnanswered },
                wholeAnswered: given.reduce(0) { $0 + $1.wholeAnswered }), true)
        }
        var cells = (0, 0, 0, 0)
        for transaction in view.input.flows.flatMap(\.transactions) {
            guard let terminator = transaction.terminator, terminator.seen else { continue }
            let split = terminator.byteGroups.count > 1
            let unanswered = ["no_reply", "accepted_late"].contains(transaction.outcome)
            switch (split, unanswered) {
            case (true, true): cells.0 += 1
            case (true, false): cells.1 += 1
            case (false, true): cells.2 += 1
            case (false, false): cells.3 += 1
            }
        }
        guard cells.0 + cells.1 + cells.2 + cells.3 > 0 else { return nil }
        return (SplitAssociation(splitUnanswered: cells.0, splitAnswered: cells.1,
                                 wholeUnanswered: cells.2, wholeAnswered: cells.3), true)
    }

    func render() -> String {
        var html = "<section id=\"summary\" aria-labelledby=\"summary-heading\">\n"
        html += "<h2 id=\"summary-heading\">Summary</h2>\n"
        html += verdict()
        html += "<div class=\"cards\">\n"
        html += associationTable()
        html += middlebox()
        html += counts()
        html += "</div>\n"
        html += inputs()
        html += "</section>\n"
        return html
    }

    private func verdict() -> String {
        let given = view.input.summaries.compactMap(\.verdict).filter { !$0.isEmpty }
        if !given.isEmpty {
            return given.map { "<p class=\"verdict\">\(view.text($0))</p>\n" }.joined()
        }
        let transactions = view.input.flows.flatMap(\.transactions)
        let stalled = transactions.filter { OutcomeKind(outcome: $0.outcome, diagnosis: $0.diagnosis) == .stalled }
        let notReceived = transactions.filter { OutcomeKind(outcome: $0.outcome, diagnosis: $0.diagnosis) == .notReceived }
        let sentence: String
        if let (table, _) = association, table.splitUnanswered > 0, table.pValue < 0.05 {
            sentence = "Split end-of-data terminators go unanswered (\(table.splitUnanswered) of "
                + "\(table.splitUnanswered + table.splitAnswered) split, \(table.wholeUnanswered) of "
                + "\(table.wholeUnanswered + table.wholeAnswered) whole; \(pValueText(table.pValue))): "
                + "something on the path likely drops them, so senders retry and mail is duplicated."
        } else if !stalled.isEmpty || !notReceived.isEmpty {
            sentence = "\(stalled.count) of \(transactions.count) transactions got no reply to the end of data"
                + (notReceived.isEmpty ? "." : "; in \(notReceived.count) the receiver never saw the terminator.")
        } else if transactions.isEmpty {
            sentence = "No SMTP transactions were found."
        } else {
            sentence = "All \(transactions.count) transactions got a reply to the end of data."
        }
        return "<p class=\"verdict\">\(escape(sentence)) <span class=\"note\">(no verdict in the input; "
            + "stated by the report)</span></p>\n"
    }

    private func associationTable() -> String {
        guard let (table, computedHere) = association else {
            return "<div class=\"card\"><h3>Split × unanswered</h3><p>No transaction with a seen terminator.</p></div>\n"
        }
        let note = computedHere
            ? "counted by the report from the transactions (Fisher's exact test, two-sided)"
            : "Fisher's exact test, as given by the analysis"
        return """
        <div class="card"><h3>Split × unanswered</h3>
        <table class="twobytwo">
        <caption>Terminators split across TCP segments against end of data left unanswered</caption>
        <thead><tr><th scope="col">terminator</th><th scope="col">unanswered</th><th scope="col">answered</th></tr></thead>
        <tbody>
        <tr><th scope="row">split</th><td class="hot">\(table.splitUnanswered)</td><td>\(table.splitAnswered)</td></tr>
        <tr><th scope="row">one segment</th><td>\(table.wholeUnanswered)</td><td>\(table.wholeAnswered)</td></tr>
        </tbody></table>
        <p class="pvalue"><strong>\(pValueText(table.pValue))</strong> <span class="note">(\(note))</span></p></div>

        """
    }

    private func middlebox() -> String {
        let verdicts = view.input.summaries.compactMap(\.middlebox)
        var html = "<div class=\"card\"><h3>Middlebox</h3>\n"
        guard !verdicts.isEmpty else { return html + "<p>No middlebox verdict in the input.</p></div>\n" }
        for verdict in verdicts {
            let kind = verdict.kind.map { " (\(view.text($0)))" } ?? ""
            html += verdict.detected
                ? "<p class=\"detected\"><strong>Detected</strong>\(kind)</p>\n"
                : "<p><strong>Not detected</strong>\(kind)</p>\n"
            if !verdict.evidence.isEmpty {
                html += "<ul class=\"evidence\">"
                    + verdict.evidence.prefix(20).map { "<li>\(view.text($0))</li>" }.joined() + "</ul>\n"
            }
        }
        return html + "</div>\n"
    }

    private func counts() -> String {
        let summaries = view.input.summaries
        func total(_ pick: (ReportSummary) -> Int?) -> Int? {
            let values = summaries.compactMap(pick)
            return values.isEmpty ? nil : values.reduce(0, +)
        }
        func merged(_ pick: (ReportSummary) -> [String: Int]) -> [String: Int] {
            summaries.map(pick).reduce(into: [:]) { sum, next in sum.merge(next, uniquingKeysWith: +) }
        }
        var outcomes = merged(\.outcomes)
        var diagnoses = merged(\.diagnoses)
        let transactions = view.input.flows.flatMap(\.transactions)
        if outcomes.isEmpty { for t in transactions { outcomes[t.outcome, default: 0] += 1 } }
        if diagnoses.isEmpty { for t in transactions { diagnoses[t.diagnosis, default: 0] += 1 } }
        let stats = merged(\.captureStats).filter { $0.value != 0 }

        var rows: [(String, String)] = []
        if let packets = total(\.packets) { rows.append(("packets", "\(packets)")) }
        rows.append(("flows", "\(total(\.flows) ?? view.input.flows.count)"))
        rows.append(("transactions", "\(total(\.transactions) ?? transactions.count)"))
        rows.append(("messages sent more than once", "\(view.input.messages.count)"))
        var html = "<div class=\"card\"><h3>Counts</h3>\n<table class=\"counts\"><tbody>\n"
        for (name, value) in rows {
            html += "<tr><th scope=\"row\">\(escape(name))</th><td>\(value)</td></tr>\n"
        }
        for (title, table) in [("outcome", outcomes), ("diagnosis", diagnoses), ("capture", stats)] where !table.isEmpty {
            for key in table.keys.sorted() {
                html += "<tr><th scope=\"row\">\(title): \(view.text(key))</th><td>\(table[key] ?? 0)</td></tr>\n"
            }
        }
        return html + "</tbody></table></div>\n"
    }

    private func inputs() -> String {
        var captures = view.input.captures
        for file in view.input.files where view.input.captures.allSatisfy({ view.input.file(forCapture: $0) != file }) {
            captures.append(file.name)
        }
        var html = "<h3>Inputs</h3>\n<table class=\"inputs\"><thead><tr><th scope=\"col\">capture</th>"
            + "<th scope=\"col\">vantage</th><th scope=\"col\">size</th><th scope=\"col\">flows</th>"
            + "<th scope=\"col\">time span (UTC)</th></tr></thead><tbody>\n"
        for capture in captures {
            let file = view.input.file(forCapture: capture)
            let name = file?.name ?? (capture.isEmpty ? "(unnamed)" : capture)
            let size = file?.sizeBytes.map(byteSize) ?? "–"
            let flows = view.input.flows.filter { $0.capture == capture }.count
            let span = view.input.timeSpan(ofCapture: capture).map(spanText) ?? "–"
            html += "<tr><td>\(view.text(name))</td><td>\(view.text(view.vantage(of: capture) ?? "–"))</td>"
                + "<td>\(size)</td><td>\(flows)</td><td>\(span)</td></tr>\n"
        }
        return html + "</tbody></table>\n"
    }
}

/// `2024-05-01 10:00:00 – 10:02:15 (2 min 15 s)`; the second date only when it differs.
func spanText(_ span: ClosedRange<Double>) -> String {
    let sameDay = TimeText.date(span.lowerBound) == TimeText.date(span.upperBound)
    let end = sameDay ? TimeText.clock(span.upperBound) : "\(TimeText.date(span.upperBound)) \(TimeText.clock(span.upperBound))"
    return "\(TimeText.date(span.lowerBound)) \(TimeText.clock(span.lowerBound)) – \(end) "
        + "(\(TimeText.duration(span.upperBound - span.lowerBound)))"
}
