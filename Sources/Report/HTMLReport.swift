/// Renders the report as ONE self-contained HTML5 file: inline CSS and inline SVG, no scripts, no fonts,
/// images or style sheets fetched from anywhere, so it reads offline, prints (print CSS) and can be attached
/// to a ticket. The markup is also well-formed XML (XHTML-style void tags), and every text that came from a
/// capture is escaped.
///
/// Sections: summary (verdict, split × unanswered table with its p-value, middlebox verdict, counts, inputs),
/// retry timeline, terminator picture per stalled transaction, per-flow table ordered by severity.
///
/// To look at it, write the report to a file and render it with headless Chromium
/// (`apt-get install -y chromium` if missing):
///
/// ```sh
/// smtpscope report captures/kb-q295725.pcap -o /tmp/kb-report.html
/// chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
///     --screenshot=/tmp/kb-report.png --window-size=1280,2400 file:///tmp/kb-report.html
/// ```
///
/// Without the CLI, `swift test --filter ReportTests` writes the hand-made KB fixture's report to
/// `$TMPDIR/smtpscope-kb-report.html` (see `ReportTests/KBReportFileTests.swift`).
public func renderHTMLReport(_ input: ReportInput, options: ReportOptions = ReportOptions()) -> String {
    let view = ReportView(input: input, options: options)
    var html = """
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8"/>
    <meta name="viewport" content="width=device-width, initial-scale=1"/>
    <meta name="generator" content="smtpscope (schema \(ReportFormat.schema))"/>
    <title>\(escape(options.title))</title>
    <style>
    \(reportStyleSheet)
    </style>
    </head>
    <body>
    <header>
    <h1>\(escape(options.title))</h1>

    """
    if let span = input.timeSpan {
        html += "<p class=\"span\">Capture time \(escape(spanText(span))), UTC.</p>\n"
    }
    html += """
    <nav aria-label="Sections"><a href="#summary">Summary</a> · <a href="#timeline">Retry timeline</a> · <a href="#terminators">Terminators</a> · <a href="#flows">Flows</a></nav>
    </header>
    <main>

    """
    html += SummarySection(view: view).render()
    html += TimelineChart(view: view).render()
    html += TerminatorPictures(view: view).render()
    html += FlowTable(view: view).render()
    html += """
    </main>
    <footer><p>Made by smtpscope from \(ReportFormat.schema) records. Times are capture times in UTC; frame numbers are those of each input file, as Wireshark counts them.</p></footer>
    </body>
    </html>

    """
    return html
}

/// Inline style sheet: fits 1280 px without horizontal scrolling, prints in black and white.
let reportStyleSheet = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #111;
  background: #fff; margin: 0 auto; max-width: 1240px; padding: 12px 20px 24px; }
