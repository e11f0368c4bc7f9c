/// The retry timeline: one lane per message seen more than once, one per client→server pair for the other
/// transactions; a row per capture inside a lane, the same attempt seen by two captures joined by a line.
struct TimelineChart {
    let view: ReportView

    struct Mark {
        var time: Double
        var kind: OutcomeKind
        var outcome: String
        var diagnosis: String
        var note: String
        /// When the connection carrying the attempt ended, if known (drawn as a bar after the mark).
        var end: Double?
    }

    struct Row {
        var capture: String
        var marks: [Mark]
    }

    struct Lane {
        var title: String
        var subtitle: String
        var rows: [Row]
        var severity: Int
        var isMessage: Bool
        var first: Double { rows.flatMap(\.marks).map(\.time).min() ?? 0 }
    }

    // Geometry of the 1200-unit-wide drawing (scaled to the page width).
    static let width = 1200.0
    static let plotLeft = 330.0
    static let plotRight = 1180.0
    static let axisHeight = 46.0
    static let rowHeight = 30.0
    static let laneGap = 10.0
    static let markRadius = 7.0

    func lanes() -> [Lane] {
        var lanes: [Lane] = []
        var claimed: Set<String> = []
        for message in view.input.messages where message.attempts.count >= 2 {
            lanes.append(messageLane(message))
            for attempt in message.attempts {
                claimed.insert(ReportView.key(attempt.capture, attempt.flow) + "/\(attempt.transaction)")
            }
        }
        lanes.sort { ($0.severity, -$0.first) > ($1.severity, -$1.first) }

        let starts = view.attemptStarts
        var pairs: [String: Lane] = [:]
        var pairOrder: [String] = []
        for flow in view.input.flows {
            let pair = "\(flow.client.ip) → \(flow.server.ip):\(flow.server.port)"
            for transaction in flow.transactions {
                guard !claimed.contains(ReportView.key(flow.capture, flow.index) + "/\(transaction.index)"),
                      let time = view.startTime(of: transaction, in: flow, attemptStarts: starts) else { continue }
                let kind = OutcomeKind(outcome: transaction.outcome, diagnosis: transaction.diagnosis)
                let mark = Mark(
                    time: time, kind: kind, outcome: transaction.outcome, diagnosis: transaction.diagnosis,
                    note: "flow \(flow.index) transaction \(transaction.index)"
                        + (transaction.messageID.map { ", Message-ID \($0)" } ?? ""),
                    end: flow.end)
                var lane = pairs[pair] ?? Lane(title: pair, subtitle: "", rows: [], severity: 0, isMessage: false)
                if pairs[pair] == nil { pairOrder.append(pair) }
                lane.severity = max(lane.severity, kind.severity)
                if let row = lane.rows.firstIndex(where: { $0.capture == flow.capture }) {
                    lane.rows[row].marks.append(mark)
                } else {
                    lane.rows.append(Row(capture: flow.capture, marks: [mark]))
                }
                pairs[pair] = lane
            }
        }
        var pairLanes = pairOrder.compactMap { pairs[$0] }.map { lane -> Lane in
            var lane = lane
            lane.rows = sortedRows(lane.rows)
            let count = lane.rows.reduce(0) { $0 + $1.marks.count }
            lane.subtitle = count == 1 ? "1 transaction" : "\(count) transactions"
            return lane
        }
        pairLanes.sort { ($0.severity, -$0.first) > ($1.severity, -$1.first) }
        return lanes + pairLanes
    }

    private func messageLane(_ message: ReportMessage) -> Lane {
        var rows: [Row] = []
        let ordered = message.attempts.sorted { $0.start < $1.start }
        for (number, attempt) in ordered.enumerated() {
            let kind = OutcomeKind(outcome: attempt.outcome, diagnosis: attempt.diagnosis)
            let mark = Mark(
                time: attempt.start, kind: kind, outcome: attempt.outcome, diagnosis: attempt.diagnosis,
                note: "attempt \(number + 1) of \(ordered.count), flow \(attempt.flow) transaction \(attempt.transaction)",
                end: view.flow(capture: attempt.capture, index: attempt.flow)?.end)
            if let row = rows.firstIndex(where: { $0.capture == attempt.capture }) {
                rows[row].marks.append(mark)
            } else {
                rows.append(Row(capture: attempt.capture, marks: [mark]))
            }
        }
        let name = message.messageID.map { "Message-ID \($0)" }
            ?? message.fingerprint.map { "message \($0.prefix(12))" } ?? "message"
        var subtitle = "\(message.attemptCount) attempts"
        if let median = message.intervalMedian {
            subtitle += ", every \(TimeText.duration(median))" + (message.regular ? " (regular)" : "")
        }
        subtitle += ", \(message.accepted) accepted"
        return Lane(title: name, subtitle: subtitle, rows: sortedRows(rows),
                    severity: rows.flatMap(\.marks).map(\.kind.severity).max() ?? 0, isMessage: true)
    }

