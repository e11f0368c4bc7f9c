import CSHA1

/// SHA-1 (FIPS 180-4 §6.1), for the Community ID's hash input: written on the stack with no
/// allocation (the crypto library's hasher allocates a context for every flow). Not for
/// security: Community ID uses SHA-1 as a fixed, published mixing function.
///
/// On a CPU with the SHA extensions the blocks go through them (`CSHA1`, one flow's hash in
/// ~1/10 of the portable rounds' cycles); elsewhere through the portable rounds below.
enum SHA1 {
    /// Whether this CPU has the SHA extensions (detected once).
    static let hasHardware = smtpscope_sha1_has_shani() != 0

    /// Writes the 20-byte digest of `input` at `digest`; `hardware` (for tests) picks the
    /// SHA-extension rounds or the portable ones (the first only where ``hasHardware``).
    static func hash(_ input: UnsafeRawBufferPointer, into digest: UnsafeMutablePointer<UInt8>, hardware: Bool = SHA1.hasHardware) {
        var state: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
        let hardware = hardware && hasHardware
        if input.count <= singleBlockLimit {
            hashOneBlock(input, &state, hardware)
        } else {
            hashBlocks(input, &state, hardware)
        }
        put(state.0, at: digest)
        put(state.1, at: digest + 4)
        put(state.2, at: digest + 8)
        put(state.3, at: digest + 12)
        put(state.4, at: digest + 16)
    }

    /// The longest input whose padding fits in its one block (a Community ID input is 16
    /// bytes for IPv4, 40 for IPv6).
    static var singleBlockLimit: Int { 55 }

