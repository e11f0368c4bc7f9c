/// Identifies one fragmented datagram (RFC 791 §3.2, RFC 8200 §4.5). Only TCP
/// fragments are stored, so the IPv4 protocol field needs no place in the key.
struct FragmentKey: Hashable {
    var source: IPAddress
    var destination: IPAddress
    var identification: UInt32
}

/// Bounded IPv4/IPv6 fragment reassembly keyed by capture time.
///
/// Overlaps keep the first-seen bytes (as the TCP reassembly does) and are
/// counted. When a limit is reached the oldest datagram is evicted. Slot storage
/// is created on first use and reused afterwards.
struct FragmentReassembler {
    enum Outcome {
        case held
        /// The datagram in `slot` is complete: read it with ``withDatagram(slot:_:)``, then ``release(slot:)``.
        case complete(slot: Int)
        case dropped(WireError.Reason)
    }

    struct Slot {
        var key = FragmentKey(source: .v4(0), destination: .v4(0), identification: 0)
        var inUse = false
        var firstSeen: Int64 = 0
        var order: UInt64 = 0
        /// Datagram payload bytes at their offsets; zero where not yet received.
        var buffer: [UInt8] = []
        /// Received byte ranges, sorted and merged.
        var covered: [Range<Int>] = []
        /// Payload length from the last fragment, or -1 until it arrives.
        var totalLength = -1
        /// IPv6: the header following the fragment header (from the offset-0 fragment).
        var nextHeader: UInt8 = 0
        var fragments = 0
    }

    /// Freed buffers keep at most this much capacity for reuse (bounds idle memory).
    static let retainedCapacity = 4096

    let options: DecoderOptions
    private(set) var slots: [Slot] = []
    private var slotByKey: [FragmentKey: Int] = [:]
    private var freeSlots: [Int] = []
    private var nextOrder: UInt64 = 0
    private var nextDeadline = Int64.max
    private(set) var bytesHeld = 0

    init(options: DecoderOptions) {
        self.options = options
    }

    var inProgress: Int { slotByKey.count }

    /// Adds one fragment's bytes (`data`, at byte `offset` of the datagram payload).
    mutating func add(
        key: FragmentKey, offset: Int, data: UnsafeRawBufferPointer, more: Bool, nextHeader: UInt8, now: Int64,
        statistics: inout DecodeStatistics
    ) -> Outcome {
        statistics.fragmentsReceived += 1
        defer { syncGauges(&statistics) }
        let end = offset + data.count
        let existing = slotByKey[key]
        guard end <= options.maxDatagramSize, !(more && data.isEmpty) else {
            if let existing { discard(existing) }
            statistics.fragmentsDropped += 1
            return .dropped(.malformed)
        }
        let slot: Int
        if let existing {
            slot = existing
        } else {
            if slotByKey.count >= options.maxFragmentedDatagrams, let victim = oldest(except: -1) {
                discard(victim)
                statistics.datagramsEvicted += 1
            }
            slot = allocate(key: key, now: now)
        }

        // Consistency of the datagram's length (RFC 8200 §4.5: inconsistent → discard).
        let coveredEnd = slots[slot].covered.last?.upperBound ?? 0
        let total = slots[slot].totalLength
        if !more {
            guard total < 0 || total == end, coveredEnd <= end else { return drop(slot, .malformed, &statistics) }
            slots[slot].totalLength = end
        } else if total >= 0, end > total {
            return drop(slot, .malformed, &statistics)
        }
        if offset == 0 { slots[slot].nextHeader = nextHeader }
        slots[slot].fragments += 1
        guard slots[slot].fragments <= options.maxFragmentsPerDatagram else {
            return drop(slot, .fragmentLimit, &statistics)
        }

        // Room: grow this datagram's buffer, evicting the oldest others if needed.
        let growth = end - slots[slot].buffer.count
        if growth > 0 {
            while bytesHeld + growth > options.maxFragmentBytesHeld, let victim = oldest(except: slot) {
                discard(victim)
                statistics.datagramsEvicted += 1
            }
            guard bytesHeld + growth <= options.maxFragmentBytesHeld else {
                return drop(slot, .fragmentLimit, &statistics)
            }
            slots[slot].buffer.append(contentsOf: repeatElement(0, count: growth))
            bytesHeld += growth
        }

        if copyUncovered(data, at: offset, into: slot) { statistics.fragmentOverlaps += 1 }
        insertCovered(offset..<end, into: slot)

        let length = slots[slot].totalLength
        if length > 0, slots[slot].covered.count == 1, slots[slot].covered[0] == 0..<length {
            statistics.datagramsReassembled += 1
            return .complete(slot: slot)
        }
        return .held
    }

    /// Lends the reassembled payload of a complete datagram.
    func withDatagram<R>(slot: Int, _ body: (UnsafeRawBufferPointer, _ nextHeader: UInt8) -> R) -> R {
        let length = max(0, slots[slot].totalLength)
        return slots[slot].buffer.withUnsafeBytes { raw in body(raw.bytes(0..<min(length, raw.count)), slots[slot].nextHeader) }
    }

    /// Frees a delivered datagram's slot.
    mutating func release(slot: Int, statistics: inout DecodeStatistics) {
        discard(slot)
        syncGauges(&statistics)
    }

