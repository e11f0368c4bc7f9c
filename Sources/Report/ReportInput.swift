#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An input capture named in the report (file name, size, where it was taken).
public struct ReportInputFile: Sendable, Hashable {
    public var name: String
    public var sizeBytes: Int?
    /// Where the capture was taken, e.g. `outside` or `inside` the firewall.
    public var vantage: String?

    /// `vantage` defaults to the one guessed from the file name (see ``guessVantage(fromFileName:)``).
    public init(name: String, sizeBytes: Int? = nil, vantage: String? = nil) {
        self.name = name
        self.sizeBytes = sizeBytes
        self.vantage = vantage ?? Self.guessVantage(fromFileName: name)
    }

    /// `outside` / `inside` when the file name says so (also `external`/`wan` and `internal`/`lan`), else nil.
    public static func guessVantage(fromFileName name: String) -> String? {
        let base = lastPathComponent(name).lowercased()
        let words = base.split(whereSeparator: { !$0.isLetter }).map(String.init)
        if words.contains(where: { ["outside", "external", "wan", "outer"].contains($0) }) { return "outside" }
        if words.contains(where: { ["inside", "internal", "lan", "inner"].contains($0) }) { return "inside" }
        return nil
    }
}

/// A JSON Lines input that could not be read, naming its 1-based line number.
public enum ReportInputError: Error, Sendable, Equatable, CustomStringConvertible {
    case badLine(number: Int, reason: String)

    public var description: String {
        switch self {
        case .badLine(let number, let reason): return "line \(number): \(reason)"
        }
    }
}

/// Everything a report is drawn from: the `smtpscope/1` records of one or more analyses plus the input files.
///
/// Decoding is lenient: unknown record types and unknown fields are ignored, missing optional fields are
/// tolerated. Live-mode `transaction` records become flows when no `flow` record for them follows.
public struct ReportInput: Sendable {
    public var flows: [ReportFlow]
    public var messages: [ReportMessage]
    public var summaries: [ReportSummary]
    public var files: [ReportInputFile]

    /// Decodes JSON Lines (one record per element; blank lines skipped).
    /// - Throws: ``ReportInputError/badLine(number:reason:)`` for a line that is not a JSON object with a
    ///   `type`, or that names another schema.
    public init(jsonLines: [String], files: [ReportInputFile] = []) throws {
        self.files = files
        var flows: [ReportFlow] = []
        var liveTransactions: [(key: String, flow: ReportFlow)] = []
        var messages: [ReportMessage] = []
        var summaries: [ReportSummary] = []
        let decoder = JSONDecoder()
        for (offset, line) in jsonLines.enumerated() {
            let number = offset + 1
            if line.allSatisfy(\.isWhitespace) { continue }
            let record: JSONValue
            do {
                record = try decoder.decode(JSONValue.self, from: Data(line.utf8))
            } catch {
                throw ReportInputError.badLine(number: number, reason: "not valid JSON")
            }
            guard record.object != nil else {
                throw ReportInputError.badLine(number: number, reason: "not a JSON object")
            }
            guard let type = record["type"]?.string else {
                throw ReportInputError.badLine(number: number, reason: "no \"type\" field")
            }
            if let schema = record["schema"]?.string, !schema.hasPrefix("smtpscope/1") {
                throw ReportInputError.badLine(number: number, reason: "schema \(schema), expected smtpscope/1")
            }
            switch type {
            case "flow":
                flows.append(ReportFlow(record, position: flows.count))
            case "transaction":
                var flow = ReportFlow(record, position: liveTransactions.count)
                flow.transactions = [ReportTransaction(record, position: 0)]
                flow.start = flow.start ?? flow.transactions.first?.start
                flow.findings = []
                liveTransactions.append((key: "\(flow.capture)#\(flow.index)", flow: flow))
            case "message":
                messages.append(ReportMessage(record))
            case "summary":
                summaries.append(ReportSummary(record))
            default:
                continue
            }
        }
        // Live transaction records stand in for flows whose `flow` record never came.
        let known = Set(flows.map { "\($0.capture)#\($0.index)" })
        var pending: [String: ReportFlow] = [:]
        var order: [String] = []
        for (key, flow) in liveTransactions where !known.contains(key) {
            if var existing = pending[key] {
                existing.transactions.append(contentsOf: flow.transactions)
                pending[key] = existing
            } else {
                pending[key] = flow
                order.append(key)
            }
        }
        flows.append(contentsOf: order.compactMap { pending[$0] })
        self.flows = flows
        self.messages = messages
        self.summaries = summaries
    }

    /// Earliest start and latest end over all flows and message attempts, if any time is known.
    public var timeSpan: ClosedRange<Double>? {
        var times: [Double] = []
        for flow in flows {
            times.append(contentsOf: [flow.start, flow.end].compactMap { $0 })
        }
        for message in messages { times.append(contentsOf: message.attempts.map(\.start)) }
        guard let low = times.min(), let high = times.max() else { return nil }
        return low...high
    }

    /// Time span of one capture's flows.
    func timeSpan(ofCapture capture: String) -> ClosedRange<Double>? {
        let times = flows.filter { $0.capture == capture }.flatMap { [$0.start, $0.end].compactMap { $0 } }
        guard let low = times.min(), let high = times.max() else { return nil }
        return low...high
    }

    /// The file a record's `capture` field names: by file name (or its last path component), or by 0-based index.
    func file(forCapture capture: String) -> ReportInputFile? {
        if let match = files.first(where: { $0.name == capture }) { return match }
        let base = lastPathComponent(capture)
        if let match = files.first(where: { lastPathComponent($0.name) == base }) { return match }
        if let index = Int(capture), files.indices.contains(index) { return files[index] }
        return nil
    }

    /// All captures named by records, in order of first appearance.
    var captures: [String] {
        var seen: Set<String> = []
        var order: [String] = []
        for capture in flows.map(\.capture) + messages.flatMap({ $0.attempts.map(\.capture) })
        where seen.insert(capture).inserted {
            order.append(capture)
        }
        return order
    }

    func flow(capture: String, index: Int) -> ReportFlow? {
        flows.first { $0.capture == capture && $0.index == index }
    }
}
