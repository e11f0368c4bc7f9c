import Wire

/// The control bits the reassembler tests on every segment, as inlined bit tests. Wire's
/// `TCPFlags.syn`, `.fin`, … are `static let`s: from another module each use is a call to
/// their lazily-initialised addressor (about six per segment).
extension TCPFlags {
    /// FIN (RFC 9293 §3.1: bit 0x01).
    var hasFIN: Bool {
        @inline(__always) get { rawValue & 0x001 != 0 }
    }
    /// SYN (0x02).
    var hasSYN: Bool {
        @inline(__always) get { rawValue & 0x002 != 0 }
    }
    /// RST (0x04).
    var hasRST: Bool {
        @inline(__always) get { rawValue & 0x004 != 0 }
    }
    /// ACK (0x10).
    var hasACK: Bool {
        @inline(__always) get { rawValue & 0x010 != 0 }
    }
}
