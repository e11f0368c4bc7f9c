import Capture
import Testing

@Test func linksAgainstLibpcap() {
    #expect(libpcapVersion.hasPrefix("libpcap version"))
}
