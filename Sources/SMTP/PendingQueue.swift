/// FIFO of what the server has yet to answer (RFC 2920 pipelining), bounded by the caller.
/// Each entry keeps its command's known verb beside it, so that what a reply decides can be
/// read without copying the command out of the context.
struct PendingQueue {
    typealias Entry = (context: ReplyContext, verb: SMTPVerb?)
    private var items: [Entry] = []
    private var head = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { head == items.count }

    mutating func push(_ item: consuming ReplyContext, verb: SMTPVerb? = nil) {
        // A pipelined transaction queues a few commands: grow once, not by doubling from one.
        if items.capacity == 0 { items.reserveCapacity(8) }
        items.append((consume item, verb))
    }

    mutating func pop() -> Entry? {
        guard head < items.count else { return nil }
        // Moved out (a value without references left in its place): no retain here and no
        // release when the slot is cleared.
        var item: Entry = (.unsolicited, nil)
        swap(&item, &items[head])
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return item
    }

    mutating func removeAll() {
        items.removeAll(keepingCapacity: true)
        head = 0
    }
}
