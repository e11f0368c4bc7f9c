/// The summary's run-long counters, added to one flow at a time as flows close: the
/// summary needs no flow record kept, and their size does not grow with the run.
public struct SummaryCounts: Sendable, Hashable {
    public private(set) var flows = 0
    public private(set) var transactions = 0
    /// Flows with a problem (``FlowRecord/hasProblems``).
    public private(set) var problemFlows = 0
    /// Transactions per outcome (outcomes never seen are absent).
    public var outcomes: [Outcome: Int] { Self.table(Outcome.allCases, outcomeCounts) }
    /// Transactions per diagnosis (diagnoses never seen are absent).
    public var diagnoses: [Diagnosis: Int] { Self.table(Diagnosis.allCases, diagnosisCounts) }
    // Counted by case position (``Outcome/countSlot``), not hashed per transaction.
    private var outcomeCounts = [Int](repeating: 0, count: Outcome.allCases.count)
    private var diagnosisCounts = [Int](repeating: 0, count: Diagnosis.allCases.count)
    public private(set) var association = Association()
    /// Per SMTP-fixup finding: how many flows showed it, and the first of them.
    public private(set) var fixupSightings: [FindingCode: FixupSighting] = [:]

    public init() {}

    /// Counts one closed flow and its transactions.
    public mutating func add(_ flow: FlowRecord) {
        flows += 1
        if flow.hasProblems { problemFlows += 1 }
        // Read in place: a `for in` over the array copies each record out (its text retained).
        flow.transactions.withUnsafeBufferPointer { records in
            for index in records.indices {
                transactions += 1
                outcomeCounts[records[index].outcome.countSlot] += 1
                diagnosisCounts[records[index].diagnosis.countSlot] += 1
                association.add(split: records[index].terminator.isSplit, seen: records[index].terminator.seen,
                                diagnosis: records[index].diagnosis)
            }
        }
        guard !flow.findings.isEmpty else { return }
        for (code, _) in MiddleboxVerdict.fixupFindings {
            // By index: `first(where:)` copies each finding out (its text retained) to test its code.
            guard let index = flow.findings.indices.first(where: { flow.findings[$0].code == code }) else { continue }
            fixupSightings[code, default: FixupSighting(flows: 0, capture: .max, flow: .max, frame: nil)].add(flow, finding: flow.findings[index])
        }
    }
}

extension SummaryCounts {
    private static func table<Key: Hashable>(_ keys: [Key], _ counts: [Int]) -> [Key: Int] {
        var table: [Key: Int] = [:]
        for (key, count) in zip(keys, counts) where count > 0 { table[key] = count }
        return table
    }
}

extension Outcome {
    /// The case's position in `allCases`.
    var countSlot: Int {
        switch self {
        case .accepted: 0
        case .acceptedLate: 1
        case .rejected: 2
        case .noReply: 3
        case .noTerminator: 4
        case .encrypted: 5
        case .incomplete: 6
        }
    }
}

extension Diagnosis {
    /// The case's position in `allCases`.
    var countSlot: Int {
        switch self {
        case .ok: 0
        case .rejected: 1
        case .splitTerminatorStall: 2
        case .terminatorNotReceived: 3
        case .unanswered: 4
        case .encrypted: 5
        case .incompleteCapture: 6
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
