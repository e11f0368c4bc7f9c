import Capture

/// The split × unanswered association over transactions whose end-of-data was seen and judged.
public struct Association: Sendable, Hashable {
    public var splitUnanswered = 0
    public var splitAnswered = 0
    public var unsplitUnanswered = 0
    public var unsplitAnswered = 0

    public init(splitUnanswered: Int = 0, splitAnswered: Int = 0, unsplitUnanswered: Int = 0, unsplitAnswered: Int = 0) {
        self.splitUnanswered = splitUnanswered
        self.splitAnswered = splitAnswered
        self.unsplitUnanswered = unsplitUnanswered
        self.unsplitAnswered = unsplitAnswered
    }

    /// Counts transactions with a seen terminator and an answered/unanswered verdict.
    public init(_ transactions: [TransactionRecord]) {
        for transaction in transactions { add(transaction) }
    }

    /// Counts one transaction if its terminator was seen and its verdict is answered or unanswered.
    public mutating func add(_ transaction: TransactionRecord) {
        add(split: transaction.terminator.isSplit, seen: transaction.terminator.seen, diagnosis: transaction.diagnosis)
    }

    /// ``add(_:)`` from the three facts it reads.
    mutating func add(split: Bool, seen: Bool, diagnosis: Diagnosis) {
        guard seen else { return }
        let unanswered = diagnosis.isUnanswered
        guard unanswered || diagnosis == .ok || diagnosis == .rejected else { return }
        switch (split, unanswered) {
        case (true, true): splitUnanswered += 1
        case (true, false): splitAnswered += 1
        case (false, true): unsplitUnanswered += 1
        case (false, false): unsplitAnswered += 1
        }
    }

    public var splitTotal: Int { splitUnanswered + splitAnswered }
    public var unsplitTotal: Int { unsplitUnanswered + unsplitAnswered }

    /// Fisher's exact test, two-sided.
    public var pValue: Double { FisherExact.twoSidedP(splitUnanswered, splitAnswered, unsplitUnanswered, unsplitAnswered) }

    /// Split terminators go unanswered significantly more often than unsplit ones.
    public var splitsDropped: Bool {
        guard splitUnanswered > 0, pValue < 0.05 else { return false }
        return splitUnanswered * max(unsplitTotal, 1) > unsplitUnanswered * splitTotal
    }

    /// Every split terminator (at least two) went unanswered and every unsplit one was answered.
    public var onlySplitsUnanswered: Bool { splitUnanswered >= 2 && splitAnswered == 0 && unsplitUnanswered == 0 }

    /// The table in one plain sentence.
    public var sentence: String {
        let counts = "\(splitUnanswered) of \(splitTotal) split terminators went unanswered, \(unsplitUnanswered) of \(unsplitTotal) unsplit ones"
        if splitTotal + unsplitTotal == 0 { return "No end of data was seen with a decided outcome." }
        if splitTotal == 0 { return "No terminator was split across TCP segments; \(unsplitUnanswered) of \(unsplitTotal) went unanswered." }
        if splitUnanswered == 0 { return counts + ": split terminators are answered normally." }
        if splitsDropped { return counts + ": split terminators are being dropped." }
        if splitAnswered == 0 && unsplitUnanswered == 0 {
            return counts + ": only split terminators went unanswered, too few transactions for a significant test (p = \(Self.format(pValue)))."
        }
        return counts + ": no clear link between split terminators and missing replies (p = \(Self.format(pValue)))."
    }

    static func format(_ p: Double) -> String {
        p >= 0.001 ? TimeText.fixed(Int64((p * 1_000_000).rounded()), unit: 1_000_000, decimals: 3) : "< 0.001"
    }
}

/// Whether an SMTP-inspecting middlebox sits in the path, and why we think so.
public struct MiddleboxVerdict: Sendable, Hashable {
    public var detected: Bool
    /// `smtp_fixup` (Cisco PIX Mailguard / ASA inspect esmtp-like) when detected.
    public var kind: String?
    public var evidence: [String]

    public init(detected: Bool, kind: String?, evidence: [String]) {
        self.detected = detected
        self.kind = kind
        self.evidence = evidence
    }

