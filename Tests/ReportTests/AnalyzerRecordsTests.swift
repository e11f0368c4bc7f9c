import Foundation
import Report
import Testing

/// The report on the analyzer's real records for the lab's KB run (both sides of the
/// middlebox): per the lab's truth.json, 3 attempts, each split outside and never
/// terminated inside. The analyzer reports each attempt once with a view per capture.
@Test func analyzerViewsOfOneAttemptAreLinkedRowsOfOneLane() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let golden = root.appendingPathComponent("captures/kb-postfix-retries/both-sides.expected.jsonl")
    let lines = try String(contentsOf: golden, encoding: .utf8).split(separator: "\n").map(String.init)
    let files = [
        ReportInputFile(name: "captures/kb-postfix-retries/outside.pcap"),
        ReportInputFile(name: "captures/kb-postfix-retries/inside.pcap"),
    ]
    let html = renderHTMLReport(try ReportInput(jsonLines: lines, files: files))
    let tree = try parseXML(html)
    let lanes = tree.elements(withClass: "lane-message")
    #expect(lanes.count == 1)
    let lane = try #require(lanes.first)
    #expect(lane.allText.contains("3 attempts"))
    #expect(lane.elements(withClass: "row-label").map(\.allText) == ["outside", "inside"])
    let marks = lane.elements(withClass: "mark")
    #expect(marks.filter { $0.classes.contains("outcome-no_reply") }.count == 3)
    #expect(marks.filter { $0.classes.contains("outcome-no_terminator") }.count == 3)
    #expect(lane.elements(withClass: "link").count == 3)
    // No transaction is left over for a client → server lane: all six are the message's.
    #expect(tree.elements(withClass: "lane-pair").isEmpty)
    // The verdict is the analyzer's sentence, not one the report made up.
    let verdict = try #require(tree.elements(withClass: "verdict").first)
    #expect(verdict.allText.hasPrefix("3 of 3 split terminators went unanswered"))
}
