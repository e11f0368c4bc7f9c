/// FIFO of what the server has yet to answer (RFC 2920 pipelining), bounded by the caller.
/// Each entry keeps its command's known verb beside it, so that what a reply decides can be
/// read without copying the command out of the context.
///
/// A ring over slots that stay allocated: a command answered before the next is sent (the
/// usual dialog) neither shifts nor empties the array, it only moves `head`.
struct PendingQueue {
    typealias Entry = (context: ReplyContext, verb: SMTPVerb?)
    /// Slots `head ..< head + count` (modulo `slots.count`) hold entries; the others hold
    /// `.unsolicited` (no reference).
    private var slots: [Entry] = []
    private var head = 0
    private(set) var count = 0
    /// While the slots are lent (``pushParked(endOfData:)``): the one entry, the end of
    /// data of this transaction; `slots` is then empty and `count` 1.
    private var parkedEndOfData = 0
    /// Where ``pushParked(endOfData:)`` puts the slots and an empty queue takes them from (nil: none).
    /// Not retained: the session that sets it keeps the pool alive.
    unowned(unsafe) var pool: SessionStoragePool?

    var isEmpty: Bool { count == 0 }

    mutating func push(_ item: consuming ReplyContext, verb: SMTPVerb? = nil) {
        // Full, or lent while one end of data waits (no slots, one entry).
        if count >= slots.count { makeRoom() }
        var index = head &+ count
        if index >= slots.count { index &-= slots.count }
        slots[index] = (consume item, verb)
        count &+= 1
    }

    @inline(never)
    private mutating func makeRoom() {
        if slots.isEmpty && count > 0 { unpark() }
        if count == slots.count { grow() }
    }

    /// Twice the slots (``initialSlots`` at first), the entries moved to the front in order.
    private mutating func grow() {
        if slots.isEmpty, let lent = pool?.takeSlots() {
            slots = lent
            head = 0
            return
        }
        let size = max(Self.initialSlots, 2 * slots.count)
        var larger: [Entry] = []
        larger.reserveCapacity(size)
        for k in 0..<count {
            var item: Entry = (.unsolicited, nil)
            swap(&item, &slots[(head &+ k) % slots.count])
            larger.append(item)
        }
        while larger.count < size { larger.append((.unsolicited, nil)) }
        slots = larger
        head = 0
    }

    /// The oldest entry answers a command other than EHLO (read in place, nothing copied).
    var nextIsCommandButEHLO: Bool {
        guard count > 0, !slots.isEmpty else { return false }
        guard case .command = slots[head].context else { return false }
        return slots[head].verb != .ehlo
    }

    /// The transaction whose end of data the oldest entry awaits the reply to, if it does
    /// (read in place, nothing copied).
    var nextEndOfData: Int? {
        guard count > 0 else { return nil }
        if slots.isEmpty { return parkedEndOfData }
        guard case .endOfData(let index) = slots[head].context else { return nil }
        return index
    }

    @inline(__always)
    mutating func pop() -> Entry? {
        guard count > 0 else { return nil }
        if slots.isEmpty { return popParked() }
        // Moved out (a value without references left in its place): no retain here and no
        // release when the slot is written again.
        var item: Entry = (.unsolicited, nil)
        swap(&item, &slots[head])
        count &-= 1
        head = count == 0 || head &+ 1 == slots.count ? 0 : head &+ 1
        return item
    }

    /// Empties the queue, keeping its slots for the next connection unless a long pipeline
    /// grew them past ``keptSlots`` (a reset session is pooled: it would hold them for good).
    mutating func removeAll() {
        while count > 0 { _ = pop() }
        head = 0
        if slots.count > Self.keptSlots { slots = [] }
    }

    /// Queues the end of data of `transaction` as the only entry, its slots handed to the
    /// pool: the session waits for the reply (on a stalled connection, for tens of seconds)
    /// holding just the transaction number; the next push takes slots back (the pool's, or
    /// new ones). Returns false, queuing nothing, when that cannot be done: entries are
    /// waiting, there is no pool, or a long pipeline grew the slots (they are kept).
    mutating func pushParked(endOfData transaction: Int) -> Bool {
        guard count == 0, let pool, slots.isEmpty || slots.count == Self.initialSlots else { return false }
        parkedEndOfData = transaction
        count = 1
        head = 0
        if !slots.isEmpty {
            var lent: [Entry] = []
            swap(&lent, &slots)
            pool.keep(slots: lent)
        }
        return true
    }

    /// The parked end of data, popped (the slots stay lent).
    @inline(never)
    private mutating func popParked() -> Entry? {
        count = 0
        return (.endOfData(transaction: parkedEndOfData), nil)
    }

    /// The parked end of data back in slots (the pool's, or new ones) before a push.
    private mutating func unpark() {
        slots = pool?.takeSlots() ?? Array(repeating: (.unsolicited, nil), count: Self.initialSlots)
        head = 0
        slots[0] = (.endOfData(transaction: parkedEndOfData), nil)
    }

    /// Slots at first: a pipelined envelope (MAIL, a few RCPT, DATA) fits; a longer pipeline
    /// doubles them. (Six cut the heap but raised the 1 GiB capture's peak RSS.)
    static var initialSlots: Int { 8 }

    /// The most slots a queue keeps when emptied (a few times the first).
    static var keptSlots: Int { 32 }

    /// Slots allocated (not the entries queued; none while lent).
    var slotCount: Int { slots.count }
}
