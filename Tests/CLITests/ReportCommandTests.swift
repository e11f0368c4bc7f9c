import Foundation
import Testing
import TestSupport

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Counts elements and notes the first parse error.
private final class XMLCheck: NSObject, XMLParserDelegate {
    var elements: [String: Int] = [:]
    var attributes: [String] = []
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements[name, default: 0] += 1
        self.attributes.append(contentsOf: attributes.map { "\($0.key)=\($0.value)" })
    }
}

@Test func kbReportIsSelfContainedHTML() throws {
    let out = try SyntheticCapture.temporaryPath(named: "kb-report.html")
    let run = try CLIRunner.run(["report", "captures/kb-postfix-retries/outside.pcap", "captures/kb-postfix-retries/inside.pcap",
                                 "-o", out.path])
    #expect(run.status == 1)  // the KB failure: problems found
    let html = try String(contentsOf: out, encoding: .utf8)
    let parser = XMLParser(data: Data(html.replacingOccurrences(of: "<!DOCTYPE html>", with: "").utf8))
    let check = XMLCheck()
    parser.delegate = check
    #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "") at line \(parser.lineNumber)")
    for element in ["script", "link", "img", "iframe", "object", "embed"] { #expect(check.elements[element] == nil, "\(element)") }
    for forbidden in ["http:", "https:", "url(", "@import"] { #expect(!html.contains(forbidden), "names \(forbidden)") }
    // LAB-MANIFEST: the message <kb-postfix@lab.example.org>, both input files, the split terminator stall.
    for text in ["kb-postfix@lab.example.org", "outside.pcap", "inside.pcap", "split_terminator_stall"] {
        #expect(html.contains(text), "missing \(text)")
    }
}

@Test func reportIsSelfContainedHTML() throws {
    let v4 = "captures/foundation/smtp-v4-eth.pcap", v6 = "captures/foundation/smtp-v6-eth.pcap"
    let out = try SyntheticCapture.temporaryPath(named: "report.html")
    let run = try CLIRunner.run(["report", v4, v6, "-o", out.path, "--title", "two exchanges"])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout.isEmpty)
    let html = try String(contentsOf: out, encoding: .utf8)
    #expect(html.hasPrefix("<!DOCTYPE html>"))
    // The markup is well-formed XML once the doctype is dropped.
    let body = html.replacingOccurrences(of: "<!DOCTYPE html>", with: "")
    let parser = XMLParser(data: Data(body.utf8))
    let check = XMLCheck()
    parser.delegate = check
    #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "") at line \(parser.lineNumber)")
    #expect(check.elements["html"] == 1 && check.elements["svg", default: 0] >= 1 && check.elements["table", default: 0] >= 1)
    for element in ["script", "link", "img", "iframe", "object", "embed"] { #expect(check.elements[element] == nil, "\(element)") }
    #expect(!check.attributes.contains { $0.hasPrefix("src=") || $0.hasPrefix("href=http") })
    for forbidden in ["http:", "https:", "url(", "@import"] { #expect(!html.contains(forbidden), "names \(forbidden)") }
    // The inputs, and the two exchanges' clients.
    #expect(html.contains("smtp-v4-eth.pcap") && html.contains("smtp-v6-eth.pcap"))
    #expect(html.contains("two exchanges"))
    #expect(html.contains("192.0.2.1") && html.contains("2001:db8::1"))
}

@Test func reportExitCodesFollowAnalyze() throws {
    let out = try SyntheticCapture.temporaryPath(named: "report-cut.html")
    let snap = try CLIRunner.run(["report", "captures/foundation/smtp-v4-snap80.pcap", "-o", out.path])
    #expect(snap.status == 1)  // replies cut by the snapshot length: the outcome is unknown
    #expect(FileManager.default.fileExists(atPath: out.path))
    let missing = try CLIRunner.run(["report", "captures/foundation/missing.pcap", "-o", out.path])
    #expect(missing.status == 2 && missing.stderr.hasPrefix("smtpscope: captures/foundation/missing.pcap: no such file"))
}