    /// Findings that betray an SMTP fixup, with the words the evidence uses for them.
    static let fixupFindings: [(FindingCode, String)] = [
        (.bannerMasked, "masked SMTP banner"), (.commandMasked, "client commands rewritten to XXXX"),
        (.starttlsMasked, "STARTTLS masked as XXXXXXXA"), (.ehloRejected, "EHLO answered 500/502"),
    ]

    /// From the fixup fingerprints in flow findings, the split/stall association, and
    /// attempts whose terminator was seen by one capture but never reached another.
    public init(flows: [FlowRecord], association: Association, messages: [MessageRecord]) {
        var counts = SummaryCounts()
        for flow in flows { counts.add(flow) }
        self.init(sightings: counts.fixupSightings, association: association, messages: messages)
    }

    /// The same verdict from counters kept as flows closed (``SummaryCounts/fixupSightings``).
    /// `forgotten`: messages the correlation table no longer holds, still counted.
    public init(sightings: [FindingCode: FixupSighting], association: Association, messages: [MessageRecord],
                forgotten: MessageTally = MessageTally()) {
        var evidence: [String] = []
        var fingerprints = 0
        for (code, words) in Self.fixupFindings {
            guard let seen = sightings[code] else { continue }
            if code != .ehloRejected { fingerprints += 1 }
            evidence.append("\(words) in \(seen.flows) flow\(seen.flows == 1 ? "" : "s") (first: capture \(seen.capture) flow \(seen.flow), frame \(seen.frame.map(String.init) ?? "?"))")
        }
        let pattern = association.splitsDropped || association.onlySplitsUnanswered
        if pattern { evidence.append(association.sentence) }
        let lost = messages.reduce(forgotten.lostTerminators) { $0 + $1.attempts.filter(\.terminatorLost).count }
        if lost > 0 {
            evidence.append("in \(lost) attempt\(lost == 1 ? "" : "s") the terminator the client sent never reached the other capture's side")
        }
        let detected = fingerprints > 0 || pattern || lost > 0
        self.init(detected: detected, kind: detected ? "smtp_fixup" : nil, evidence: evidence)
    }
}

/// Counters of one input.
public struct CaptureStats: Sendable, Hashable {
    public var index: Int
    public var name: String
    /// Frames read, all of them (also those a BPF filter skipped, once ``Analyzer/noteRead(_:)`` was told).
    public var packets: UInt64 = 0
    /// Frames handed to the analyzer (fewer than ``packets`` when a filter skipped some).
    public var framesAnalyzed: UInt64 = 0
    /// Bytes present in the analysed frames.
    public var capturedBytes: UInt64 = 0
    public var tcpSegments: UInt64 = 0
    public var decodeErrors: UInt64 = 0
    /// Frames cut by the snapshot length.
    public var truncatedFrames: UInt64 = 0
    /// Reassembly limits reached.
    public var limitsHit: UInt64 = 0
    /// Packets the kernel dropped (live capture only; nil when not known).
    public var drops: UInt64?
    public var firstNanoseconds: Int64?
    public var lastNanoseconds: Int64?
    /// Why reading stopped before the end of the input, if it did.
    public var readError: ReadError?

    /// Counts one frame handed to the analyzer (one access to the stats per frame, not six).
    @inline(__always)
    mutating func count(_ info: CaptureInfo) {
        packets += 1
        framesAnalyzed += 1
        capturedBytes &+= UInt64(clamping: info.capturedLength)
        if info.capturedLength < info.wireLength { truncatedFrames += 1 }
        if firstNanoseconds == nil { firstNanoseconds = info.timestampNanoseconds }
        lastNanoseconds = info.timestampNanoseconds
    }

    /// A record that could not be read: every frame before it was analysed.
    public struct ReadError: Sendable, Hashable {
        /// 1-based number of the record that failed.
        public var frame: UInt64
        public var reason: String
        public init(frame: UInt64, reason: String) {
            self.frame = frame
            self.reason = reason
        }
    }

    public init(index: Int, name: String) {
        self.index = index
        self.name = name
    }
}