    /// An input of at most ``singleBlockLimit`` bytes: padded in place in the first 64 bytes of
    /// the schedule (``compress`` reads each of the block's words before writing it back as a
    /// schedule word), so one stack buffer and no byte loops.
    private static func hashOneBlock(_ input: UnsafeRawBufferPointer, _ state: inout (UInt32, UInt32, UInt32, UInt32, UInt32), _ hardware: Bool) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { schedule in
            guard let words = schedule.baseAddress else { return }
            words.initialize(repeating: 0, count: 16)
            let block = UnsafeMutableRawPointer(words)
            let count = input.count
            if let base = input.baseAddress { block.copyMemory(from: base, byteCount: count) }
            block.storeBytes(of: 0x80, toByteOffset: count, as: UInt8.self)
            block.storeBytes(of: (UInt64(count) &* 8).bigEndian, toByteOffset: 56, as: UInt64.self)
            compress(UnsafeRawPointer(block), words, &state, hardware)
        }
    }

    /// Any input: its whole blocks read where they are, the rest padded in a tail buffer.
    private static func hashBlocks(_ input: UnsafeRawBufferPointer, _ state: inout (UInt32, UInt32, UInt32, UInt32, UInt32), _ hardware: Bool) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { schedule in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { tail in
                guard let words = schedule.baseAddress, let last = tail.baseAddress else { return }
                let count = input.count
                let whole = count / 64
                if let base = input.baseAddress {
                    for block in 0..<whole { compress(UnsafeRawPointer(base + block * 64), words, &state, hardware) }
                }
                // The rest, a 1 bit, zeros, then the length in bits (big-endian) to end a block.
                let rest = count - whole * 64
                if rest > 0, let base = input.baseAddress {
                    last.update(from: base.advanced(by: whole * 64).assumingMemoryBound(to: UInt8.self), count: rest)
                }
                let blocks = rest + 9 <= 64 ? 1 : 2
                last[rest] = 0x80
                for index in (rest + 1)..<(blocks * 64) { last[index] = 0 }
                let bits = UInt64(count) &* 8
                for index in 0..<8 { last[blocks * 64 - 1 - index] = UInt8(truncatingIfNeeded: bits >> UInt64(8 * index)) }
                for block in 0..<blocks { compress(UnsafeRawPointer(last + block * 64), words, &state, hardware) }
            }
        }
    }

    private static func put(_ word: UInt32, at out: UnsafeMutablePointer<UInt8>) {
        out[0] = UInt8(truncatingIfNeeded: word >> 24)
        out[1] = UInt8(truncatingIfNeeded: word >> 16)
        out[2] = UInt8(truncatingIfNeeded: word >> 8)
        out[3] = UInt8(truncatingIfNeeded: word)
    }

    @inline(__always)
    private static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { x << n | x >> (32 - n) }

    /// One 64-byte block into `state` (`w`: room for the 80-word schedule). The rounds are
    /// written five at a time with the variables' roles rotated (no moves between rounds)
    /// and one loop per round function (no per-round branch): about half the instructions
    /// of one loop over all 80 rounds.
    private static func compress(
        _ block: UnsafeRawPointer, _ w: UnsafeMutablePointer<UInt32>, _ state: inout (UInt32, UInt32, UInt32, UInt32, UInt32),
        _ hardware: Bool
    ) {
        if hardware {
            withUnsafeMutableBytes(of: &state) { words in
                if let base = words.baseAddress { smtpscope_sha1_blocks_shani(base.assumingMemoryBound(to: UInt32.self), block, 1) }
            }
            return
        }
        for t in 0..<16 { w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: t * 4, as: UInt32.self)) }
        for t in 16..<80 { w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1) }
        var (a, b, c, d, e) = state
        var t = 0
        while t < 20 {
            choose(a, &b, c, d, &e, w[t])
            choose(e, &a, b, c, &d, w[t + 1])
            choose(d, &e, a, b, &c, w[t + 2])
            choose(c, &d, e, a, &b, w[t + 3])
            choose(b, &c, d, e, &a, w[t + 4])
            t += 5
        }
        while t < 40 {
            parity(a, &b, c, d, &e, w[t], 0x6ED9_EBA1)
            parity(e, &a, b, c, &d, w[t + 1], 0x6ED9_EBA1)
            parity(d, &e, a, b, &c, w[t + 2], 0x6ED9_EBA1)
            parity(c, &d, e, a, &b, w[t + 3], 0x6ED9_EBA1)
            parity(b, &c, d, e, &a, w[t + 4], 0x6ED9_EBA1)
            t += 5
        }
        while t < 60 {
            majority(a, &b, c, d, &e, w[t])
            majority(e, &a, b, c, &d, w[t + 1])
            majority(d, &e, a, b, &c, w[t + 2])
            majority(c, &d, e, a, &b, w[t + 3])
            majority(b, &c, d, e, &a, w[t + 4])
            t += 5
        }
        while t < 80 {
            parity(a, &b, c, d, &e, w[t], 0xCA62_C1D6)
            parity(e, &a, b, c, &d, w[t + 1], 0xCA62_C1D6)
            parity(d, &e, a, b, &c, w[t + 2], 0xCA62_C1D6)
            parity(c, &d, e, a, &b, w[t + 3], 0xCA62_C1D6)
            parity(b, &c, d, e, &a, w[t + 4], 0xCA62_C1D6)
            t += 5
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e)
    }

    // One round each: the new `a` is accumulated into `e` (which the next round reads as its
    // `a`), and `b` is rotated in place (the next round's `c`).

    @inline(__always)
    private static func choose(_ a: UInt32, _ b: inout UInt32, _ c: UInt32, _ d: UInt32, _ e: inout UInt32, _ w: UInt32) {
        e = e &+ rotl(a, 5) &+ (d ^ (b & (c ^ d))) &+ 0x5A82_7999 &+ w
        b = rotl(b, 30)
    }

    @inline(__always)
    private static func parity(_ a: UInt32, _ b: inout UInt32, _ c: UInt32, _ d: UInt32, _ e: inout UInt32, _ w: UInt32, _ k: UInt32) {
        e = e &+ rotl(a, 5) &+ (b ^ c ^ d) &+ k &+ w
        b = rotl(b, 30)
    }

    @inline(__always)
    private static func majority(_ a: UInt32, _ b: inout UInt32, _ c: UInt32, _ d: UInt32, _ e: inout UInt32, _ w: UInt32) {
        e = e &+ rotl(a, 5) &+ ((b & c) | (d & (b | c))) &+ 0x8F1B_BCDC &+ w
        b = rotl(b, 30)
    }
}
