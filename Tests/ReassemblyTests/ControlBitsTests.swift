import Testing
import Wire

@testable import Reassembly

/// The reassembler's inlined bit tests agree with Wire's flag constants for every 9-bit value.
@Suite struct ControlBitsTests {
    @Test func bitTestsAgreeWithWireFlags() {
        for raw in UInt16(0)..<0x200 {
            let flags = TCPFlags(rawValue: raw)
            #expect(flags.hasFIN == flags.contains(.fin))
            #expect(flags.hasSYN == flags.contains(.syn))
            #expect(flags.hasRST == flags.contains(.rst))
            #expect(flags.hasACK == flags.contains(.ack))
        }
    }
}
