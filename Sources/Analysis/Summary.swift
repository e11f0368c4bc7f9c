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
        for transaction in transactions where transaction.terminator.seen {
            let unanswered = transaction.diagnosis.isUnanswered
            guard unanswered || transaction.diagnosis == .ok || transaction.diagnosis == .rejected else { continue }
            switch (transaction.terminator.isSplit, unanswered) {
            case (true, true): splitUnanswered += 1
            case (true, false): splitAnswered += 1
            case (false, true): unsplitUnanswered += 1
            case (false, false): unsplitAnswered += 1
            }
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

    /// From the fixup fingerprints in flow findings, the split/stall association, and
    /// attempts whose terminator was seen by one capture but never reached another.
    public init(flows: [FlowRecord], association: Association, messages: [MessageRecord]) {
        var evidence: [String] = []
        var fingerprints = 0
        let named: [(FindingCode, String)] = [
            (.bannerMasked, "masked SMTP banner"), (.commandMasked, "client commands rewritten to XXXX"),
            (.starttlsMasked, "STARTTLS masked as XXXXXXXA"), (.ehloRejected, "EHLO answered 500/502"),
        ]
        for (code, words) in named {
            let hits = flows.filter { $0.findings.contains { $0.code == code } }
            guard let first = hits.first, let finding = first.findings.first(where: { $0.code == code }) else { continue }
            if code != .ehloRejected { fingerprints += 1 }
            evidence.append("\(words) in \(hits.count) flow\(hits.count == 1 ? "" : "s") (first: capture \(first.capture) flow \(first.flow), frame \(finding.frames.first.map(String.init) ?? "?"))")
        }
        let pattern = association.splitsDropped || association.onlySplitsUnanswered
        if pattern { evidence.append(association.sentence) }
        let lost = messages.flatMap(\.attempts).filter { attempt in
            attempt.views.count >= 2 && attempt.views.contains { $0.diagnosis == .terminatorNotReceived }
                && attempt.views.contains { $0.diagnosis.isUnanswered }
        }
        if !lost.isEmpty {
            evidence.append("in \(lost.count) attempt\(lost.count == 1 ? "" : "s") the terminator the client sent never reached the other capture's side")
        }
        let detected = fingerprints > 0 || pattern || !lost.isEmpty
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
    public var outcomes: [Outcome: Int]
    public var diagnoses: [Diagnosis: Int]
    public var association: Association
    public var middlebox: MiddleboxVerdict
    /// Messages seen in two or more transactions; those sent more than once; copies accepted late.
    public var messages: Int
    public var retriedMessages: Int
    public var acceptedLate: Int

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

    public init(captures: [CaptureStats], flows: [FlowRecord], messages: [MessageRecord]) {
        self.captures = captures
        self.flows = flows.count
        let transactions = flows.flatMap(\.transactions)
        self.transactions = transactions.count
        var outcomes: [Outcome: Int] = [:]
        var diagnoses: [Diagnosis: Int] = [:]
        for transaction in transactions {
            outcomes[transaction.outcome, default: 0] += 1
            diagnoses[transaction.diagnosis, default: 0] += 1
        }
        self.outcomes = outcomes
        self.diagnoses = diagnoses
        association = Association(transactions)
        middlebox = MiddleboxVerdict(flows: flows, association: association, messages: messages)
        self.messages = messages.count
        retriedMessages = messages.filter { $0.attempts.count >= 2 }.count
        acceptedLate = messages.reduce(0) { $0 + $1.acceptedLate }
    }
}

/// Everything one run found.
public struct AnalysisResult: Sendable, Hashable {
    /// Flows in order of capture, then flow index.
    public var flows: [FlowRecord]
    public var messages: [MessageRecord]
    public var summary: SummaryRecord

    public init(flows: [FlowRecord], captures: [CaptureStats], windowNanoseconds: Int64) {
        self.flows = flows.sorted { ($0.capture, $0.flow) < ($1.capture, $1.flow) }
        messages = Correlator.messages(from: self.flows.flatMap(\.transactions), windowNanoseconds: windowNanoseconds)
        summary = SummaryRecord(captures: captures, flows: self.flows, messages: messages)
    }

    /// Exit status 1: a transaction not `ok`, a warning-or-worse finding, a retried
    /// message, or a middlebox.
    public var hasProblems: Bool {
        flows.contains(where: \.hasProblems) || summary.retriedMessages > 0 || summary.middlebox.detected
    }
}
