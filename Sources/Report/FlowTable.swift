/// The per-flow table, worst flows first: endpoints, times, end reason, transactions, findings, and the
/// Wireshark display filter that selects the flow.
struct FlowTable {
    let view: ReportView

    /// Worst of the flow's diagnoses and findings (higher is worse).
    static func severity(_ flow: ReportFlow) -> Int {
        let diagnoses = flow.transactions.map { diagnosisSeverity($0.diagnosis) }
        let findings = flow.findings.map { 2 * findingSeverity($0.severity) }
        return (diagnoses + findings).max() ?? 0
    }

    static func severityLabel(_ rank: Int) -> String {
        switch rank {
        case 5...: return "error"
        case 3...4: return "warning"
        case 1...2: return "info"
        default: return "ok"
        }
    }

    func render() -> String {
        var html = "<section id=\"flows\" aria-labelledby=\"flows-heading\">\n"
        html += "<h2 id=\"flows-heading\">Flows, worst first</h2>\n"
        let ordered = view.input.flows.enumerated().sorted { a, b in
            let left = Self.severity(a.element), right = Self.severity(b.element)
            if left != right { return left > right }
            let leftStart = a.element.start ?? .infinity, rightStart = b.element.start ?? .infinity
            return leftStart != rightStart ? leftStart < rightStart : a.offset < b.offset
        }.map(\.element)
        guard !ordered.isEmpty else { return html + "<p>No flows.</p>\n</section>\n" }
        let shown = ordered.prefix(max(0, view.options.maxFlowRows))
        html += """
        <table class="flows">
        <colgroup><col class="c-sev"/><col class="c-flow"/><col class="c-time"/><col class="c-end"/><col class="c-tx"/><col class="c-find"/><col class="c-filter"/></colgroup>
        <thead><tr><th scope="col">severity</th><th scope="col">client → server</th><th scope="col">start (UTC)</th><th scope="col">end</th><th scope="col">transactions</th><th scope="col">findings</th><th scope="col">Wireshark filter</th></tr></thead>
        <tbody>

        """
        for flow in shown { html += row(flow) }
        html += "</tbody></table>\n"
        if ordered.count > shown.count {
            html += "<p class=\"limit\">\(ordered.count - shown.count) more flows not listed "
                + "(limit \(view.options.maxFlowRows) rows).</p>\n"
        }
        return html + "</section>\n"
    }

    private func row(_ flow: ReportFlow) -> String {
        let severity = Self.severityLabel(Self.severity(flow))
        var cells: [String] = []
        cells.append("<td class=\"sev sev-\(severity)\">\(severity)</td>")

        var who = "<span class=\"endpoints\">\(view.text(flow.client.text)) → \(view.text(flow.server.text))</span>"
        who += "<br/><span class=\"note\">flow \(flow.index)"
        who += " · " + view.text(view.shortName(of: flow.capture))
        if flow.tls { who += " · TLS" }
        who += "</span>"
        if let banner = flow.banner, !banner.isEmpty {
            who += "<br/><span class=\"banner\">\(view.text(banner))</span>"
        }
        cells.append("<td>\(who)</td>")

        var when = flow.start.map { "\(TimeText.date($0))<br/>\(TimeText.clock($0, digits: 3))" } ?? "–"
        if let start = flow.start, let end = flow.end { when += "<br/><span class=\"note\">\(TimeText.duration(end - start))</span>" }
        cells.append("<td>\(when)</td>")

        var end = view.text(flow.endReason)
        if let closedBy = flow.closedBy { end += "<br/><span class=\"note\">by \(view.text(closedBy))</span>" }
        cells.append("<td>\(end)</td>")

        if flow.transactions.isEmpty {
            cells.append("<td>–</td>")
        } else {
            let items = flow.transactions.prefix(50).map { transaction -> String in
                let kind = OutcomeKind(outcome: transaction.outcome, diagnosis: transaction.diagnosis)
                var item = "<li><svg class=\"legend-symbol\" viewBox=\"0 0 20 20\" width=\"14\" height=\"14\" aria-hidden=\"true\">"
                    + kind.symbol(x: 10, y: 10, r: 7, classes: "legend-mark kind-\(kind.rawValue)") + "</svg> "
                item += "#\(transaction.index) <strong>\(view.text(transaction.outcome))</strong>"
                item += " · \(view.text(transaction.diagnosis))"
                if let terminator = transaction.terminator, terminator.seen, !terminator.splitPositions.isEmpty {
                    item += " · split after \(terminator.splitPositions.map(String.init).joined(separator: ","))"
                }
                if let reply = transaction.reply {
                    item += " · reply \(reply.code)"
                    if let latency = reply.latency { item += " after \(TimeText.duration(latency))" }
                }
                if let id = transaction.messageID { item += "<br/><span class=\"note\">\(view.text(id))</span>" }
                return item + "</li>"
            }
            let more = flow.transactions.count > 50 ? "<li>… \(flow.transactions.count - 50) more</li>" : ""
            cells.append("<td><ul class=\"plain\">\(items.joined())\(more)</ul></td>")
        }

        if flow.findings.isEmpty {
            cells.append("<td>–</td>")
        } else {
            let items = flow.findings.prefix(30).map { finding -> String in
                let frames = finding.frames.isEmpty ? ""
                    : " <span class=\"note\">(frame \(finding.frames.prefix(8).map(String.init).joined(separator: ", "))"
                        + (finding.frames.count > 8 ? ", …" : "") + ")</span>"
                return "<li class=\"find-\(classToken(finding.severity))\"><code>\(view.text(finding.code))</code> "
                    + "\(view.text(finding.severity))\(frames)"
                    + (finding.message.isEmpty ? "" : "<br/>\(view.text(finding.message))") + "</li>"
            }
            cells.append("<td><ul class=\"plain\">\(items.joined())</ul></td>")
        }
        cells.append("<td><code class=\"filter\">\(view.text(flow.displayFilter))</code></td>")
        return "<tr class=\"flow sev-\(severity)\">" + cells.joined() + "</tr>\n"
    }
}
