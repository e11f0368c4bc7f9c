/// A TCP sequence number with wrap-aware comparison (RFC 9293 §3.4):
/// `a < b` when `b` lies less than 2^31 ahead of `a` modulo 2^32.
public struct SequenceNumber: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: UInt32) { self.rawValue = value }

    public static func < (lhs: SequenceNumber, rhs: SequenceNumber) -> Bool {
        seqLessThan(lhs.rawValue, rhs.rawValue)
    }

    /// The number `count` bytes further on, wrapping at 2^32.
    public static func + (lhs: SequenceNumber, count: UInt32) -> SequenceNumber {
        SequenceNumber(lhs.rawValue &+ count)
    }

    /// Signed distance from `self` to `other` (positive when `other` is ahead).
    public func distance(to other: SequenceNumber) -> Int32 {
        seqDistance(from: rawValue, to: other.rawValue)
    }

    public var description: String { String(rawValue) }
}

/// True when `a` comes before `b` in sequence space.
@inline(__always)
public func seqLessThan(_ a: UInt32, _ b: UInt32) -> Bool {
    Int32(bitPattern: a &- b) < 0
}

/// True when `a` comes before or equals `b` in sequence space.
@inline(__always)
public func seqLessOrEqual(_ a: UInt32, _ b: UInt32) -> Bool {
    Int32(bitPattern: a &- b) <= 0
}

/// Signed distance from `a` to `b` in sequence space (positive when `b` is ahead).
@inline(__always)
public func seqDistance(from a: UInt32, to b: UInt32) -> Int32 {
    Int32(bitPattern: b &- a)
}
