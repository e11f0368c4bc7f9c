/// For each stalled transaction, the terminator bytes drawn as cells grouped by the TCP segment that carried
/// them, so the split position is seen rather than read.
struct TerminatorPictures {
    let view: ReportView

    struct Item {
        var flow: ReportFlow
        var transaction: ReportTransaction
        var terminator: ReportTerminator
        var time: Double?
    }

    /// Stalled transactions (no reply, or a reply only after the client gave up) whose terminator was seen.
    func items() -> [Item] {
        let starts = view.attemptStarts
        var items: [Item] = []
        for flow in view.input.flows {
            for transaction in flow.transactions {
                let kind = OutcomeKind(outcome: transaction.outcome, diagnosis: transaction.diagnosis)
                guard kind == .stalled || kind == .acceptedLate || transaction.diagnosis == "split_terminator_stall",
                      let terminator = transaction.terminator, terminator.seen else { continue }
                items.append(Item(flow: flow, transaction: transaction, terminator: terminator,
                                  time: view.startTime(of: transaction, in: flow, attemptStarts: starts)))
            }
        }
        return items.sorted { ($0.time ?? 0) < ($1.time ?? 0) }
    }

    func render() -> String {
        var html = "<section id=\"terminators\" aria-labelledby=\"terminators-heading\">\n"
        html += "<h2 id=\"terminators-heading\">End-of-data terminators of stalled transactions</h2>\n"
        let all = items()
        guard !all.isEmpty else {
            return html + "<p>No stalled transaction with a seen terminator.</p>\n</section>\n"
        }
        html += "<p class=\"lead\">Each box is one TCP segment (frame number, capture time); the cells are the "
            + "terminator bytes it carried. A dashed box was retransmitted.</p>\n<div class=\"pictures\">\n"
        let shown = all.prefix(max(0, view.options.maxTerminatorPictures))
        for (number, item) in shown.enumerated() {
            html += figure(item, id: "terminator-\(number + 1)")
        }
        html += "</div>\n"
        if all.count > shown.count {
            html += "<p class=\"limit\">\(all.count - shown.count) more stalled transactions not drawn "
                + "(limit \(view.options.maxTerminatorPictures)).</p>\n"
        }
        return html + "</section>\n"
    }

    static let cellWidth = 46.0
    static let cellHeight = 40.0
    static let groupGap = 34.0

    private func figure(_ item: Item, id: String) -> String {
        let segments = item.terminator.segments(retransmittedElsewhere: item.flow.retransmissionFrames)
        let bytes = item.terminator.bytes
        let frames = segments.map { $0.frame.map(String.init) ?? "?" }.joined(separator: " | ")
        let where_ = segments.count == 1
            ? "in one segment (frame \(frames))"
            : "split after byte \(item.terminator.splitPositions.map(String.init).joined(separator: ", ")) (frames \(frames))"
        let retransmitted = segments.compactMap { $0.retransmitted ? $0.frame.map(String.init) ?? "?" : nil }
        var sentence = "Flow \(item.flow.index)"
            + (view.vantage(of: item.flow.capture).map { " (\($0))" } ?? "")
            + " \(item.flow.client.text) → \(item.flow.server.text), transaction \(item.transaction.index)"
            + (item.time.map { " at \(TimeText.dateTime($0))" } ?? "")
            + ": terminator \(item.terminator.style) \(where_)"
        if !retransmitted.isEmpty { sentence += ", retransmitted frame \(retransmitted.joined(separator: ", "))" }
        sentence += "; outcome \(item.transaction.outcome), diagnosis \(item.transaction.diagnosis)."

        // Layout: groups left to right, centred labels above (frame) and below (time).
        var x = 16.0
        var body = ""
        let top = 40.0
        let firstTime = segments.compactMap(\.time).first
        var byteIndex = 0
        for (index, segment) in segments.enumerated() {
            let groupWidth = Double(segment.byteCount) * Self.cellWidth
            let classes = segment.retransmitted ? "segment retransmitted" : "segment"
            body += "<g class=\"\(classes)\" data-frame=\"\(segment.frame.map(String.init) ?? "")\" "
                + "data-bytes=\"\(segment.byteCount)\">\n"
            body += "<rect class=\"segment-box\" x=\"\(f(x - 5))\" y=\"\(f(top - 5))\" width=\"\(f(groupWidth + 10))\" "
                + "height=\"\(f(Self.cellHeight + 10))\" rx=\"6\""
                + (segment.retransmitted ? " stroke-dasharray=\"6 3\"" : "") + "/>\n"
            let middle = f(x + groupWidth / 2)
            body += "<text class=\"segment-frame\" x=\"\(middle)\" y=\"\(f(top - 12))\" text-anchor=\"middle\">"
                + "frame \(segment.frame.map(String.init) ?? "?")</text>\n"
            var below: [String] = []
            if let time = segment.time {
                below.append(index == 0 || firstTime == nil
                    ? TimeText.clock(time, digits: 6)
                    : "+" + TimeText.duration(time - (firstTime ?? time)))
            }
            if segment.retransmitted { below.append("retransmitted") }
            for (line, text) in below.enumerated() {
                body += "<text class=\"segment-time\" x=\"\(middle)\" y=\"\(f(top + Self.cellHeight + 20 + Double(line) * 14))\" "
                    + "text-anchor=\"middle\">\(escape(text))</text>\n"
            }
            for _ in 0..<segment.byteCount {
                let label = byteIndex < bytes.count ? bytes[byteIndex] : "?"
                body += "<g class=\"cell\"><rect x=\"\(f(x + 2))\" y=\"\(f(top))\" width=\"\(f(Self.cellWidth - 4))\" "
                    + "height=\"\(f(Self.cellHeight))\" rx=\"3\"/>"
                    + "<text class=\"byte\" x=\"\(f(x + Self.cellWidth / 2))\" y=\"\(f(top + 26))\" text-anchor=\"middle\">"
                    + "\(escape(label))</text>"
                    + "<text class=\"byte-number\" x=\"\(f(x + 7))\" y=\"\(f(top + 11))\">\(byteIndex + 1)</text></g>\n"
                x += Self.cellWidth
                byteIndex += 1
            }
            body += "</g>\n"
            if index < segments.count - 1 {
                let cut = f(x + Self.groupGap / 2)
                body += "<line class=\"split\" x1=\"\(cut)\" y1=\"\(f(top - 16))\" x2=\"\(cut)\" y2=\"\(f(top + Self.cellHeight + 8))\"/>\n"
                x += Self.groupGap
            }
        }
        let width = max(x + 16, 300)
        let height = top + Self.cellHeight + 46
        let label = escape(sentence, limit: 600)
        return "<figure class=\"terminator\" id=\"\(id)\">\n"
            + "<svg class=\"chart terminator-chart\" viewBox=\"0 0 \(f(width)) \(f(height))\" "
            + "style=\"max-width: \(f(width * 1.1))px\" role=\"img\" aria-label=\"\(label)\">\n"
            + "<title>\(label)</title>\n<desc>The end-of-data bytes grouped by the TCP segment that carried them; "
            + "a vertical line marks each split between segments.</desc>\n"
            + body + "</svg>\n<figcaption>\(label)</figcaption>\n</figure>\n"
    }
}
