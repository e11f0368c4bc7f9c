/// The last 64 bytes delivered in one direction, kept inline (no heap), so a
/// retransmission of recently delivered data can still be compared byte for
/// byte. Older repeats cannot be compared and are counted as such.
struct TailWindow {
    static let capacity = 64
    private var ring: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// First stream offset whose byte is held (bytes before a gap are not).
    private var validFrom: UInt64 = 0
    /// The byte of stream offset `o` is at ring position `(o + shift) & 63`: a whole-ring
    /// replacement copies the last 64 bytes straight (position 0 holds the oldest) and sets
    /// the shift, instead of rotating every word into offset order.
    private var shift: UInt64 = 0

    /// Records `bytes` delivered at stream `offset`. Per delivered segment: a segment of 64
    /// bytes or more (body data, nearly all of them) replaces the whole ring, inline.
    @inline(__always)
    mutating func record(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) {
        guard bytes.count >= Self.capacity, let source = bytes.baseAddress else {
            recordRuns(bytes, at: offset)
            return
        }
        replaceRing(withLast: source + (bytes.count - Self.capacity), endingAt: offset &+ UInt64(bytes.count))
    }

    /// The ring holds the 64 bytes at `last`, the stream bytes before `end`, in order: byte `i`
    /// at position `i`, so the shift makes `end - 64 + i` land there. Eight unaligned loads and
    /// stores (~20 instructions; rotating each word into offset order took ~65).
    @inline(__always)
    private mutating func replaceRing(withLast last: UnsafeRawPointer, endingAt end: UInt64) {
        shift = (0 &- end) & UInt64(Self.capacity - 1)
        withUnsafeMutableBytes(of: &ring) { ring in
            guard let target = ring.baseAddress else { return }
            for word in 0..<Self.capacity / 8 {
                target.storeBytes(
                    of: last.loadUnaligned(fromByteOffset: 8 &* word, as: UInt64.self), toByteOffset: 8 &* word, as: UInt64.self)
            }
        }
    }

    /// Records `bytes` delivered at stream `offset` as one or two runs into the ring (any length).
    mutating func recordRuns(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) {
        let count = bytes.count
        guard count > 0, let source = bytes.baseAddress else { return }
        // Only the last `capacity` bytes matter; they land in at most two runs of the ring
        // (a byte loop here cost ~400 instructions per delivered segment).
        let first = max(0, count - Self.capacity)
        let length = count - first
        let position = Int((offset &+ UInt64(first) &+ shift) & UInt64(Self.capacity - 1))
        let head = min(length, Self.capacity - position)
        withUnsafeMutableBytes(of: &ring) { ring in
            guard let target = ring.baseAddress else { return }
            (target + position).copyMemory(from: source + first, byteCount: head)
            if head < length { target.copyMemory(from: source + first + head, byteCount: length - head) }
        }
    }

    /// The ring's 64 bytes by stream offset: position `p` holds the last byte delivered at an
    /// offset `o` with `o % 64 == p` (tests compare the two ways of recording).
    var heldBytes: [UInt8] {
        withUnsafeBytes(of: ring) { ring in
            (0..<Self.capacity).map { ring[Int((UInt64($0) &+ shift) & UInt64(Self.capacity - 1))] }
        }
    }

    /// Forgets everything before `offset` (a gap was skipped).
    mutating func invalidate(before offset: UInt64) {
        validFrom = offset
    }

    /// Compares `bytes` (stream bytes at `offset`, all before `deliveredEnd`)
    /// with the kept copies of the last `keep` delivered bytes.
    func compare(_ bytes: UnsafeRawBufferPointer, at offset: UInt64, deliveredEnd: UInt64, keep: Int) -> (compared: UInt64, differs: Bool) {
        let kept = UInt64(min(max(keep, 0), Self.capacity))
        let windowStart = max(validFrom, deliveredEnd >= kept ? deliveredEnd - kept : 0)
        var compared: UInt64 = 0
        var differs = false
        withUnsafeBytes(of: ring) { ring in
            for index in 0..<bytes.count {
                let streamOffset = offset &+ UInt64(index)
                guard streamOffset >= windowStart, streamOffset < deliveredEnd else { continue }
                compared += 1
                if ring[Int((streamOffset &+ shift) & UInt64(Self.capacity - 1))] != bytes[index] { differs = true }
            }
        }
        return (compared, differs)
    }
}