h1 { font-size: 1.6em; margin: 0.2em 0; }
h2 { font-size: 1.3em; border-bottom: 2px solid #222; padding-bottom: 2px; margin-top: 1.6em; }
h3 { font-size: 1.05em; margin: 0 0 0.4em; }
nav a { color: #0052a3; }
.span, .note, .lead { color: #444; }
.note { font-size: 0.9em; }
.verdict { font-size: 1.2em; font-weight: 600; border-left: 6px solid #D55E00; background: #fbf1ea;
  padding: 8px 12px; margin: 0.6em 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.card { border: 1px solid #bbb; border-radius: 6px; padding: 10px 12px; flex: 1 1 300px; min-width: 0; }
table { border-collapse: collapse; }
th, td { border: 1px solid #bbb; padding: 3px 7px; text-align: left; vertical-align: top; }
thead th { background: #eee; }
caption { caption-side: top; text-align: left; font-size: 0.9em; color: #444; padding-bottom: 4px; }
.twobytwo td { text-align: right; min-width: 5em; font-variant-numeric: tabular-nums; font-size: 1.15em; }
.twobytwo td.hot { font-weight: 700; outline: 2px solid #D55E00; outline-offset: -2px; }
.counts td { text-align: right; font-variant-numeric: tabular-nums; }
.inputs { margin-top: 0.4em; }
.detected { color: #a33a00; }
.evidence { margin: 0.2em 0 0; padding-left: 1.2em; }
.legend { list-style: none; padding: 0; margin: 0.4em 0; display: flex; flex-wrap: wrap; gap: 4px 18px; }
.legend li { display: flex; align-items: center; gap: 5px; }
.legend-symbol { vertical-align: middle; flex: none; }
svg.chart { display: block; width: 100%; height: auto; }
svg text { font-family: system-ui, "DejaVu Sans", sans-serif; fill: #111; }
.timeline .lane-bg { fill: #000; fill-opacity: 0.045; }
.timeline .lane-title { font-size: 13px; font-weight: 600; }
.timeline .lane-subtitle, .timeline .row-label { font-size: 11.5px; fill: #444; }
.timeline .tick { font-size: 11.5px; }
.timeline .tick-date { font-size: 11.5px; font-weight: 600; }
.timeline .grid { stroke: #ccc; stroke-width: 1; }
.timeline .row-line { stroke: #999; stroke-width: 1; }
.timeline .interval { font-size: 11px; fill: #222; }
.timeline .attempt-span { stroke: #9a9a9a; stroke-width: 5; stroke-linecap: butt; }
.timeline .link { stroke: #000; stroke-width: 1.5; stroke-dasharray: 3 2; }
.pictures { display: flex; flex-wrap: wrap; gap: 10px 24px; }
figure.terminator { margin: 0; flex: 1 1 520px; max-width: 600px; border: 1px solid #ccc; border-radius: 6px; padding: 6px 8px; }
figure.terminator figcaption { font-size: 0.85em; color: #333; }
.terminator-chart .segment-box { fill: none; stroke: #222; stroke-width: 1.6; }
.terminator-chart .retransmitted .segment-box { stroke: #D55E00; stroke-width: 2.2; }
.terminator-chart .cell rect { fill: #fff; stroke: #555; stroke-width: 1; }
.terminator-chart .byte { font: 600 17px ui-monospace, "DejaVu Sans Mono", monospace; }
.terminator-chart .byte-number { font-size: 9px; fill: #666; }
.terminator-chart .segment-frame { font-size: 12.5px; font-weight: 600; }
.terminator-chart .segment-time { font-size: 11px; fill: #333; }
.terminator-chart .split { stroke: #D55E00; stroke-width: 2.5; stroke-dasharray: 5 3; }
table.flows { width: 100%; table-layout: fixed; font-size: 12.5px; }
.flows col.c-sev { width: 6.5%; } .flows col.c-flow { width: 19%; } .flows col.c-time { width: 9.5%; }
.flows col.c-end { width: 6.5%; } .flows col.c-tx { width: 22%; } .flows col.c-find { width: 20%; }
.flows col.c-filter { width: 16.5%; }
.flows td { overflow-wrap: anywhere; }
.flows .sev { font-weight: 700; }
.flows tr.sev-error td.sev { background: #fbe3d6; border-left: 5px solid #D55E00; }
.flows tr.sev-warning td.sev { background: #fdf0d2; border-left: 5px dashed #E69F00; }
.flows .banner { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.9em; color: #333; }
ul.plain { list-style: none; margin: 0; padding: 0; }
ul.plain li + li { margin-top: 3px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.95em; }
code.filter { overflow-wrap: anywhere; }
.limit { font-weight: 600; color: #a33a00; }
footer { margin-top: 2em; font-size: 0.85em; color: #555; border-top: 1px solid #ccc; }
@media print {
  @page { margin: 12mm; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  .verdict { background: none; }
  .timeline .lane-bg { fill-opacity: 0.03; }
  h2 { break-after: avoid; }
  figure, tr, .card, svg.chart { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""
