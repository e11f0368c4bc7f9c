/// Reads fuzz input front to back; past the end every read yields zero, so
/// any input is a valid program for a harness.
struct FuzzInput {
    let bytes: UnsafeBufferPointer<UInt8>
    var cursor = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var isAtEnd: Bool { cursor >= bytes.count }

    mutating func byte() -> UInt8 {
        guard cursor < bytes.count else { return 0 }
        defer { cursor += 1 }
        return bytes[cursor]
    }

    mutating func uint16() -> UInt16 { UInt16(byte()) << 8 | UInt16(byte()) }

    mutating func uint32() -> UInt32 { UInt32(uint16()) << 16 | UInt32(uint16()) }

    /// Up to `count` bytes (fewer at the end of input), copied into an
    /// exact-size array so the sanitizer catches reads past them.
    mutating func take(_ count: Int) -> [UInt8] {
        let end = min(cursor + count, bytes.count)
        defer { cursor = end }
        return cursor < end ? Array(bytes[cursor..<end]) : []
    }
}
