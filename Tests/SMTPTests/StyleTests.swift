import SMTP
import Testing

@Test func terminatorStyleNamesAreTheContract() {
    #expect(TerminatorStyle.crlf.rawValue == "crlf")
    #expect(TerminatorStyle.lfLf.rawValue == "lf.lf")
}
