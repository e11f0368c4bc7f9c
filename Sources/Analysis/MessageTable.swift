/// Cross-flow correlation kept up as transactions arrive, in bounded memory: per message
/// identity (``Correlator``'s key) a few compact views (capture, flow, transaction, start,
/// outcome, diagnosis) and the distinct envelopes they came with, never the whole records.
///
/// Limits: at most `maxMessages` identities; beyond it the identity least recently
/// noted is forgotten (``evictedMessages``); if it was a message of two or more
/// transactions, its counts stay in ``forgotten`` for the summary. At most `maxTransactionsPerMessage` views per
/// identity; beyond it the earliest is forgotten (``droppedTransactions``). Within the limits
/// ``messages()`` equals ``Correlator/messages(from:windowNanoseconds:)`` over the same
/// transactions, whatever order they were noted in.
public struct MessageTable: Sendable {
    public let windowNanoseconds: Int64
    public let maxMessages: Int
    public let maxTransactionsPerMessage: Int
    /// Identities forgotten to stay within `maxMessages`.
    public private(set) var evictedMessages = 0
    /// Views forgotten to stay within `maxTransactionsPerMessage`.
    public private(set) var droppedTransactions = 0
    /// Messages (two or more transactions) among the evicted identities, as they stood then.
    public private(set) var forgotten = MessageTally()

    private var slots: [Entry] = []
    private var freeSlots: [Int] = []
    private var slotOf: [String: Int] = [:]
    /// Least and most recently noted identity: the ends of a list linked through the slots.
    private var oldest = -1
    private var newest = -1

    /// Identities held now.
    public var count: Int { slotOf.count }

    public init(windowNanoseconds: Int64, maxMessages: Int, maxTransactionsPerMessage: Int) {
        self.windowNanoseconds = windowNanoseconds
        self.maxMessages = max(maxMessages, 1)
        self.maxTransactionsPerMessage = max(maxTransactionsPerMessage, 2)
    }

    public init(options: AnalysisOptions) {
        self.init(windowNanoseconds: options.crossCaptureWindowNanoseconds, maxMessages: options.maxCorrelatedMessages,
                  maxTransactionsPerMessage: options.maxTransactionsPerMessage)
    }

    /// Adds the transaction's view, or replaces the one noted before for the same
    /// (capture, flow, transaction), e.g. a provisional live verdict by the final one.
    /// Returns the identity when the table changed for it; nil when the transaction has
    /// no identity or brought nothing new.
    @discardableResult
    public mutating func note(_ record: TransactionRecord) -> String? {
        guard let key = Correlator.identity(of: record) else { return nil }
        let slot: Int
        if let held = slotOf[key] {
            slot = held
            unlink(slot)
        } else {
            if slotOf.count >= maxMessages { evictOldest() }
            slot = allocate(Entry(key: key))
            slotOf[key] = slot
        }
        link(slot)
        let changed = slots[slot].note(record, limit: maxTransactionsPerMessage, dropped: &droppedTransactions)
        return changed ? key : nil
    }

    /// The message record of `identity`; nil with fewer than two transactions.
    public func message(identity: String) -> MessageRecord? {
        guard let slot = slotOf[identity] else { return nil }
        return slots[slot].message(windowNanoseconds: windowNanoseconds)
    }

    /// Every identity seen in two or more transactions, ordered as ``Correlator`` orders them.
    public func messages() -> [MessageRecord] {
        var found: [(message: MessageRecord, first: TransactionKey)] = []
        for slot in slotOf.values {
            guard let message = slots[slot].message(windowNanoseconds: windowNanoseconds) else { continue }
            found.append((message, slots[slot].first))
        }
        // The offline order: earliest attempt, Message-ID, fingerprint, then first seen in flow order.
        return found.sorted { a, b in
            let left = (a.message.attempts[0].primary.startNanoseconds, a.message.messageID ?? "", a.message.fingerprint ?? "")
            let right = (b.message.attempts[0].primary.startNanoseconds, b.message.messageID ?? "", b.message.fingerprint ?? "")
            return left != right ? left < right : a.first < b.first
        }.map(\.message)
    }

    // MARK: recency list

    private mutating func allocate(_ entry: Entry) -> Int {
        if let slot = freeSlots.popLast() {
            slots[slot] = entry
            return slot
        }
        slots.append(entry)
        return slots.count - 1
    }

    private mutating func evictOldest() {
        let slot = oldest
        guard slot >= 0 else { return }
        unlink(slot)
        if let message = slots[slot].message(windowNanoseconds: windowNanoseconds) { forgotten.add(message) }
        slotOf[slots[slot].key] = nil
        slots[slot] = Entry(key: "")
        freeSlots.append(slot)
        evictedMessages += 1
    }

