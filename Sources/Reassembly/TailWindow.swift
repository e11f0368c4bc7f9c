/// The last 64 bytes delivered in one direction, kept inline (no heap), so a
/// retransmission of recently delivered data can still be compared byte for
/// byte. Older repeats cannot be compared and are counted as such.
struct TailWindow {
    static let capacity = 64
    private var ring: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// First stream offset whose byte is held (bytes before a gap are not).
    private var validFrom: UInt64 = 0

    /// Records `bytes` delivered at stream `offset`.
    mutating func record(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) {
        let count = bytes.count
        guard count > 0, let source = bytes.baseAddress else { return }
        // Only the last `capacity` bytes matter; they land in at most two runs of the ring
        // (a byte loop here cost ~400 instructions per delivered segment).
        let first = max(0, count - Self.capacity)
        let length = count - first
        let position = Int((offset &+ UInt64(first)) & UInt64(Self.capacity - 1))
        let head = min(length, Self.capacity - position)
        withUnsafeMutableBytes(of: &ring) { ring in
            guard let target = ring.baseAddress else { return }
            (target + position).copyMemory(from: source + first, byteCount: head)
            if head < length { target.copyMemory(from: source + first + head, byteCount: length - head) }
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
                if ring[Int(streamOffset & UInt64(Self.capacity - 1))] != bytes[index] { differs = true }
            }
        }
        return (compared, differs)
    }
}
