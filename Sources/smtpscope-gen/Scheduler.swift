/// A source of frames with its own clock: an SMTP conversation, a bulk
/// transfer, DNS chatter. Its frames come in time order.
protocol TrafficActor: AnyObject {
    /// Capture time of the next frame, nil when the actor has nothing more to send.
    var nextTime: Int64? { get }
    /// Writes the frame due at ``nextTime``.
    func emitNext(_ generator: Generator)
}

/// Min-heap of actors by the time of their next frame (ties: first scheduled
/// first), so merging hundreds of conversations yields frames in time order.
struct ActorQueue {
    private struct Entry {
        var time: Int64
        var order: UInt64
        var actor: any TrafficActor
        func precedes(_ other: Entry) -> Bool { time != other.time ? time < other.time : order < other.order }
    }

    private var entries: [Entry] = []
    private var scheduled: UInt64 = 0

    var count: Int { entries.count }

    mutating func push(_ actor: any TrafficActor, at time: Int64) {
        scheduled &+= 1
        entries.append(Entry(time: time, order: scheduled, actor: actor))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (time: Int64, actor: any TrafficActor)? {
        guard let first = entries.first else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var best = parent
                if left < entries.count, entries[left].precedes(entries[best]) { best = left }
                if right < entries.count, entries[right].precedes(entries[best]) { best = right }
                if best == parent { break }
                entries.swapAt(parent, best)
                parent = best
            }
        }
        return (first.time, first.actor)
    }
}