    private mutating func unlink(_ slot: Int) {
        let older = slots[slot].older, newer = slots[slot].newer
        if older >= 0 { slots[older].newer = newer } else { oldest = newer }
        if newer >= 0 { slots[newer].older = older } else { newest = older }
        slots[slot].older = -1
        slots[slot].newer = -1
    }

    private mutating func link(_ slot: Int) {
        slots[slot].older = newest
        slots[slot].newer = -1
        if newest >= 0 { slots[newest].newer = slot } else { oldest = slot }
        newest = slot
    }
}

/// What the summary counts of messages a ``MessageTable`` no longer holds.
public struct MessageTally: Sendable, Hashable {
    public var messages = 0
    public var retried = 0
    public var acceptedLate = 0
    /// Attempts whose terminator one capture saw and another never received (``Attempt/terminatorLost``).
    public var lostTerminators = 0

    public init() {}

    mutating func add(_ message: MessageRecord) {
        messages += 1
        if message.attempts.count >= 2 { retried += 1 }
        acceptedLate += message.acceptedLate
        lostTerminators += message.attempts.filter(\.terminatorLost).count
    }
}

/// (capture, flow, transaction): where a transaction sits in the run.
struct TransactionKey: Sendable, Hashable, Comparable {
    var capture: Int
    var flow: Int
    var transaction: Int

    static func < (a: Self, b: Self) -> Bool { (a.capture, a.flow, a.transaction) < (b.capture, b.flow, b.transaction) }
}

extension MessageTable {
    /// What one message identity keeps.
    struct Entry: Sendable {
        /// Header fields a view came with; most messages have one.
        struct Envelope: Sendable, Hashable {
            var messageID: String?
            var fingerprint: String?
            var mailFrom: String?
            var rcptTo: [String]
        }

        struct Seen: Sendable {
            var view: AttemptView
            var envelope: Int
            var key: TransactionKey { TransactionKey(capture: view.capture, flow: view.flow, transaction: view.transaction) }
            var order: (Int64, Int, Int, Int) { (view.startNanoseconds, view.capture, view.flow, view.transaction) }
        }

        var key: String
        /// Sorted by (start, capture, flow, transaction), as ``Correlator`` sorts a group.
        var seen: [Seen] = []
        var envelopes: [Envelope] = []
        /// The lowest transaction ever noted: breaks ties in the message order.
        var first = TransactionKey(capture: .max, flow: .max, transaction: .max)
        var older = -1
        var newer = -1

        /// Adds or replaces the view; true when anything changed.
        mutating func note(_ record: TransactionRecord, limit: Int, dropped: inout Int) -> Bool {
            let envelope = Envelope(messageID: record.messageID, fingerprint: record.fingerprint, mailFrom: record.mailFrom,
                                    rcptTo: record.rcptTo)
            let view = AttemptView(record)
            let key = TransactionKey(capture: record.capture, flow: record.flow, transaction: record.index)
            first = min(first, key)
            if let at = seen.firstIndex(where: { $0.key == key }) {
                if seen[at].view == view && envelopes[seen[at].envelope] == envelope { return false }
                remove(at: at)
            }
            let index = envelopes.firstIndex(of: envelope) ?? { envelopes.append(envelope); return envelopes.count - 1 }()
            let new = Seen(view: view, envelope: index)
            let at = seen.firstIndex { new.order < $0.order } ?? seen.count
            seen.insert(new, at: at)
            while seen.count > limit {
                remove(at: 0)
                dropped += 1
            }
            return true
        }

        /// Removes a view, and its envelope when no other view uses it.
        private mutating func remove(at index: Int) {
            let envelope = seen.remove(at: index).envelope
            guard !seen.contains(where: { $0.envelope == envelope }) else { return }
            envelopes.remove(at: envelope)
            for i in seen.indices where seen[i].envelope > envelope { seen[i].envelope -= 1 }
        }

        func message(windowNanoseconds: Int64) -> MessageRecord? {
            guard seen.count >= 2, let head = seen.first else { return nil }
            let lead = envelopes[head.envelope]
            return Correlator.message(
                views: seen.map(\.view),
                messageID: seen.lazy.compactMap { self.envelopes[$0.envelope].messageID }.first,
                fingerprint: seen.lazy.compactMap { self.envelopes[$0.envelope].fingerprint }.first,
                mailFrom: lead.mailFrom, rcptTo: lead.rcptTo, windowNanoseconds: windowNanoseconds)
        }
    }
}