    private func sortedRows(_ rows: [Row]) -> [Row] {
        rows.map { Row(capture: $0.capture, marks: $0.marks.sorted { $0.time < $1.time }) }
            .sorted { view.captureRank($0.capture) < view.captureRank($1.capture) }
    }

    /// Pairs of mark indices (row i, row i+1) that are the same attempt seen from two captures:
    /// nearest in time, within a tolerance below half the retry interval.
    static func links(_ upper: [Mark], _ lower: [Mark]) -> [(Int, Int)] {
        func smallestGap(_ marks: [Mark]) -> Double {
            zip(marks, marks.dropFirst()).map { $1.time - $0.time }.filter { $0 > 0 }.min() ?? .infinity
        }
        let tolerance = min(10, 0.45 * min(smallestGap(upper), smallestGap(lower)))
        var candidates: [(distance: Double, upper: Int, lower: Int)] = []
        for (i, a) in upper.enumerated() {
            for (j, b) in lower.enumerated() where abs(a.time - b.time) <= tolerance {
                candidates.append((abs(a.time - b.time), i, j))
            }
        }
        var usedUpper: Set<Int> = [], usedLower: Set<Int> = []
        var result: [(Int, Int)] = []
        for candidate in candidates.sorted(by: { $0.distance < $1.distance })
        where !usedUpper.contains(candidate.upper) && !usedLower.contains(candidate.lower) {
            usedUpper.insert(candidate.upper)
            usedLower.insert(candidate.lower)
            result.append((candidate.upper, candidate.lower))
        }
        return result.sorted { $0.0 < $1.0 }
    }

    func render() -> String {
        var html = "<section id=\"timeline\" aria-labelledby=\"timeline-heading\">\n"
        html += "<h2 id=\"timeline-heading\">Retry timeline</h2>\n"
        let all = lanes()
        guard !all.isEmpty, let span = view.input.timeSpan else {
            return html + "<p>No transactions to draw.</p>\n</section>\n"
        }
        let shown = Array(all.prefix(max(0, view.options.maxTimelineLanes)))
        html += "<p class=\"lead\">One lane per message sent more than once, then one per client → server pair. "
            + "Time runs left to right (UTC); each mark is one attempt.</p>\n"
        html += legend()
        html += svg(shown, span: span)
        if all.count > shown.count {
            html += "<p class=\"limit\">\(all.count - shown.count) more lanes not drawn "
                + "(limit \(view.options.maxTimelineLanes) lanes).</p>\n"
        }
        return html + "</section>\n"
    }

    private func legend() -> String {
        var html = "<ul class=\"legend\" aria-label=\"Legend of attempt outcomes\">\n"
        for kind in OutcomeKind.allCases {
            html += "<li><svg class=\"legend-symbol\" viewBox=\"0 0 20 20\" width=\"20\" height=\"20\" aria-hidden=\"true\">"
                + kind.symbol(x: 10, y: 10, r: 7, classes: "legend-mark kind-\(kind.rawValue)")
                + "</svg> \(escape(kind.label))</li>\n"
        }
        html += "<li><svg class=\"legend-symbol\" viewBox=\"0 0 20 20\" width=\"20\" height=\"20\" aria-hidden=\"true\">"
            + "<line x1=\"10\" y1=\"1\" x2=\"10\" y2=\"19\" stroke=\"#000\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\"/>"
            + "</svg> same attempt seen in two captures</li>\n"
        html += "<li><svg class=\"legend-symbol\" viewBox=\"0 0 28 20\" width=\"28\" height=\"20\" aria-hidden=\"true\">"
            + "<line x1=\"2\" y1=\"10\" x2=\"26\" y2=\"10\" stroke=\"#9a9a9a\" stroke-width=\"5\"/>"
            + "</svg> connection open until it ended</li>\n"
        return html + "</ul>\n"
    }

