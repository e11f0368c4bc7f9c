import Foundation
@testable import Report
import Testing

private func report(_ lines: [String], files: [ReportInputFile] = [], options: ReportOptions = ReportOptions()) throws -> (html: String, tree: XMLNode) {
    let html = renderHTMLReport(try ReportInput(jsonLines: lines, files: files), options: options)
    return (html, try parseXML(html))
}

@Test func theKBReportIsWellFormedAndEverySVGToo() throws {
    let (html, tree) = try report(Fixtures.kb)
    #expect(tree.name == "html")
    #expect(html.hasPrefix("<!DOCTYPE html>"))
    #expect(tree.elements(named: "title").first?.allText == "smtpscope report")
    let svgs = svgFragments(html)
    #expect(svgs.count >= 3)
    for svg in svgs {
        #expect(throws: Never.self) { try parseXML(svg) }
    }
}

@Test func theReportNamesNoExternalResource() throws {
    let (html, tree) = try report(Fixtures.kb)
    for forbidden in ["http:", "https:", "src=", "url(", "<script", "@import", "<link", "<img", "<iframe"] {
        #expect(!html.contains(forbidden), "found \(forbidden)")
    }
    for element in tree.all {
        if let href = element.attributes["href"] { #expect(href.hasPrefix("#"), "href \(href)") }
    }
}

@Test func summaryShowsVerdictTableAndMiddlebox() throws {
    let (_, tree) = try report(Fixtures.kb, files: [ReportInputFile(name: "kb-q295725.pcap", sizeBytes: 9_000)])
    let summary = try #require(tree.element(id: "summary"))
    #expect(summary.elements(withClass: "verdict").first?.allText.hasPrefix("A middlebox drops split") == true)
    let table = try #require(summary.elements(withClass: "twobytwo").first)
    let cells = table.elements(named: "td").map(\.allText)
    #expect(cells == ["4", "0", "0", "2"])
    #expect(summary.elements(withClass: "pvalue").first?.allText.contains("p = 0.0667") == true)
    #expect(summary.allText.contains("cisco_pix_mailguard"))
    #expect(summary.allText.contains("4 of 4 split terminators unanswered"))
    let inputs = try #require(summary.elements(withClass: "inputs").first)
    #expect(inputs.allText.contains("kb-q295725.pcap"))
    #expect(inputs.allText.contains("8.8 KiB"))
    #expect(inputs.allText.contains("2024-05-01 10:00:00 – 10:02:45 (2 min 45 s)"))
}

@Test func withoutASummaryTheTableIsCountedAndTestedHere() throws {
    let (_, tree) = try report(Array(Fixtures.kb.dropLast()))
    let table = try #require(tree.elements(withClass: "twobytwo").first)
    #expect(table.elements(named: "td").map(\.allText) == ["4", "0", "0", "2"])
    // Fisher's exact test on [[4,0],[0,2]] is 1/15.
    #expect(tree.elements(withClass: "pvalue").first?.allText.contains("p = 0.0667") == true)
}

@Test func timelineHasOneMarkPerAttemptWithItsOutcomeAndTheInterval() throws {
    let (_, tree) = try report(Fixtures.kb)
    let chart = try #require(tree.element(id: "timeline-chart"))
    #expect(chart.attributes["role"] == "img")
    #expect(chart.attributes["aria-label"]?.isEmpty == false)
    #expect(chart.children.first?.name == "title")
    #expect(chart.children.contains { $0.name == "desc" })

    // 4 attempts of the retried message + 2 other accepted transactions.
    let marks = chart.elements(withClass: "mark")
    #expect(marks.count == 6)
    let lanes = chart.elements(withClass: "lane")
    #expect(lanes.count == 2)  // the message, then 192.0.2.11 → 198.51.100.25:25
    let message = try #require(chart.elements(withClass: "lane-message").first)
    let attempts = message.elements(withClass: "mark")
    #expect(attempts.count == 4)
    #expect(attempts.allSatisfy { $0.classes.contains("outcome-no_reply") && $0.classes.contains("kind-stalled") })
    #expect(attempts.allSatisfy { $0.name == "rect" })  // stalled = square
    #expect(message.elements(withClass: "interval").map(\.allText) == ["45 s", "45 s", "45 s"])
    #expect(message.elements(withClass: "lane-subtitle").map(\.allText).joined(separator: " ").contains("every 45 s"))

    let pair = try #require(chart.elements(withClass: "lane-pair").first)
    #expect(pair.elements(withClass: "lane-title").first?.allText.hasPrefix("192.0.2.11 → 198.51.100.25:25") == true)
    let accepted = pair.elements(withClass: "mark")
    #expect(accepted.count == 2)
    #expect(accepted.allSatisfy { $0.classes.contains("outcome-accepted") && $0.name == "circle" })
    // 80 s apart (10:00:20 and 10:01:40).
    #expect(pair.elements(withClass: "interval").map(\.allText) == ["1 min 20 s"])
}

@Test func marksArePlacedInTimeOrderAt45SecondSteps() throws {
    let (_, tree) = try report(Fixtures.kb)
    let message = try #require(tree.elements(withClass: "lane-message").first)
    let xs = message.elements(withClass: "mark").compactMap { Double($0.attributes["x"] ?? "") }
    #expect(xs.count == 4)
    let steps = zip(xs, xs.dropFirst()).map { $1 - $0 }
    // Equal steps (within rounding to 0.01) and increasing.
    #expect(steps.allSatisfy { $0 > 100 && abs($0 - steps[0]) < 0.05 })
}

@Test func eachOutcomeHasItsOwnShapeAndColour() {
    var seen: Set<String> = []
    for kind in OutcomeKind.allCases {
        let symbol = kind.symbol(x: 10, y: 10, r: 7, classes: "m")
        let fill = symbol.range(of: #"fill="[^"]*""#, options: .regularExpression).map { String(symbol[$0]) } ?? ""
        let dash = symbol.contains("stroke-dasharray")
        seen.insert(String(symbol.prefix { $0 != " " }) + fill + (dash ? "dash" : ""))
    }
    #expect(seen.count == OutcomeKind.allCases.count)
    // Greyscale: element kind and fill style alone (colour removed) still tell the kinds apart.
    let shapes = OutcomeKind.allCases.map { kind -> String in
        let symbol = kind.symbol(x: 10, y: 10, r: 7, classes: "m")
        let tag = String(symbol.prefix { $0 != " " })
        let hollow = symbol.contains(##"fill="#fff""##) || symbol.contains(#"fill="none""#)
        let path = symbol.range(of: #" d="[^"]*""#, options: .regularExpression).map { symbol[$0].filter(\.isLetter) } ?? ""
        return tag + (hollow ? "-hollow" : "-filled") + (symbol.contains("dasharray") ? "-dashed" : "") + path
    }
    #expect(Set(shapes).count == OutcomeKind.allCases.count)
}

@Test func outsideAndInsideAttemptsAreOnLinkedRows() throws {
    let files = [ReportInputFile(name: "kb-outside.pcap", sizeBytes: 4096), ReportInputFile(name: "kb-inside.pcap", sizeBytes: 2048)]
    let (_, tree) = try report(Fixtures.outsideInside, files: files)
    let lane = try #require(tree.elements(withClass: "lane-message").first)
    #expect(lane.elements(withClass: "row-label").map(\.allText) == ["outside", "inside"])
    let marks = lane.elements(withClass: "mark")
    #expect(marks.count == 4)
    #expect(marks.filter { $0.classes.contains("outcome-no_reply") }.count == 2)
    #expect(marks.filter { $0.classes.contains("outcome-no_terminator") && $0.classes.contains("kind-not_received") }.count == 2)
    let links = lane.elements(withClass: "link")
    #expect(links.count == 2)
    // Each link goes from the outside row down to the inside row.
    for link in links {
        let y1 = Double(link.attributes["y1"] ?? "") ?? 0, y2 = Double(link.attributes["y2"] ?? "") ?? 0
        #expect(y2 > y1)
    }
    // The inside capture never saw the terminator: no picture for it, two for outside.
    #expect(tree.elements(named: "figure").count == 2)
    let inputs = try #require(tree.elements(withClass: "inputs").first)
    #expect(inputs.elements(named: "td").map(\.allText).contains("outside"))
}

@Test func vantageOptionOverridesTheFileName() throws {
    let options = ReportOptions(vantages: ["kb-outside.pcap": "internet", "kb-inside.pcap": "dmz"])
    let (_, tree) = try report(Fixtures.outsideInside, options: options)
    #expect(tree.elements(withClass: "row-label").map(\.allText) == ["internet", "dmz"])
}

@Test(arguments: [
    ([Int](), [40], [5]),
    ([1], [40, 41], [1, 4]),
    ([2], [40, 41], [2, 3]),
    ([3], [40, 42], [3, 2]),
    ([4], [40, 41], [4, 1]),
    ([1, 3], [40, 41, 43], [1, 2, 2]),
    ([1, 2, 3, 4], [40, 41, 42, 43, 44], [1, 1, 1, 1, 1]),
])
func terminatorPictureGroupsCellsAtTheSplit(splitAfter: [Int], frames: [Int], expectedGroups: [Int]) throws {
    let (_, tree) = try report(Fixtures.stalled(splitAfter: splitAfter, frames: frames))
    let figures = tree.elements(named: "figure")
    #expect(figures.count == 1)
    let svg = try #require(figures.first?.elements(named: "svg").first)
    #expect(svg.attributes["role"] == "img")
    let segments = svg.elements(withClass: "segment")
    #expect(segments.map { $0.elements(withClass: "cell").count } == expectedGroups)
    #expect(segments.map { $0.attributes["data-frame"] ?? "" } == frames.map(String.init))
    #expect(segments.map { $0.elements(withClass: "segment-frame").first?.allText ?? "" } == frames.map { "frame \($0)" })
    // The bytes read \r \n . \r \n across the groups, and one split line between each pair of groups.
    #expect(svg.elements(withClass: "byte").map(\.allText) == ["\\r", "\\n", ".", "\\r", "\\n"])
    #expect(svg.elements(withClass: "split").count == expectedGroups.count - 1)
    #expect(svg.elements(withClass: "retransmitted").isEmpty)
    let caption = figures.first?.elements(named: "figcaption").first?.allText ?? ""
    if splitAfter.isEmpty {
        #expect(caption.contains("in one segment (frame 40)"))
    } else {
        #expect(caption.contains("split after byte \(splitAfter.map(String.init).joined(separator: ", "))"))
    }
}

@Test func retransmittedSegmentsAreMarked() throws {
    // By a tcp.retransmission finding naming the frame.
    let byFinding = Fixtures.stalled(
        splitAfter: [2], frames: [40, 41],
        findings: #"{"code":"tcp.retransmission","severity":"warning","frames":[41],"message":"retransmitted"}"#)
    let (_, first) = try report(byFinding)
    let segments = first.elements(withClass: "segment")
    #expect(segments.map { $0.classes.contains("retransmitted") } == [false, true])
    #expect(segments[1].allText.contains("retransmitted"))
    // By the terminator's own retransmitted_frames.
    let byField = Fixtures.stalled(splitAfter: [3], frames: [40, 41], extraTerminator: #","retransmitted_frames":[40]"#)
    let (_, second) = try report(byField)
    #expect(second.elements(withClass: "segment").map { $0.classes.contains("retransmitted") } == [true, false])
}

@Test func perSegmentTimesAreShownRelativeToTheFirst() throws {
    let lines = Fixtures.stalled(
        splitAfter: [2], frames: [40, 41],
        extraTerminator: #","segments":[{"frame":40,"time":1714557600.5},{"frame":41,"time":1714557600.5002}]"#)
    let (_, tree) = try report(lines)
    let times = tree.elements(withClass: "segment-time").map(\.allText)
    #expect(times == ["10:00:00.500000", "+200 µs"])
}

@Test func flowTableIsOrderedBySeverityWithFilters() throws {
    let (_, tree) = try report(Fixtures.kb)
    let table = try #require(tree.elements(withClass: "flows").first)
    let rows = table.elements(named: "tbody").first?.elements(named: "tr") ?? []
    #expect(rows.count == 6)
    #expect(rows.map { $0.elements(named: "td").first?.allText ?? "" } == ["error", "error", "error", "error", "ok", "ok"])
    // Worst first, then by start time: the four stalled attempts, then the two accepted flows.
    let endpoints = rows.map { $0.elements(withClass: "endpoints").first?.allText ?? "" }
    #expect(endpoints.first == "192.0.2.10:49152 → 198.51.100.25:25")
    #expect(endpoints.last == "192.0.2.11:50001 → 198.51.100.25:25")
    let filters = rows.map { $0.elements(withClass: "filter").first?.allText ?? "" }
    #expect(filters.last == "ip.addr==192.0.2.11 && tcp.port==50001 && ip.addr==198.51.100.25 && tcp.port==25")
    #expect(rows[0].allText.contains("smtp.eod_unanswered"))
    #expect(rows[0].allText.contains("split after 2"))
    #expect(rows[0].allText.contains("rst"))
}

@Test func ipv6FlowsGetAnIPv6Filter() throws {
    let line = #"{"type":"flow","flow":0,"client":{"ip":"2001:db8::1","port":40000},"server":{"ip":"2001:db8::25","port":25},"start":1714557600.0,"transactions":[],"findings":[]}"#
    let (_, tree) = try report([line])
    let filter = tree.elements(withClass: "filter").first?.allText
    #expect(filter == "ipv6.addr==2001:db8::1 && tcp.port==40000 && ipv6.addr==2001:db8::25 && tcp.port==25")
    #expect(tree.elements(withClass: "endpoints").first?.allText == "[2001:db8::1]:40000 → [2001:db8::25]:25")
}

@Test func hostileCaptureTextIsEscaped() throws {
    let (html, tree) = try report(Fixtures.hostile)
    for element in tree.all {
        #expect(!["script", "img", "iframe", "link", "object", "embed", "b"].contains(element.name), "element \(element.name)")
        #expect(element.attributes["src"] == nil)
        #expect(element.attributes["onload"] == nil)
        if let href = element.attributes["href"] { #expect(href.hasPrefix("#")) }
    }
    // The only links are the report's own section links.
    #expect(tree.elements(named: "a").allSatisfy { $0.parent?.name == "nav" })
    // Only the report's own style sheet and the report's own SVGs.
    #expect(tree.elements(named: "style").count == 1)
    #expect(tree.elements(named: "svg").count == svgFragments(html).count)
    #expect(!html.contains("<script"))
    #expect(html.contains("220 &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; ]]&gt; &lt;!-- \\x1B[31m"))
    #expect(tree.allText.contains("<script>document.write('x')</script> verdict"))
    #expect(tree.allText.contains("<b>cap</b>.pcap"))
    for svg in svgFragments(html) {
        #expect(throws: Never.self) { try parseXML(svg) }
    }
}

@Test func aDayLongCaptureFitsTheWidthWithHourTicks() throws {
    // Flows every 2 hours over 24 h.
    let lines = (0...12).map { n in
        #"{"type":"flow","capture":"day.pcap","flow":"# + "\(n)"
            + #","client":{"ip":"192.0.2.5","port":"# + "\(40000 + n)"
            + #"},"server":{"ip":"198.51.100.25","port":25},"start":"# + "\(1_714_521_600 + n * 7200)"
            + #","end_reason":"quit","transactions":[{"index":0,"outcome":"accepted","diagnosis":"ok"}],"findings":[]}"#
    }
    let (html, tree) = try report(lines)
    let chart = try #require(tree.element(id: "timeline-chart"))
    #expect(chart.attributes["viewBox"]?.hasPrefix("0 0 1200 ") == true)
    #expect(chart.attributes["width"] == nil)
    #expect(html.contains("svg.chart { display: block; width: 100%; height: auto; }"))
    // 24 h with 3 % padding each side -> 3-hour ticks.
    let ticks = chart.elements(withClass: "tick").map(\.allText)
    #expect(ticks == ["00:00", "03:00", "06:00", "09:00", "12:00", "15:00", "18:00", "21:00", "00:00"])
    #expect(chart.elements(withClass: "tick-date").map(\.allText).contains("2024-05-02"))
    #expect(chart.elements(withClass: "mark").count == 13)
}

@Test func limitsAreReachedAndSaid() throws {
    let options = ReportOptions(maxTimelineLanes: 1, maxTerminatorPictures: 2, maxFlowRows: 3)
    let (_, tree) = try report(Fixtures.kb, options: options)
    #expect(tree.elements(withClass: "lane").count == 1)
    #expect(tree.elements(named: "figure").count == 2)
    let limits = tree.elements(withClass: "limit").map(\.allText)
    #expect(limits == [
        "1 more lanes not drawn (limit 1 lanes).",
        "2 more stalled transactions not drawn (limit 2).",
        "3 more flows not listed (limit 3 rows).",
    ])
}

@Test func withoutAVerdictTheReportStatesOneAndSaysSo() throws {
    let (_, tree) = try report(Fixtures.outsideInside)
    let verdict = try #require(tree.elements(withClass: "verdict").first?.allText)
    #expect(verdict.hasPrefix("2 of 4 transactions got no reply to the end of data; in 2 the receiver never saw the terminator."))
    #expect(verdict.contains("stated by the report"))
}
