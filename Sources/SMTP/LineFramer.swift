/// How a command or reply line ended.
enum LineEnding: Sendable, Hashable {
    case crlf
    /// `\n` without `\r` before it.
    case bareLF
}

/// A complete line found by `LineFramer`. Its content is read with `LineFramer.withContent`.
struct FramedLine {
    /// Stream offset of the line's first byte.
    var offset: UInt64
    /// Bytes in the line including its ending.
    var length: Int
    var ending: LineEnding
    /// The line was longer than the limit; the content is its first `maxLineLength` bytes.
    var truncated: Bool
    /// The line held a `\r` not followed by `\n`.
    var bareCR: Bool
    /// Index range of the content in the current chunk, when it was not buffered.
    fileprivate var direct: Range<Int>?

    /// The content lies in the chunk (nothing buffered): reading it with
    /// `LineFramer.withContent` changes nothing, so it may be read more than once.
    var isInPlace: Bool { direct != nil }
}

/// Resumable line splitter for one side. It scans each byte once: a line that completes
/// inside one chunk is handed out in place; a partial line at a chunk end is copied into a
/// buffer bounded by `maxLineLength` (the excess is dropped and the line marked truncated).
struct LineFramer {
    private var buffer: [UInt8] = []
    /// Offset of the partial line's first byte; meaningful when `partialLength > 0`.
    private var partialOffset: UInt64 = 0
    /// Bytes of the partial line seen so far (buffered or dropped).
    private var partialLength: Int = 0
    private var partialBareCR = false
    /// The partial line's last byte was `\r`.
    private var lastWasCR = false

    /// Bytes of an unfinished line; 0 at a line boundary.
    var pendingLength: Int { partialLength }
    var pendingOffset: UInt64 { partialOffset }
    var pendingTruncated: Bool { partialLength > buffer.count }

    /// Forgets any partial line (after a gap or a mode change).
    mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        partialLength = 0
        partialBareCR = false
        lastWasCR = false
    }

    /// Finds the next line in `bytes[start...]` (`bytes[0]` is at stream offset `base`).
    /// Returns the line and the index just past it, or nil after taking the rest as a partial line.
    mutating func next(
        _ bytes: UnsafeRawBufferPointer, from start: Int, base: UInt64, maxLength: Int
    ) -> (line: FramedLine, end: Int)? {
        let n = bytes.count
        var i = start
        var bareCR = partialBareCR
        var prevCR = lastWasCR
        // Up to the first `\r` or `\n` no byte is `\r`; from there on byte by byte.
        let q = LineBreakSearch.first(in: bytes, from: start)
        if q > start {
            if prevCR { bareCR = true }
            prevCR = false
            i = q
        }
        while i < n {
            let b = bytes[i]
            if b == 0x0A { break }
            if prevCR { bareCR = true }
            prevCR = b == 0x0D
            i += 1
        }
        if i == n {
            // No line end: keep the partial line, bounded.
            if partialLength == 0 {
                partialOffset = base &+ UInt64(start)
                // A buffered line whose content nobody asked for is gone.
                if !buffer.isEmpty { buffer.removeAll(keepingCapacity: true) }
            }
            let room = max(0, maxLength &+ 1 &- buffer.count)  // +1: a trailing \r may be the ending's
            let take = min(room, n - start)
            if take > 0 { buffer.append(contentsOf: bytes[start..<(start + take)]) }
            partialLength &+= n - start
            partialBareCR = bareCR
            lastWasCR = prevCR
            return nil
        }
        let end = i + 1
        var line: FramedLine
        if partialLength == 0 {
            let contentEnd = prevCR ? i - 1 : i
            let total = end - start
            let kept = min(contentEnd - start, maxLength)
            line = FramedLine(
                offset: base &+ UInt64(start), length: total, ending: prevCR ? .crlf : .bareLF,
                truncated: contentEnd - start > maxLength, bareCR: bareCR, direct: start..<(start + kept))
        } else {
            let room = max(0, maxLength &+ 1 &- buffer.count)
            let take = min(room, i - start)
            if take > 0 { buffer.append(contentsOf: bytes[start..<(start + take)]) }
            let total = partialLength &+ (end - start)
            let contentLength = total &- (prevCR ? 2 : 1)
            if prevCR, buffer.count > contentLength { buffer.removeLast(buffer.count - contentLength) }
            if buffer.count > maxLength { buffer.removeLast(buffer.count - maxLength) }
            line = FramedLine(
                offset: partialOffset, length: total, ending: prevCR ? .crlf : .bareLF,
                truncated: contentLength > maxLength, bareCR: bareCR, direct: nil)
        }
        partialLength = 0
        partialBareCR = false
        lastWasCR = false
        return (line, end)
    }

    /// The line `bytes[start..<end]` (`bytes[0]` at stream offset `base`) that ends with
    /// `\r\n` at `end - 2` and holds no other `\r` or `\n`, no longer than the limit, as
    /// ``next(_:from:base:maxLength:)`` hands it out when it starts at a line boundary: the
    /// caller found it, and the framer (at a boundary) stays as it is.
    @inline(__always)
    static func wholeLine(from start: Int, to end: Int, base: UInt64) -> FramedLine {
        FramedLine(
            offset: base &+ UInt64(start), length: end &- start, ending: .crlf, truncated: false, bareCR: false,
            direct: start..<(end &- 2))
    }

    /// The content of a line handed out in place (``FramedLine/isInPlace``), read without a
    /// call through a closure; nil for a buffered line.
    @inline(__always)
    static func inPlaceContent(of line: FramedLine, in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard let range = line.direct, range.lowerBound >= 0, range.upperBound <= bytes.count else { return nil }
        return UnsafeRawBufferPointer(rebasing: bytes[range])
    }

    /// Calls `body` with the line's content (line ending excluded, at most `maxLength` bytes).
    /// Call it before the next `next` or `reset`.
    mutating func withContent<R>(
        _ line: FramedLine, in bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R
    ) -> R {
        if let range = line.direct {
            // Nothing buffered: a line handed out in place leaves the buffer empty.
            return body(UnsafeRawBufferPointer(rebasing: bytes[range]))
        }
        defer { buffer.removeAll(keepingCapacity: true) }
        return buffer.withUnsafeBytes { body($0) }
    }
}