    /// Discards datagrams whose first fragment is older than the timeout at capture time `now`.
    @inline(__always)
    mutating func expire(now: Int64, statistics: inout DecodeStatistics) {
        // Per frame: almost always no fragment is due (the deadline is `max` when none is held).
        guard now >= nextDeadline, !slotByKey.isEmpty else { return }
        expireDue(now: now, statistics: &statistics)
    }

    private mutating func expireDue(now: Int64, statistics: inout DecodeStatistics) {
        var earliest = Int64.max
        for index in slots.indices where slots[index].inUse {
            let deadline = deadline(of: slots[index])
            if now >= deadline {
                discard(index)
                statistics.datagramsExpired += 1
            } else {
                earliest = min(earliest, deadline)
            }
        }
        nextDeadline = earliest
        syncGauges(&statistics)
    }

    // MARK: - Slots

    private mutating func allocate(key: FragmentKey, now: Int64) -> Int {
        let index: Int
        if let free = freeSlots.popLast() {
            index = free
        } else {
            slots.append(Slot())
            index = slots.count - 1
        }
        slots[index].key = key
        slots[index].inUse = true
        slots[index].firstSeen = now
        slots[index].order = nextOrder
        slots[index].totalLength = -1
        slots[index].nextHeader = 0
        slots[index].fragments = 0
        nextOrder &+= 1
        slotByKey[key] = index
        nextDeadline = min(nextDeadline, deadline(of: slots[index]))
        return index
    }

    private mutating func discard(_ index: Int) {
        guard slots[index].inUse else { return }
        slotByKey.removeValue(forKey: slots[index].key)
        bytesHeld -= slots[index].buffer.count
        if slots[index].buffer.capacity > Self.retainedCapacity {
            slots[index].buffer = []
        } else {
            slots[index].buffer.removeAll(keepingCapacity: true)
        }
        slots[index].covered.removeAll(keepingCapacity: true)
        slots[index].inUse = false
        freeSlots.append(index)
    }

    private mutating func drop(_ index: Int, _ reason: WireError.Reason, _ statistics: inout DecodeStatistics) -> Outcome {
        discard(index)
        statistics.fragmentsDropped += 1
        return .dropped(reason)
    }

    private func oldest(except excluded: Int) -> Int? {
        var best: Int?
        for index in slots.indices where slots[index].inUse && index != excluded {
            if let current = best, slots[current].order <= slots[index].order { continue }
            best = index
        }
        return best
    }

    private func deadline(of slot: Slot) -> Int64 {
        let (sum, overflow) = slot.firstSeen.addingReportingOverflow(options.fragmentTimeoutNanoseconds)
        return overflow ? Int64.max : sum
    }

    private func syncGauges(_ statistics: inout DecodeStatistics) {
        statistics.fragmentBytesHeld = bytesHeld
        statistics.fragmentDatagramsInProgress = slotByKey.count
        statistics.peakFragmentBytesHeld = max(statistics.peakFragmentBytesHeld, bytesHeld)
    }

    // MARK: - Coverage

    /// Copies the bytes of `data` not yet received; returns true when some were (overlap).
    private mutating func copyUncovered(_ data: UnsafeRawBufferPointer, at offset: Int, into slot: Int) -> Bool {
        let end = offset + data.count
        var cursor = offset
        var overlapped = false
        var rangeIndex = 0
        while rangeIndex < slots[slot].covered.count {
            let range = slots[slot].covered[rangeIndex]
            rangeIndex += 1
            if range.upperBound <= cursor { continue }
            if range.lowerBound >= end { break }
            overlapped = true
            if range.lowerBound > cursor { copy(data, from: cursor - offset, count: range.lowerBound - cursor, to: cursor, slot) }
            cursor = max(cursor, range.upperBound)
            if cursor >= end { break }
        }
        if cursor < end { copy(data, from: cursor - offset, count: end - cursor, to: cursor, slot) }
        return overlapped
    }

    private mutating func copy(_ data: UnsafeRawBufferPointer, from source: Int, count: Int, to destination: Int, _ slot: Int) {
        slots[slot].buffer.withUnsafeMutableBytes { buffer in
            guard let target = buffer.baseAddress, let origin = data.baseAddress else { return }
            (target + destination).copyMemory(from: origin + source, byteCount: count)
        }
    }

    private mutating func insertCovered(_ range: Range<Int>, into slot: Int) {
        guard !range.isEmpty else { return }
        var position = 0
        while position < slots[slot].covered.count, slots[slot].covered[position].lowerBound <= range.lowerBound {
            position += 1
        }
        slots[slot].covered.insert(range, at: position)
        // Merge overlapping or touching neighbours in place.
        var write = 0
        for read in slots[slot].covered.indices {
            let current = slots[slot].covered[read]
            if write > 0, current.lowerBound <= slots[slot].covered[write - 1].upperBound {
                let previous = slots[slot].covered[write - 1]
                slots[slot].covered[write - 1] = previous.lowerBound..<max(previous.upperBound, current.upperBound)
            } else {
                slots[slot].covered[write] = current
                write += 1
            }
        }
        slots[slot].covered.removeLast(slots[slot].covered.count - write)
    }
}
