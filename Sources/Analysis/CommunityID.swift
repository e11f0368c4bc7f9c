import SMTP
import Wire

/// Community ID flow hashing, version 1 (corelight/community-id-spec), for TCP.
public enum CommunityID {
    /// IANA protocol number of TCP.
    public static let tcp: UInt8 = 6

    /// `1:` + base64(SHA-1(seed · smaller endpoint · larger endpoint · proto · 0 · ports)).
    /// The endpoint that is numerically smaller (address, then port) comes first.
    ///
    /// Computed once per flow (as it closes); the hash input is built on the stack and the
    /// text written straight into its `String`: one allocation, the string's own.
    public static func v1(_ a: Endpoint, _ b: Endpoint, proto: UInt8 = tcp, seed: UInt16 = 0) -> String {
        digest(a, b, proto: proto, seed: seed) { hash in base64(hash, prefix: "1:") }
    }

    /// ``v1(_:_:proto:seed:)`` written into `arena` (no string of its own). The text is made
    /// on the stack and copied in: the arena's plain copy is its cheapest way in.
    public static func v1(_ a: Endpoint, _ b: Endpoint, into arena: inout TextArena) -> SMTPText {
        digest(a, b, proto: tcp, seed: 0) { hash in
            let prefix: StaticString = "1:"
            let length = base64Length(hash.count, prefix: prefix)
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length) { out in
                guard let base = out.baseAddress else { return arena.text(UnsafeRawBufferPointer(start: nil, count: 0)) }
                return arena.text(UnsafeRawBufferPointer(start: base, count: writeBase64(hash, prefix: prefix, to: base)))
            }
        }
    }

    /// Calls `body` with the SHA-1 of the flow tuple (valid only during the call).
    private static func digest<R>(_ a: Endpoint, _ b: Endpoint, proto: UInt8, seed: UInt16, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 92) { buffer in
            guard let base = buffer.baseAddress else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
            // Both addresses at fixed places, to compare them; then the input (40 bytes at most)
            // at base + 32, and its SHA-1 at base + 72.
            let order: Int
            if case .v4(let x) = a.address, case .v4(let y) = b.address {
                // Their big-endian bytes compare as the numbers do.
                order = x < y ? -1 : (x == y ? 0 : 1)
            } else {
                let aCount = a.address.writeBytes(to: base)
                let bCount = b.address.writeBytes(to: base + 16)
                order = compare(UnsafeBufferPointer(start: base, count: aCount), UnsafeBufferPointer(start: base + 16, count: bCount))
            }
            let aFirst = order < 0 || (order == 0 && a.port <= b.port)
            let (first, second) = aFirst ? (a, b) : (b, a)
            let input = base + 32
            var at = input
            func put(_ byte: UInt8) {
                at.pointee = byte
                at += 1
            }
            put(UInt8(truncatingIfNeeded: seed >> 8))
            put(UInt8(truncatingIfNeeded: seed))
            at += first.address.writeBytes(to: at)
            at += second.address.writeBytes(to: at)
            put(proto)
            put(0)
            put(UInt8(truncatingIfNeeded: first.port >> 8))
            put(UInt8(truncatingIfNeeded: first.port))
            put(UInt8(truncatingIfNeeded: second.port >> 8))
            put(UInt8(truncatingIfNeeded: second.port))
            let digest = base + 72
            SHA1.hash(UnsafeRawBufferPointer(start: input, count: at - input), into: digest)
            return body(UnsafeRawBufferPointer(start: digest, count: 20))
        }
    }

    /// -1, 0 or 1 as `a` sorts before, equal to or after `b`, byte by byte (a prefix sorts first).
    private static func compare(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
        for index in 0..<min(a.count, b.count) where a[index] != b[index] { return a[index] < b[index] ? -1 : 1 }
        return a.count < b.count ? -1 : (a.count == b.count ? 0 : 1)
    }

    /// `prefix`, then standard base64 with `=` padding (RFC 4648 §4), built as one string.
    static func base64(_ bytes: UnsafeRawBufferPointer, prefix: StaticString = "") -> String {
        String(unsafeUninitializedCapacity: base64Length(bytes.count, prefix: prefix)) { out in
            guard let base = out.baseAddress else { return 0 }
            return writeBase64(bytes, prefix: prefix, to: base)
        }
    }

    private static func base64Length(_ count: Int, prefix: StaticString) -> Int {
        prefix.utf8CodeUnitCount + (count + 2) / 3 * 4
    }

    /// The two base64 symbols of each 12-bit value, as stored (first symbol at the lower
    /// address): made once per process (8 KiB), never freed.
    // nonisolated(unsafe): written once by its initialiser, then only read.
    nonisolated(unsafe) private static let symbolPairs: UnsafeMutablePointer<UInt16> = {
        let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        let symbols = alphabet.utf8Start
        let table = UnsafeMutablePointer<UInt16>.allocate(capacity: 4096)
        for value in 0..<4096 {
            let pair = UInt16(symbols[value >> 6]) | UInt16(symbols[value & 63]) << 8
            table[value] = pair.littleEndian
        }
        return table
    }()

    /// Writes ``base64(_:prefix:)``'s text at `out` (`base64Length` bytes); returns the count.
    private static func writeBase64(_ bytes: UnsafeRawBufferPointer, prefix: StaticString, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        let symbols = alphabet.utf8Start
        var read = 0
        var written = 0
        for index in 0..<prefix.utf8CodeUnitCount {
            out[written] = prefix.utf8Start[index]
            written += 1
        }
        // Whole groups of 3 bytes (two symbols at a time, from ``symbolPairs``), then the
        // last 1 or 2 with padding.
        if let source = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) {
            let pairs = symbolPairs
            // Wrapping arithmetic: `read` and `written` stay below the counts checked here.
            let whole = bytes.count - bytes.count % 3
            while read < whole {
                let group = Int(source[read]) << 16 | Int(source[read &+ 1]) << 8 | Int(source[read &+ 2])
                let to = UnsafeMutableRawPointer(out + written)
                to.storeBytes(of: pairs[group >> 12], as: UInt16.self)
                to.storeBytes(of: pairs[group & 0xFFF], toByteOffset: 2, as: UInt16.self)
                read &+= 3
                written &+= 4
            }
        }
        while read < bytes.count {
            let remaining = bytes.count - read
            let b0 = UInt32(bytes[read])
            let b1 = remaining > 1 ? UInt32(bytes[read + 1]) : 0
            let b2 = remaining > 2 ? UInt32(bytes[read + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            out[written] = symbols[Int(group >> 18 & 63)]
            out[written + 1] = symbols[Int(group >> 12 & 63)]
            out[written + 2] = remaining > 1 ? symbols[Int(group >> 6 & 63)] : UInt8(ascii: "=")
            out[written + 3] = remaining > 2 ? symbols[Int(group & 63)] : UInt8(ascii: "=")
            read += 3
            written += 4
        }
        return written
    }
}
