/// Big-endian field reads at offsets the caller has already bounds-checked
/// (style rule 2: check the length once at the top of a decoder, then read). Package-wide and
/// inlinable: the reassembler reads a straight frame's fields in place (``StraightIPv4Frame``).
extension UnsafeRawBufferPointer {
    @inlinable @inline(__always)
    package func u8(_ offset: Int) -> UInt8 {
        load(fromByteOffset: offset, as: UInt8.self)
    }

    @inlinable @inline(__always)
    package func u16(_ offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable @inline(__always)
    package func u32(_ offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable @inline(__always)
    package func u64(_ offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The bytes `range`, which must lie inside the buffer.
    @inlinable @inline(__always)
    package func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[range])
    }
}