    private func svg(_ lanes: [Lane], span: ClosedRange<Double>) -> String {
        // Pad the time domain so that marks at the ends are not cut; at least 10 s wide.
        var low = span.lowerBound, high = span.upperBound
        if high - low < 10 {
            let middle = (low + high) / 2
            low = middle - 5
            high = middle + 5
        }
        let pad = (high - low) * 0.03
        low -= pad
        high += pad
        let scale = (Self.plotRight - Self.plotLeft) / (high - low)
        func x(_ time: Double) -> Double { Self.plotLeft + (time - low) * scale }

        var laneTops: [Double] = []
        var y = Self.axisHeight + 6
        for lane in lanes {
            laneTops.append(y)
            y += max(Double(lane.rows.count) * Self.rowHeight, 2 * Self.rowHeight) + Self.laneGap
        }
        let height = y + 4
        let markCount = lanes.reduce(0) { $0 + $1.rows.reduce(0) { $0 + $1.marks.count } }
        let label = "Retry timeline from \(TimeText.dateTime(span.lowerBound)) to \(TimeText.dateTime(span.upperBound)): "
            + "\(lanes.count) lanes, \(markCount) attempts."

        var body = ""
        // Axis and grid.
        let ticks = TimeTicks(from: low, to: high, maxTicks: 9)
        var previous: Double?
        body += "<g class=\"axis\">\n"
        for tick in ticks.times {
            let tx = f(x(tick))
            let (clock, date) = ticks.label(tick, previous: previous)
            previous = tick
            body += "<line class=\"grid\" x1=\"\(tx)\" y1=\"\(f(Self.axisHeight - 6))\" x2=\"\(tx)\" y2=\"\(f(height - 4))\"/>"
            body += "<text class=\"tick\" x=\"\(tx)\" y=\"\(f(Self.axisHeight - 10))\" text-anchor=\"middle\">\(clock)</text>"
            if let date {
                // Keep the date inside the drawing near its right edge.
                let anchor = x(tick) > Self.width - 50 ? "end" : "middle"
                body += "<text class=\"tick-date\" x=\"\(tx)\" y=\"14\" text-anchor=\"\(anchor)\">\(date)</text>"
            }
            body += "\n"
        }
        body += "<text class=\"tick-date\" x=\"8\" y=\"\(f(Self.axisHeight - 10))\">UTC, ticks every "
            + "\(TimeText.duration(ticks.step))</text>\n</g>\n"

        for (laneNumber, lane) in lanes.enumerated() {
            let top = laneTops[laneNumber]
            let laneHeight = max(Double(lane.rows.count) * Self.rowHeight, 2 * Self.rowHeight)
            let laneClass = lane.isMessage ? "lane lane-message" : "lane lane-pair"
            body += "<g class=\"\(laneClass)\">\n"
            body += "<rect class=\"lane-bg\" x=\"0\" y=\"\(f(top))\" width=\"\(f(Self.width))\" height=\"\(f(laneHeight))\"/>\n"
            // Leave room for the capture labels at the right of the label column when they are drawn.
            let labelled = lane.rows.count > 1 || view.input.captures.count > 1
            body += "<text class=\"lane-title\" x=\"8\" y=\"\(f(top + 19))\">"
                + "\(escape(clip(lane.title, labelled ? 27 : 34), limit: 40))"
                + "<title>\(view.text(lane.title))</title></text>\n"
            for (line, text) in wrap(lane.subtitle, width: labelled ? 36 : 46).prefix(2).enumerated() {
                body += "<text class=\"lane-subtitle\" x=\"8\" y=\"\(f(top + 36 + Double(line) * 14))\">\(escape(text))</text>\n"
            }
            let rowY = lane.rows.indices.map { top + Self.rowHeight * (Double($0) + 0.5)
                + (lane.rows.count == 1 ? Self.rowHeight * 0.5 : 0) }
            for (index, row) in lane.rows.enumerated() {
                let ry = rowY[index]
                body += "<line class=\"row-line\" x1=\"\(f(Self.plotLeft))\" y1=\"\(f(ry))\" x2=\"\(f(Self.plotRight))\" y2=\"\(f(ry))\"/>\n"
                if labelled {
                    body += "<text class=\"row-label\" x=\"\(f(Self.plotLeft - 8))\" y=\"\(f(ry + 4))\" "
                        + "text-anchor=\"end\">\(escape(clip(view.shortName(of: row.capture), 11)))</text>\n"
                }
                // Measured interval between consecutive attempts, where there is room to print it.
                for (a, b) in zip(row.marks, row.marks.dropFirst()) where (b.time - a.time) * scale >= 44 {
                    body += "<text class=\"interval\" x=\"\(f((x(a.time) + x(b.time)) / 2))\" y=\"\(f(ry - 9))\" "
                        + "text-anchor=\"middle\">\(TimeText.duration(b.time - a.time))</text>\n"
                }
            }
            // Links between the same attempt in adjacent capture rows, drawn under the marks.
            if lane.rows.count > 1 {
                for index in 0..<(lane.rows.count - 1) {
                    for (i, j) in Self.links(lane.rows[index].marks, lane.rows[index + 1].marks) {
                        let a = lane.rows[index].marks[i], b = lane.rows[index + 1].marks[j]
                        body += "<line class=\"link\" x1=\"\(f(x(a.time)))\" y1=\"\(f(rowY[index]))\" "
                            + "x2=\"\(f(x(b.time)))\" y2=\"\(f(rowY[index + 1]))\"/>\n"
                    }
                }
            }
            for (index, row) in lane.rows.enumerated() {
                for mark in row.marks {
                    guard let end = mark.end, end > mark.time else { continue }
                    body += "<line class=\"attempt-span\" x1=\"\(f(x(mark.time)))\" y1=\"\(f(rowY[index]))\" "
                        + "x2=\"\(f(x(min(end, high))))\" y2=\"\(f(rowY[index]))\"/>\n"
                }
            }
            for (index, row) in lane.rows.enumerated() {
                for mark in row.marks {
                    let title = "\(TimeText.dateTime(mark.time)): \(mark.kind.label) (outcome \(mark.outcome), "
                        + "diagnosis \(mark.diagnosis)); \(view.shortName(of: row.capture)), \(mark.note)"
                    let classes = "mark outcome-\(classToken(mark.outcome)) kind-\(mark.kind.rawValue) "
                        + "diagnosis-\(classToken(mark.diagnosis))"
                    body += mark.kind.symbol(x: x(mark.time), y: rowY[index], r: Self.markRadius,
                                             classes: classes, title: view.text(title)) + "\n"
                }
            }
            body += "</g>\n"
        }

        var description = ""
        for lane in lanes.prefix(30) {
            description += "\(lane.title) (\(lane.subtitle)): "
            description += lane.rows.map { row in
                "\(view.shortName(of: row.capture)) " + row.marks.prefix(12).map {
                    "\(TimeText.clock($0.time)) \($0.kind.rawValue)"
                }.joined(separator: ", ") + (row.marks.count > 12 ? ", …" : "")
            }.joined(separator: "; ") + ". "
        }
        return "<svg class=\"chart timeline\" id=\"timeline-chart\" viewBox=\"0 0 \(f(Self.width)) \(f(height))\" "
            + "role=\"img\" aria-label=\"\(escape(label))\">\n"
            + "<title>\(escape(label))</title>\n<desc>\(escape(clip(description, 4000)))</desc>\n"
            + body + "</svg>\n"
    }
}

/// `text` cut into lines of at most `width` characters at spaces (words longer than a line are clipped).
func wrap(_ text: String, width: Int) -> [String] {
    var lines: [String] = []
    var current = ""
    for word in text.split(separator: " ") {
        if current.isEmpty {
            current = clip(String(word), width)
        } else if current.count + 1 + word.count <= width {
            current += " " + word
        } else {
            lines.append(current)
            current = clip(String(word), width)
        }
    }
    if !current.isEmpty { lines.append(current) }
    return lines
}

/// The first `count` characters of `text`, with an ellipsis when cut.
func clip(_ text: String, _ count: Int) -> String {
    text.count <= count ? text : String(text.prefix(count - 1)) + "…"
}
