/// Streaming XXH64 (seed 0, as published at https://github.com/Cyan4973/xxHash, doc/xxhash_spec.md):
/// a content fingerprint for matching retried messages, not a cryptographic hash.
///
/// Four independent 64-bit lanes take 32-byte stripes (8 bytes per lane and step, so the
/// multiplies of different lanes overlap); bytes that do not yet fill a stripe wait in a
/// 32-byte buffer, so the digest depends only on the bytes, never on how they were split
/// into calls. Words are read little-endian: the value is the same on every machine. No
/// allocation.
struct Fingerprint: Sendable {
    private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    private var v1: UInt64 = Fingerprint.p1 &+ Fingerprint.p2
    private var v2: UInt64 = Fingerprint.p2
    private var v3: UInt64 = 0
    private var v4: UInt64 = 0 &- Fingerprint.p1
    /// Bytes added so far; `total % 32` of them wait in `buffer`.
    private var total: UInt64 = 0
    private var buffer: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    @inline(__always)
    private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        let a = acc &+ input &* p2
        return ((a << 31) | (a >> 33)) &* p1
    }

    private static func merge(_ h: UInt64, _ lane: UInt64) -> UInt64 {
        (h ^ round(0, lane)) &* p1 &+ p4
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    mutating func add(_ byte: UInt8) {
        let fill = Int(total & 31)
        total &+= 1
        withUnsafeMutableBytes(of: &buffer) { $0[fill] = byte }
        if fill == 31 { consumeBufferOutOfLine() }
    }

    /// Adds `bytes[range]` (a range inside `bytes`).
    mutating func add(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        guard let base = bytes.baseAddress, !range.isEmpty, range.lowerBound >= 0, range.upperBound <= bytes.count
        else { return }
        // `p` and `count` stay inside `bytes[range]`: the arithmetic cannot overflow.
        var p = base + range.lowerBound
        var count = range.count
        let fill = Int(truncatingIfNeeded: total & 31)
        total &+= UInt64(truncatingIfNeeded: count)
        if fill &+ count < 32 {
            // Still no full stripe: the bytes wait with the others.
            withUnsafeMutableBytes(of: &buffer) { dst in
                dst.baseAddress.map { Self.copySmall(from: p, to: $0 + fill, count: count) }
            }
            return
        }
        // The lanes stay in registers from the buffered stripe to the last full one.
        var a = v1, b = v2, c = v3, d = v4
        if fill > 0 {
            let take = 32 &- fill
            withUnsafeMutableBytes(of: &buffer) { dst in
                dst.baseAddress.map { Self.copySmall(from: p, to: $0 + fill, count: take) }
            }
            a = Self.round(a, UInt64(littleEndian: buffer.0))
            b = Self.round(b, UInt64(littleEndian: buffer.1))
            c = Self.round(c, UInt64(littleEndian: buffer.2))
            d = Self.round(d, UInt64(littleEndian: buffer.3))
            p += take
            count &-= take
        }
        // Four stripes per turn: fewer loop steps per byte, same rounds in the same order.
        for _ in 0..<(count &>> 7) {
            Self.stripe(&a, &b, &c, &d, p)
            Self.stripe(&a, &b, &c, &d, p + 32)
            Self.stripe(&a, &b, &c, &d, p + 64)
            Self.stripe(&a, &b, &c, &d, p + 96)
            p += 128
        }
        count &= 127
        // Up to three more, straight (a loop here costs register moves per stripe).
        if count >= 64 {
            Self.stripe(&a, &b, &c, &d, p)
            Self.stripe(&a, &b, &c, &d, p + 32)
            p += 64
            count &-= 64
        }
        if count >= 32 {
            Self.stripe(&a, &b, &c, &d, p)
            p += 32
            count &-= 32
        }
        v1 = a
        v2 = b
        v3 = c
        v4 = d
        if count > 0 {
            withUnsafeMutableBytes(of: &buffer) { dst in
                dst.baseAddress.map { Self.copySmall(from: p, to: $0, count: count) }
            }
        }
    }

    /// One 32-byte stripe at `p` into the four lanes.
    @inline(__always)
    private static func stripe(
        _ a: inout UInt64, _ b: inout UInt64, _ c: inout UInt64, _ d: inout UInt64, _ p: UnsafeRawPointer
    ) {
        a = round(a, word(p, 0))
        b = round(b, word(p, 8))
        c = round(c, word(p, 16))
        d = round(d, word(p, 24))
    }

    /// Copies `count` (1...32) bytes with a few fixed-size moves (two that overlap when `count`
    /// is not a power of two) instead of a `memmove` call: a stripe's tail is copied once per
    /// call, and calls come once per line-break run of a chunk.
    @inline(__always)
    private static func copySmall(from src: UnsafeRawPointer, to dst: UnsafeMutableRawPointer, count: Int) {
        if count >= 16 {
            let head = src.loadUnaligned(as: SIMD16<UInt8>.self)
            let tail = src.loadUnaligned(fromByteOffset: count &- 16, as: SIMD16<UInt8>.self)
            dst.storeBytes(of: head, as: SIMD16<UInt8>.self)
            dst.storeBytes(of: tail, toByteOffset: count &- 16, as: SIMD16<UInt8>.self)
        } else if count >= 8 {
            let head = src.loadUnaligned(as: UInt64.self)
            let tail = src.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
            dst.storeBytes(of: head, as: UInt64.self)
            dst.storeBytes(of: tail, toByteOffset: count &- 8, as: UInt64.self)
        } else if count >= 4 {
            let head = src.loadUnaligned(as: UInt32.self)
            let tail = src.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self)
            dst.storeBytes(of: head, as: UInt32.self)
            dst.storeBytes(of: tail, toByteOffset: count &- 4, as: UInt32.self)
        } else if count > 0 {
            // 1...3 bytes: first, middle and last (some of them the same byte).
            let first = src.load(as: UInt8.self)
            let middle = src.load(fromByteOffset: count &>> 1, as: UInt8.self)
            let last = src.load(fromByteOffset: count &- 1, as: UInt8.self)
            dst.storeBytes(of: first, as: UInt8.self)
            dst.storeBytes(of: middle, toByteOffset: count &>> 1, as: UInt8.self)
            dst.storeBytes(of: last, toByteOffset: count &- 1, as: UInt8.self)
        }
    }

    /// The little-endian word at `p + offset`.
    @inline(__always)
    private static func word(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(never)  // keeps `add(_: UInt8)` small enough to inline into the scanner's byte path
    private mutating func consumeBufferOutOfLine() { consumeBuffer() }

    @inline(__always)
    private mutating func consumeBuffer() {
        v1 = Self.round(v1, UInt64(littleEndian: buffer.0))
        v2 = Self.round(v2, UInt64(littleEndian: buffer.1))
        v3 = Self.round(v3, UInt64(littleEndian: buffer.2))
        v4 = Self.round(v4, UInt64(littleEndian: buffer.3))
    }

    /// The XXH64 digest of all bytes added so far.
    var value: UInt64 {
        var h: UInt64
        if total >= 32 {
            h = Self.rotl(v1, 1) &+ Self.rotl(v2, 7) &+ Self.rotl(v3, 12) &+ Self.rotl(v4, 18)
            h = Self.merge(h, v1)
            h = Self.merge(h, v2)
            h = Self.merge(h, v3)
            h = Self.merge(h, v4)
        } else {
            h = Self.p5
        }
        h &+= total
        let rest = Int(total & 31)
        withUnsafeBytes(of: buffer) { tail in
            var i = 0
            while i + 8 <= rest {
                h ^= Self.round(0, UInt64(littleEndian: tail.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                h = Self.rotl(h, 27) &* Self.p1 &+ Self.p4
                i += 8
            }
            if i + 4 <= rest {
                h ^= UInt64(UInt32(littleEndian: tail.loadUnaligned(fromByteOffset: i, as: UInt32.self))) &* Self.p1
                h = Self.rotl(h, 23) &* Self.p2 &+ Self.p3
                i += 4
            }
            while i < rest {
                h ^= UInt64(tail[i]) &* Self.p5
                h = Self.rotl(h, 11) &* Self.p1
                i += 1
            }
        }
        h ^= h >> 33
        h &*= Self.p2
        h ^= h >> 29
        h &*= Self.p3
        h ^= h >> 32
        return h
    }

    /// 16 lower-case hex digits of ``value``.
    var hex: String {
        let v = value
        return String(unsafeUninitializedCapacity: 16) { out in
            Self.writeHex(v, into: UnsafeMutableRawBufferPointer(out))
        }
    }

    /// Writes the 16 lower-case hex digits of `value` to the front of `out` (at least 16
    /// bytes); returns 16.
    static func writeHex(_ value: UInt64, into out: UnsafeMutableRawBufferPointer) -> Int {
        for i in 0..<16 {
            let nibble = UInt8(truncatingIfNeeded: value >> UInt64(60 - 4 * i)) & 0xF
            out[i] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
        }
        return 16
    }
}
