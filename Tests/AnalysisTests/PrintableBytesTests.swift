@testable import Analysis
import Testing

/// The tracker reads an argument by bytes only when every byte is printable ASCII: the
/// eight-at-a-time check against a byte-by-byte one, with the odd byte at every position.
@Suite struct PrintableBytesTests {
    @Test func everyByteValueAtEveryPosition() {
        for value in 0...255 {
            let printable = value >= 0x20 && value < 0x7F
            for length in [1, 7, 8, 9, 16, 23] {
                for position in 0..<length {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[position] = UInt8(value)
                    #expect(bytes.withUnsafeBytes { FlowTracker<SilentDialog>.allPrintableASCII($0) } == printable)
                }
            }
        }
        #expect([UInt8]().withUnsafeBytes { FlowTracker<SilentDialog>.allPrintableASCII($0) })
    }

    @Test func pathsAreFoundAsBefore() {
        #expect(FlowTracker<SilentDialog>.path(in: "FROM:<a@example.org> SIZE=10", after: "FROM:") == "a@example.org")
        #expect(FlowTracker<SilentDialog>.path(in: "to:<unterminated@example.org", after: "TO:") == "unterminated@example.org")
        #expect(FlowTracker<SilentDialog>.path(in: "TO:  bare@example.org NOTIFY=NEVER", after: "TO:") == "bare@example.org")
        #expect(FlowTracker<SilentDialog>.path(in: "TO:", after: "TO:") == nil)
        #expect(FlowTracker<SilentDialog>.path(in: "FROM:<>", after: "FROM:") == "")
    }
}
