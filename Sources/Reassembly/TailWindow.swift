/// The last 64 bytes delivered in one direction, kept inline (no heap), so a
/// retransmission of recently delivered data can still be compared byte for
/// byte. Older repeats cannot be compared and are counted as such.
struct TailWindow {
    static let capacity = 64
    private var ring: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// First stream offset whose byte is held (bytes before a gap are not).
    private var validFrom: UInt64 = 0

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

    /// The ring holds the 64 bytes at `last`, the stream bytes before `end`: byte `i` goes to
    /// `(end + i) & 63` (as `end - 64 + i`). The bytes are written twice in a row to a scratch
    /// buffer, in which the rotated ring is one 64-byte run: four 16-byte loads and stores each
    /// way instead of a call and two `memcpy` calls (~65 instructions).
    @inline(__always)
    private mutating func replaceRing(withLast last: UnsafeRawPointer, endingAt end: UInt64) {
        let start = Self.capacity - Int(end & UInt64(Self.capacity - 1))
        withUnsafeTemporaryAllocation(byteCount: 2 * Self.capacity, alignment: 16) { scratch in
            guard let doubled = scratch.baseAddress else { return }
            for chunk in stride(from: 0, to: Self.capacity, by: 16) {
                let value = last.loadUnaligned(fromByteOffset: chunk, as: SIMD16<UInt8>.self)
                doubled.storeBytes(of: value, toByteOffset: chunk, as: SIMD16<UInt8>.self)
                doubled.storeBytes(of: value, toByteOffset: chunk + Self.capacity, as: SIMD16<UInt8>.self)
            }
            withUnsafeMutableBytes(of: &ring) { ring in
                guard let target = ring.baseAddress else { return }
                for chunk in stride(from: 0, to: Self.capacity, by: 16) {
                    let value = UnsafeRawPointer(doubled).loadUnaligned(fromByteOffset: start + chunk, as: SIMD16<UInt8>.self)
                    target.storeBytes(of: value, toByteOffset: chunk, as: SIMD16<UInt8>.self)
                }
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
        let position = Int((offset &+ UInt64(first)) & UInt64(Self.capacity - 1))
        let head = min(length, Self.capacity - position)
        withUnsafeMutableBytes(of: &ring) { ring in
            guard let target = ring.baseAddress else { return }
            (target + position).copyMemory(from: source + first, byteCount: head)
            if head < length { target.copyMemory(from: source + first + head, byteCount: length - head) }
        }
    }

    /// The ring's 64 bytes as held (tests compare the two ways of recording).
    var heldBytes: [UInt8] { withUnsafeBytes(of: ring) { Array($0) } }

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