/// Finds `\r` and `\n` bytes 16 at a time with SIMD compares (for `LineFramer`).
enum LineBreakSearch {
    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A

    /// Bit 7 of byte k set where byte k of the little-endian `word` is the first `\r` or `\n`
    /// (and maybe on bytes after it, never before it): a byte equal to a pattern byte is a
    /// zero byte of the word XORed with the pattern, and the lowest zero byte of a word is
    /// found exactly by the borrow trick.
    @inline(__always)
    static func wordBreaks(_ word: UInt64) -> UInt64 {
        let w = UInt64(littleEndian: word)
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let xcr = w ^ (ones &* UInt64(cr))
        let xlf = w ^ (ones &* UInt64(lf))
        return ((xcr &- ones) & ~xcr | (xlf &- ones) & ~xlf) & highs
    }

    /// The 16 bytes at `p` as lanes: byte k of the block is byte k % 8 (little-endian) of `low`
    /// (k < 8) or `high`, 0xFF where it is `\r` or `\n`, else 0.
    @inline(__always)
    static func lanes(_ p: UnsafeRawPointer) -> (low: UInt64, high: UInt64) {
        // Spelled with concrete types so that `.==` is the stdlib's vector compare, not its
        // generic lane-by-lane loop.
        let v = p.loadUnaligned(as: SIMD16<UInt8>.self)
        let isCR: SIMDMask<SIMD16<Int8>> = v .== SIMD16<UInt8>(repeating: cr)
        let isLF: SIMDMask<SIMD16<Int8>> = v .== SIMD16<UInt8>(repeating: lf)
        let halves = unsafeBitCast(isCR .| isLF, to: SIMD2<UInt64>.self)
        return (UInt64(littleEndian: halves[0]), UInt64(littleEndian: halves[1]))
    }

    /// Index in the block of its first line-break byte; `lanes` must have one.
    @inline(__always)
    static func lane(_ lanes: (low: UInt64, high: UInt64)) -> Int {
        firstBit(lanes) &>> 3
    }

    /// The lowest set bit of the 128 bits `high:low`, or 128. Without branches: where the break
    /// falls in a block is random, and a mispredicted branch costs more than these few steps.
    @inline(__always)
    static func firstBit(_ lanes: (low: UInt64, high: UInt64)) -> Int {
        let low = lanes.low.trailingZeroBitCount  // 64 when `low` is 0
        return low &+ (lanes.high.trailingZeroBitCount & (0 &- (low &>> 6)))
    }

    /// Index of the first `\r` or `\n` in `bytes[start...]`, or `bytes.count`.
    @inline(__always)
    static func first(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        let n = bytes.count
        var j = start
        // `j` stays in 0...n: the index arithmetic cannot overflow.
        if let base = bytes.baseAddress, n >= 8 {
            if n >= 16 {
                while j <= n &- 16 {
                    let lanes = lanes(base + j)
                    if lanes.low | lanes.high != 0 { return j &+ lane(lanes) }
                    j &+= 16
                }
            }
            // The last bytes (most lines and replies end a chunk): one word at a time, the
            // last word overlapping bytes already read, which hold no break.
            while j < n {
                let at = min(j, n &- 8)
                let breaks = wordBreaks(base.loadUnaligned(fromByteOffset: at, as: UInt64.self)) &>> UInt64((j &- at) &* 8)
                if breaks != 0 { return j &+ breaks.trailingZeroBitCount &>> 3 }
                j = at &+ 8
            }
            return n
        }
        while j < n {
            let b = bytes[j]
            if b == cr || b == lf { return j }
            j &+= 1
        }
        return n
    }
}
