import Reassembly
import Testing

@Test func defaultPortsAreTheSMTPPorts() {
    #expect(ReassemblyOptions().ports == [25, 587, 2525])
}