/// The last record of a run.
public struct SummaryRecord: Sendable, Hashable {
    public var captures: [CaptureStats]
    public var flows: Int
    public var transactions: Int
    /// Flows with a problem (``FlowRecord/hasProblems``).
    public var problemFlows: Int
    public var outcomes: [Outcome: Int]
    public var diagnoses: [Diagnosis: Int]
    public var association: Association
    public var middlebox: MiddleboxVerdict
    /// Messages seen in two or more transactions; those sent more than once; copies accepted late.
    public var messages: Int
    public var retriedMessages: Int
    public var acceptedLate: Int
    /// Message identities correlation forgot to stay within ``AnalysisOptions/maxCorrelatedMessages``
    /// (those seen twice or more are still in ``messages``, ``retriedMessages`` and ``acceptedLate``).
    public var correlationEvictedMessages: Int = 0
    /// Transactions correlation forgot to stay within ``AnalysisOptions/maxTransactionsPerMessage``.
    public var correlationDroppedTransactions: Int = 0

    public var packets: UInt64 { captures.reduce(0) { $0 + $1.packets } }
    public var decodeErrors: UInt64 { captures.reduce(0) { $0 + $1.decodeErrors } }
    public var truncatedFrames: UInt64 { captures.reduce(0) { $0 + $1.truncatedFrames } }
    public var limitsHit: UInt64 { captures.reduce(0) { $0 + $1.limitsHit } }
    /// Inputs whose reading stopped at a damaged record.
    public var readErrors: Int { captures.filter { $0.readError != nil }.count }
    /// Nil unless some capture reported drops.
    public var drops: UInt64? {
        let known = captures.compactMap(\.drops)
        return known.isEmpty ? nil : known.reduce(0, +)
    }
    /// Correlation reached one of its limits: some retries may have gone unnoticed.
    public var correlationLimited: Bool { correlationEvictedMessages + correlationDroppedTransactions > 0 }

    /// From all flow records at once.
    public init(captures: [CaptureStats], flows: [FlowRecord], messages: [MessageRecord]) {
        var counts = SummaryCounts()
        for flow in flows { counts.add(flow) }
        self.init(captures: captures, counts: counts, messages: messages)
    }

    /// From counters kept as flows closed, the correlated messages, and the tally of messages
    /// the correlation table forgot (``MessageTable/forgotten``).
    public init(captures: [CaptureStats], counts: SummaryCounts, messages: [MessageRecord], forgotten: MessageTally = MessageTally(),
                correlationEvictedMessages: Int = 0, correlationDroppedTransactions: Int = 0) {
        self.captures = captures
        flows = counts.flows
        transactions = counts.transactions
        problemFlows = counts.problemFlows
        outcomes = counts.outcomes
        diagnoses = counts.diagnoses
        association = counts.association
        middlebox = MiddleboxVerdict(sightings: counts.fixupSightings, association: association, messages: messages, forgotten: forgotten)
        self.messages = messages.count + forgotten.messages
        retriedMessages = messages.filter { $0.attempts.count >= 2 }.count + forgotten.retried
        acceptedLate = messages.reduce(forgotten.acceptedLate) { $0 + $1.acceptedLate }
        self.correlationEvictedMessages = correlationEvictedMessages
        self.correlationDroppedTransactions = correlationDroppedTransactions
    }
}

/// Everything one run found.
public struct AnalysisResult: Sendable, Hashable {
    /// Flows in order of capture, then flow index (empty when the run kept none,
    /// ``AnalysisOptions/retainFlowRecords``).
    public var flows: [FlowRecord]
    public var messages: [MessageRecord]
    public var summary: SummaryRecord

    /// Correlates and counts `flows` all at once.
    public init(flows: [FlowRecord], captures: [CaptureStats], windowNanoseconds: Int64) {
        self.flows = flows.sorted { ($0.capture, $0.flow) < ($1.capture, $1.flow) }
        messages = Correlator.messages(from: self.flows.flatMap(\.transactions), windowNanoseconds: windowNanoseconds)
        summary = SummaryRecord(captures: captures, flows: self.flows, messages: messages)
    }

    /// Parts already worked out as flows closed; `flows` is sorted here.
    public init(flows: [FlowRecord], messages: [MessageRecord], summary: SummaryRecord) {
        self.flows = flows.sorted { ($0.capture, $0.flow) < ($1.capture, $1.flow) }
        self.messages = messages
        self.summary = summary
    }

    /// Exit status 1: a transaction not `ok`, a warning-or-worse finding, a retried
    /// message, or a middlebox.
    public var hasProblems: Bool {
        summary.problemFlows > 0 || flows.contains(where: \.hasProblems) || summary.retriedMessages > 0
            || summary.middlebox.detected
    }
}
