/// Limits of one `SMTPSession`. Every buffer the session keeps is bounded by one of these,
/// so per-session memory is independent of message size; reaching a limit is reported.
public struct SMTPOptions: Sendable, Hashable {
    /// Longest command or reply line kept, line ending excluded. RFC 5321 §4.5.3.1 says 512 and
    /// 1000 bytes, real traffic exceeds both. Longer lines are kept truncated and reported
    /// as `.lineTooLong`; the framer resynchronises at the next line end.
    public var maxLineLength: Int = 4096
    /// Characters kept of a command argument or of a reply line's text.
    public var maxArgumentLength: Int = 1024
    /// Commands waiting for a reply (RFC 2920 pipelining). Beyond it the oldest is dropped
    /// and `.tooManyPendingCommands` is reported.
    public var maxPendingCommands: Int = 1000
    /// Lines of one multi-line reply kept in `SMTPReply.lines`; later lines are still read.
    public var maxReplyLines: Int = 64
    /// Bytes of the message header block kept for parsing (Message-ID, Date, From, To, Subject).
    public var maxHeaderBytes: Int = 16 * 1024
    /// Characters kept of one header field value.
    public var maxHeaderValueLength: Int = 998
    /// Recipients kept per transaction (the rest are counted in `statistics`).
    public var maxRecipients: Int = 1000
    /// Client bytes held while the reply to DATA, STARTTLS or AUTH decides how to read them
    /// (the client stream may be fed ahead of the server stream). Beyond it the likely reading
    /// is assumed: DATA → message, STARTTLS → encrypted, AUTH → commands.
    public var maxHeldBytes: Int = 64 * 1024
    /// Message bytes kept after the first near-miss terminator, for the smuggled envelope and
    /// for re-reading them as commands when the server took the near miss as end of data.
    public var maxSmuggledBytes: Int = 8 * 1024
    /// BDAT chunk sizes above this are reported as `.malformedBDAT` (the chunk is still counted:
    /// RFC 3030 makes the server read it whatever its size).
    public var maxBDATChunkSize: UInt64 = 1 << 30
    /// Near-miss terminators reported per message; later ones are counted in `statistics`.
    public var maxNearMissesPerMessage: Int = 32
    /// Reports of one anomaly kind per side; later ones are counted in `statistics`.
    public var maxReportsPerAnomaly: Int = 3
    /// Whether `.extensions` events are emitted after a positive EHLO reply. A consumer that
    /// reads the reply lines itself turns them off and is spared a keyword array per EHLO;
    /// `.starttlsMasked` anomalies are reported either way.
    public var reportsExtensions = true
    /// Whether routine events are emitted: the `.command` of a verb that begins, fills, ends
    /// or aborts no transaction (EHLO, HELO, NOOP, STARTTLS, AUTH, … any known verb but MAIL,
    /// RCPT, DATA, BDAT, RSET and QUIT; an unknown verb is always reported), and the `.reply`
    /// to a command with a code below 400 none of whose lines may be a masked keyword (see
    /// ``ReplyLines/mayStartMaskedKeyword(_:)``). A consumer that follows transactions and
    /// middlebox masking reads nothing in them and turns them off: they are most of a
    /// dialog's events. What they would have changed in the session happens either way.
    public var reportsRoutineEvents = true
    /// Whether a message's `Date`, `From` and `To` header fields are read (`Message-ID` and
    /// `Subject` always are). A consumer that reads neither turns it off and is spared
    /// gathering them; they are then nil in every ``MessageSummary``.
    public var readsAddressFields = true

    public init() {}
}

/// Counters of one session; they keep counting where events stop being reported.
public struct SMTPStatistics: Sendable, Hashable {
    public var clientBytes: UInt64 = 0
    public var serverBytes: UInt64 = 0
    /// Bytes after STARTTLS took effect (both sides).
    public var encryptedBytes: UInt64 = 0
    /// Bytes lost in gaps (both sides).
    public var gapBytes: UInt64 = 0
    public var commands: Int = 0
    public var replies: Int = 0
    /// Pending commands dropped because the FIFO was full.
    public var droppedPendingCommands: Int = 0
    /// Anomalies not reported because their kind reached `maxReportsPerAnomaly`.
    public var suppressedAnomalies: Int = 0
    /// Near misses not reported because a message reached `maxNearMissesPerMessage`.
    public var suppressedNearMisses: Int = 0
    /// Recipients not kept because a transaction reached `maxRecipients`.
    public var droppedRecipients: Int = 0
    /// Held client bytes that overflowed `maxHeldBytes` before the deciding reply arrived.
    public var heldOverflows: Int = 0

    public init() {}
}
