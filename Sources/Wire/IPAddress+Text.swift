#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension IPAddress: CustomStringConvertible {
    /// Dotted quad for IPv4; RFC 5952 text for IPv6 (lower-case hex, no leading
    /// zeros, the longest run of two or more zero groups as `::`, the first on a tie,
    /// IPv4-mapped/compatible addresses as `::ffff:a.b.c.d`/`::a.b.c.d`), as tshark prints them.
    public var description: String {
        switch self {
        case .v4(let value):
            return Self.dottedQuad(value)
        case .v6:
            // Up to 15 bytes make a small string: no allocation at all.
            return withTextBytes { (bytes: UnsafeRawBufferPointer) -> String in String(decoding: bytes, as: UTF8.self) }
        }
    }

    /// Calls `body` with ``description``'s UTF-8 bytes, written on the stack (valid only
    /// during the call): the text without a `String` (an IPv6 text is often longer than a
    /// small string, which would be a heap allocation).
    public func withTextBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { out in
            let n: Int
            switch self {
            case .v4(let value): n = Self.writeDottedQuad(value, into: out)
            case .v6(let high, let low): n = Self.writeRFC5952(high: high, low: low, into: out)
            }
            return body(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: out[..<n])))
        }
    }

    /// Parses a dotted quad or an IPv6 text address (`inet_pton` rules); nil when neither.
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
            return
        }
        var bytes: (UInt64, UInt64) = (0, 0)
        let parsed = withUnsafeMutableBytes(of: &bytes) { raw in
            inet_pton(AF_INET6, text, raw.baseAddress)
        }
        guard parsed == 1 else { return nil }
        self = .v6(high: UInt64(bigEndian: bytes.0), low: UInt64(bigEndian: bytes.1))
    }

    /// True for IPv4 addresses.
    public var isIPv4: Bool {
        if case .v4 = self { return true }
        return false
    }

    private static func dottedQuad(_ value: UInt32) -> String {
        "\(value >> 24).\((value >> 16) & 0xff).\((value >> 8) & 0xff).\(value & 0xff)"
    }

    /// ``dottedQuad(_:)`` written into `out` (room for 15 bytes); returns the byte count.
    private static func writeDottedQuad(_ value: UInt32, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var n = 0
        for part in 0..<4 {
            if part > 0 {
                out[n] = UInt8(ascii: ".")
                n += 1
            }
            let byte = UInt8(truncatingIfNeeded: value >> UInt32(24 - 8 * part))
            if byte >= 100 {
                out[n] = 0x30 + byte / 100
                n += 1
            }
            if byte >= 10 {
                out[n] = 0x30 + (byte / 10) % 10
                n += 1
            }
            out[n] = 0x30 + byte % 10
            n += 1
        }
        return n
    }

    /// Written into `out` (room for 40 bytes; the text is at most 39): no per-group strings
    /// or arrays. Returns the byte count.
    private static func writeRFC5952(high: UInt64, low: UInt64, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        func group(_ index: Int) -> UInt16 {
            UInt16(truncatingIfNeeded: (index < 4 ? high : low) >> UInt64(48 - 16 * (index & 3)))
        }
        // Longest run of zero groups, at least two long; first one wins a tie.
        var bestStart = -1
        var bestLength = 1
        var index = 0
        while index < 8 {
            guard group(index) == 0 else { index += 1; continue }
            var end = index
            while end < 8, group(end) == 0 { end += 1 }
            if end - index > bestLength {
                bestStart = index
                bestLength = end - index
            }
            index = end
        }
        // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) in mixed notation,
        // with the same test as BIND's inet_ntop6, which Wireshark follows.
        let mixed = bestStart == 0 && (bestLength == 6 || (bestLength == 5 && group(5) == 0xffff))
        do {
            var n = 0
            func put(_ byte: UInt8) {
                out[n] = byte
                n += 1
            }
            func putHex(_ value: UInt16) {
                var shift = 12
                while shift > 0, (value >> UInt16(shift)) & 0xF == 0 { shift -= 4 }
                while shift >= 0 {
                    let digit = UInt8(truncatingIfNeeded: value >> UInt16(shift)) & 0xF
                    put(digit < 10 ? 0x30 + digit : 0x57 + digit)
                    shift -= 4
                }
            }
            if mixed {
                put(UInt8(ascii: ":"))
                put(UInt8(ascii: ":"))
                if bestLength == 5 {
                    putHex(0xffff)
                    put(UInt8(ascii: ":"))
                }
                for part in 0..<4 {
                    if part > 0 { put(UInt8(ascii: ".")) }
                    let byte = UInt8(truncatingIfNeeded: low >> UInt64(24 - 8 * part))
                    if byte >= 100 { put(0x30 + byte / 100) }
                    if byte >= 10 { put(0x30 + (byte / 10) % 10) }
                    put(0x30 + byte % 10)
                }
            } else {
                var at = 0
                while at < 8 {
                    if at == bestStart {
                        put(UInt8(ascii: ":"))
                        put(UInt8(ascii: ":"))
                        at += bestLength
                        continue
                    }
                    if at > 0, at != bestStart + bestLength { put(UInt8(ascii: ":")) }
                    putHex(group(at))
                    at += 1
                }
            }
            return n
        }
    }
}

extension IPAddress: Comparable {
    /// IPv4 sorts before IPv6; within a family, numeric order of the network-order bytes.
    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let a), .v4(let b)): return a < b
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        case (.v6(let ah, let al), .v6(let bh, let bl)): return ah != bh ? ah < bh : al < bl
        }
    }
}

extension Endpoint: Comparable, CustomStringConvertible {
    /// Orders by address, then port.
    public static func < (lhs: Endpoint, rhs: Endpoint) -> Bool {
        lhs.address != rhs.address ? lhs.address < rhs.address : lhs.port < rhs.port
    }

    /// `192.0.2.1:25` or `[2001:db8::1]:25`.
    public var description: String {
        address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }
}
