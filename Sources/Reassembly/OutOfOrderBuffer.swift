/// A run of stream bytes that arrived ahead of a hole, copied out of its
/// frame, with the segment that first carried it. A piece with no bytes
/// stands for payload the snapshot length cut off.
struct PendingPiece {
    var offset: UInt64
    var bytes: [UInt8]
    /// Length of a cut (snaplen) piece; 0 for a piece with bytes.
    var missing: UInt64
    var segment: SegmentInfo

    var length: UInt64 { bytes.isEmpty ? missing : UInt64(bytes.count) }
    var end: UInt64 { offset &+ length }
}

/// Out-of-order pieces of one direction: sorted by offset, never
/// overlapping (the first-seen bytes of every offset win).
struct OutOfOrderBuffer {
    private(set) var pieces: [PendingPiece] = []
    /// Payload bytes held (cut pieces hold none).
    private(set) var storedBytes = 0

    var isEmpty: Bool { pieces.isEmpty }
    var count: Int { pieces.count }
    var first: PendingPiece? { pieces.first }

    /// Index of the first piece ending after `offset`.
    private func firstIndex(endingAfter offset: UInt64) -> Int {
        var low = 0
        var high = pieces.count
        while low < high {
            let mid = (low + high) / 2
            if pieces[mid].end <= offset { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Payload bytes of `[start, capturedEnd)` that no piece covers yet: what storing it would cost.
    func uncoveredBytes(start: UInt64, capturedEnd: UInt64) -> Int {
        var cursor = start
        var uncovered: UInt64 = 0
        var index = firstIndex(endingAfter: start)
        while cursor < capturedEnd {
            if index < pieces.count, pieces[index].offset <= cursor {
                cursor = max(cursor, pieces[index].end)
                index += 1
            } else {
                let upto = min(capturedEnd, index < pieces.count ? pieces[index].offset : capturedEnd)
                uncovered += upto - cursor
                cursor = upto
            }
        }
        return Int(clamping: uncovered)
    }

    /// Stores the uncovered parts of a segment's stream range `[start, end)`;
    /// `bytes` holds its captured part `[start, start+bytes.count)`, the rest
    /// was cut by the snapshot length. Calls `onOverlap(from, to, compared, differs)`
    /// for each range already held.
    mutating func insert(
        start: UInt64, end: UInt64, bytes: UnsafeRawBufferPointer, segment: SegmentInfo,
        onOverlap: (UInt64, UInt64, UInt64, Bool) -> Void
    ) {
        let capturedEnd = start &+ UInt64(bytes.count)
        var cursor = start
        var index = firstIndex(endingAfter: start)
        while cursor < end {
            if index < pieces.count, pieces[index].offset <= cursor {
                let overlapEnd = min(end, pieces[index].end)
                let (compared, differs) = Self.compare(
                    bytes, segmentStart: start, piece: pieces[index], from: cursor, to: overlapEnd)
                onOverlap(cursor, overlapEnd, compared, differs)
                cursor = overlapEnd
                index += 1
            } else {
                let upto = min(end, index < pieces.count ? pieces[index].offset : end)
                if cursor < capturedEnd {
                    let stop = min(upto, capturedEnd)
                    let slice = UnsafeRawBufferPointer(rebasing: bytes[Int(cursor - start)..<Int(stop - start)])
                    pieces.insert(PendingPiece(offset: cursor, bytes: Array(slice), missing: 0, segment: segment), at: index)
                    storedBytes += slice.count
                    cursor = stop
                } else {
                    pieces.insert(PendingPiece(offset: cursor, bytes: [], missing: upto - cursor, segment: segment), at: index)
                    cursor = upto
                }
                index += 1
            }
        }
    }

    /// Compares a segment's captured bytes with a piece over `[from, to)`.
    static func compare(
        _ bytes: UnsafeRawBufferPointer, segmentStart: UInt64, piece: PendingPiece, from: UInt64, to: UInt64
    ) -> (compared: UInt64, differs: Bool) {
        let capturedEnd = segmentStart &+ UInt64(bytes.count)
        let stop = min(to, capturedEnd, piece.bytes.isEmpty ? from : piece.end)
        guard stop > from else { return (0, false) }
        var differs = false
        piece.bytes.withUnsafeBytes { held in
            for offset in from..<stop where held[Int(offset - piece.offset)] != bytes[Int(offset - segmentStart)] {
                differs = true
                break
            }
        }
        return (stop - from, differs)
    }

    /// Drops the first `count` pieces (already released).
    mutating func removeFirst(_ count: Int) {
        guard count > 0 else { return }
        for index in 0..<count { storedBytes -= pieces[index].bytes.count }
        pieces.removeFirst(count)
    }

    /// Drops everything.
    mutating func removeAll() {
        self = OutOfOrderBuffer()
    }
}
