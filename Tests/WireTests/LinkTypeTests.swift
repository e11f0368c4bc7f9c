import Testing
import Wire

@Test func linkTypeNamesMatchLibpcap() {
    // Names as pcap_datalink_val_to_name() prints them.
    #expect(LinkType.ethernet.description == "EN10MB")
    #expect(LinkType.linuxSLL2.description == "LINUX_SLL2")
    #expect(LinkType(rawValue: 9999).description == "DLT(9999)")
}
