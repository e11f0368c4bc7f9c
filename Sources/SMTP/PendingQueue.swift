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

    var isEmpty: Bool { count == 0 }

    mutating func push(_ item: consuming ReplyContext, verb: SMTPVerb? = nil) {
        if count == slots.count { grow() }
        var index = head &+ count
        if index >= slots.count { index &-= slots.count }
        slots[index] = (consume item, verb)
        count &+= 1
    }

    /// Twice the slots (``initialSlots`` at first), the entries moved to the front in order.
    private mutating func grow() {
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
        guard count > 0 else { return false }
        guard case .command = slots[head].context else { return false }
        return slots[head].verb != .ehlo
    }

    /// The transaction whose end of data the oldest entry awaits the reply to, if it does
    /// (read in place, nothing copied).
    var nextEndOfData: Int? {
        guard count > 0, case .endOfData(let index) = slots[head].context else { return nil }
        return index
    }

    mutating func pop() -> Entry? {
        guard count > 0 else { return nil }
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

    /// Slots at first: a pipelined envelope (MAIL, a few RCPT, DATA) fits; a longer pipeline
    /// doubles them. (Six cut the heap but raised the 1 GiB capture's peak RSS.)
    static var initialSlots: Int { 8 }

    /// The most slots a queue keeps when emptied (a few times the first).
    static var keptSlots: Int { 32 }

    /// Slots allocated (not the entries queued).
    var slotCount: Int { slots.count }
}
