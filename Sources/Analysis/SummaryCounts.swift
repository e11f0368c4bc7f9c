/// The summary's run-long counters, added to one flow at a time as flows close: the
/// summary needs no flow record kept, and their size does not grow with the run.
public struct SummaryCounts: Sendable, Hashable {
    public private(set) var flows = 0
    public private(set) var transactions = 0
    /// Flows with a problem (``FlowRecord/hasProblems``).
    public private(set) var problemFlows = 0
    public private(set) var outcomes: [Outcome: Int] = [:]
    public private(set) var diagnoses: [Diagnosis: Int] = [:]
    public private(set) var association = Association()
    /// Per SMTP-fixup finding: how many flows showed it, and the first of them.
    public private(set) var fixupSightings: [FindingCode: FixupSighting] = [:]

    public init() {}

    /// Counts one closed flow and its transactions.
    public mutating func add(_ flow: FlowRecord) {
        flows += 1
        if flow.hasProblems { problemFlows += 1 }
        for transaction in flow.transactions {
            transactions += 1
            outcomes[transaction.outcome, default: 0] += 1
            diagnoses[transaction.diagnosis, default: 0] += 1
            association.add(transaction)
        }
        for (code, _) in MiddleboxVerdict.fixupFindings {
            guard let finding = flow.findings.first(where: { $0.code == code }) else { continue }
            fixupSightings[code, default: FixupSighting(flows: 0, capture: .max, flow: .max, frame: nil)].add(flow, finding: finding)
        }
    }
}

/// Flows showing one SMTP-fixup finding; the first is the lowest (capture, flow), so the
/// order flows close in does not matter.
public struct FixupSighting: Sendable, Hashable {
    public var flows: Int
    public var capture: Int
    public var flow: Int
    /// First evidence frame of the finding in that first flow.
    public var frame: UInt64?

    mutating func add(_ record: FlowRecord, finding: Finding) {
        flows += 1
        guard (record.capture, record.flow) < (capture, flow) else { return }
        capture = record.capture
        flow = record.flow
        frame = finding.frames.first
    }
}
