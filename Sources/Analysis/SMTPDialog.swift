import Reassembly
import SMTP

/// The SMTP machine a ``FlowTracker`` feeds. ``SMTPSession`` in production; tests put in a
/// silent one and inject ``SMTPEvent``s through ``FlowTracker/handle(_:context:)``.
protocol SMTPDialog {
    mutating func feed(_ side: SMTPSide, _ bytes: UnsafeRawBufferPointer, at offset: UInt64, emit: (SMTPEvent) -> Void)
    mutating func gap(_ side: SMTPSide, at offset: UInt64, length: UInt64, emit: (SMTPEvent) -> Void)
    mutating func end(_ side: SMTPSide, emit: (SMTPEvent) -> Void)
    /// Back to the initial state, for the next flow (storage may be kept).
    mutating func reset()
    /// Whether routine events are reported (``SMTPOptions/reportsRoutineEvents``).
    var reportsRoutineEvents: Bool { get set }
}

extension SMTPSession: SMTPDialog {}

/// A dialog that reports nothing: the test seam's stand-in.
struct SilentDialog: SMTPDialog {
    func feed(_ side: SMTPSide, _ bytes: UnsafeRawBufferPointer, at offset: UInt64, emit: (SMTPEvent) -> Void) {}
    func gap(_ side: SMTPSide, at offset: UInt64, length: UInt64, emit: (SMTPEvent) -> Void) {}
    func end(_ side: SMTPSide, emit: (SMTPEvent) -> Void) {}
    func reset() {}
    var reportsRoutineEvents: Bool {
        get { true }
        nonmutating set {}
    }
}

/// Where an SMTP event happened: the chunk (or stream end) being fed when it fired.
struct EventContext: Sendable, Hashable {
    var side: SMTPSide
    var frame: UInt64
    var timestampNanoseconds: Int64
    /// Set when the event fired while a stream end was fed.
    var endReason: StreamEndReason? = nil
}

