import Reassembly
import Testing
import Wire

/// A closed flow leaves only its tuple, for `closedFlowRetentionNanoseconds` after its last
/// packet (60 s by default), and at most `maxClosedFlows` of them.
@Suite struct ClosedFlowTests {
    /// Handshake, one FIN each way (frames 1-5, at 1-5 ms): the flow closes at frame 5.
    private func closedFlow(_ h: inout Harness) {
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, flags: .fin)  // 4
        h.send(s2c, seq: 5001, ack: 1002, flags: .fin)  // 5
    }

    @Test func lateAcksWithinTheRetentionAreAbsorbedThenTheTupleIsForgotten() {
        var h = Harness()
        closedFlow(&h)
        #expect(h.take().last == .closed(0, packets: 5))
        #expect(h.reassembler.trackedFlows == 1)
        // 59.9 s after the last packet: still the closed flow (and its wait starts again).
        h.send(c2s, seq: 1002, ack: 5002, at: 59_905_000_000)  // 6
        #expect(h.take() == [])
        #expect(h.reassembler.statistics.packetsAfterClose == 1)
        // 60 s after frame 6 exactly: kept; a moment later: forgotten.
        h.advanceClock(to: 119_905_000_000)
        #expect(h.reassembler.trackedFlows == 1)
        h.advanceClock(to: 119_905_000_001)
        #expect(h.reassembler.trackedFlows == 0)
        #expect(h.take() == [])
        // A packet of the tuple now begins a new, mid-stream flow.
        h.send(c2s, seq: 1002, ack: 5002, "late", at: 120_000_000_000)  // 7
        #expect(h.take() == [
            .opened(1, clientPort: 40000, midstream: true),
            .data(1, c2s, offset: 0, "late", frame: 7),
        ])
        #expect(h.reassembler.statistics.packetsAfterClose == 1)
    }

    @Test func aSynOnAClosedTupleOpensANewFlow() {
        var h = Harness()
        closedFlow(&h)
        _ = h.take()
        h.send(c2s, seq: 9000, flags: .syn)  // 6
        #expect(h.take() == [.opened(1, clientPort: 40000, midstream: false)])
        #expect(h.reassembler.trackedFlows == 1)
    }

    @Test func closedTuplesBeyondTheLimitAreForgottenOldestFirst() {
        var options = ReassemblyOptions()
        options.maxClosedFlows = 1
        var h = Harness(options: options)
        closedFlow(&h)  // flow 0 on port 40000
        h.client.port = 40001
        closedFlow(&h)  // flow 1 on port 40001: flow 0's tuple is dropped
        #expect(h.reassembler.trackedFlows == 1)
        #expect(h.reassembler.statistics.closedFlowsDropped == 1)
        _ = h.take()
        h.send(c2s, seq: 1002, ack: 5002)  // 11: flow 1's tuple: absorbed
        #expect(h.take() == [])
        h.client.port = 40000
        h.send(c2s, seq: 1002, ack: 5002, "x")  // 12: flow 0's tuple was forgotten
        #expect(h.take() == [
            .opened(2, clientPort: 40000, midstream: true),
            .data(2, c2s, offset: 0, "x", frame: 12),
        ])
    }

    @Test func closedFlowsDoNotAccumulateOverALongCapture() {
        var h = Harness()
        // 1,000 connections one second apart: at most ~61 closed tuples are held at once.
        for n in 0..<1000 {
            h.client.port = UInt16(30000 + n)
            let start = Int64(n) * 1_000_000_000
            h.send(c2s, seq: 1000, flags: .syn, at: start)
            h.send(s2c, seq: 5000, ack: 1001, flags: .syn, at: start + 1_000_000)
            h.send(c2s, seq: 1001, ack: 5001, flags: .fin, at: start + 2_000_000)
            h.send(s2c, seq: 5001, ack: 1002, flags: .fin, at: start + 3_000_000)
        }
        #expect(h.reassembler.trackedFlows <= 62)
        #expect(h.reassembler.statistics.peakFlows <= 62)
        #expect(h.reassembler.statistics.flowsOpened == 1000)
    }
}
