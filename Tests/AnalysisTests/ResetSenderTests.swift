@testable import Analysis
import Reassembly
import SMTP
import Testing

/// The tcp.reset finding names the side that sent the RST. An RST ends both directions, but a
/// direction already ended by FIN is not ended again, so the only `.end(…, .rst)` may be the
/// other side's (captures/smtp/postfix-swaks-starttls.pcap: the client FINs in frame 29 and
/// resets in frame 31, per tshark; the server never sends FIN or RST).
@Suite struct ResetSenderTests {
    @Test func aClientResetAfterItsFinIsTheClients() {
        var h = TrackerHarness()
        h.end(.clientToServer, .fin, frame: 29, ms: 100)
        h.end(.serverToClient, .rst, frame: 31, ms: 101)
        let flow = h.close(closedBy: .clientToServer, resetBy: .clientToServer, now: 101)
        #expect(flow.finding(.reset)?.message == "the client reset the connection (frame 31)")
        #expect(flow.finding(.reset)?.frames == [31])
        #expect(flow.endReason == .rst)
    }

    @Test func aServerResetIsTheServers() {
        var h = TrackerHarness()
        h.end(.serverToClient, .rst, frame: 12, ms: 100)
        h.end(.clientToServer, .rst, frame: 12, ms: 100)
        let flow = h.close(closedBy: .serverToClient, resetBy: .serverToClient, now: 100)
        #expect(flow.finding(.reset)?.message == "the server reset the connection (frame 12)")
        #expect(flow.findings.filter { $0.code == .reset }.count == 1)
    }
}
