/// Follows both directions of one SMTP conversation and reports what happens.
public struct SMTPSession {
    public init() {}

    /// Feeds in-order bytes of one side at stream `offset`; events are emitted synchronously.
    public mutating func feed(_ side: SMTPSide, _ bytes: UnsafeRawBufferPointer, at offset: UInt64, emit: (SMTPEvent) -> Void) {}

    /// `length` bytes of `side` at `offset` were lost.
    public mutating func gap(_ side: SMTPSide, at offset: UInt64, length: UInt64, emit: (SMTPEvent) -> Void) {}

    /// `side` will send nothing more.
    public mutating func end(_ side: SMTPSide, emit: (SMTPEvent) -> Void) {}
}
