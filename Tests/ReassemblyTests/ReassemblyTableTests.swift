import Reassembly
import Testing
import Wire

// Table tests in the gopacket style: segments in, events out. Client ISN 1000
// (offset 0 = seq 1001), server ISN 5000 (offset 0 = seq 5001); frames 1-3 are
// the handshake unless a test says otherwise.

@Suite struct ReassemblyTableTests {
    @Test func inOrderConversationClosesWithFins() {
        var h = Harness()
        h.handshake()
        h.send(s2c, seq: 5001, ack: 1001, "220 hi\r\n")  // 4
        h.send(c2s, seq: 1001, ack: 5009, "EHLO x\r\n")  // 5
        h.send(c2s, seq: 1009, ack: 5009, flags: .fin)  // 6
        h.send(s2c, seq: 5009, ack: 1010, flags: .fin)  // 7
        h.send(c2s, seq: 1010, ack: 5010)  // 8: late ACK, absorbed
        #expect(h.take() == [
            .opened(0, clientPort: 40000, midstream: false),
            .data(0, s2c, offset: 0, "220 hi\r\n", frame: 4),
            .data(0, c2s, offset: 0, "EHLO x\r\n", frame: 5),
            .end(0, c2s, .fin, frame: 6),
            .end(0, s2c, .fin, frame: 7),
            .closed(0, packets: 7),
        ])
        h.finish()
        #expect(h.take() == [])
        #expect(h.reassembler.statistics.packetsAfterClose == 1)
        #expect(h.reassembler.statistics.bytesDeliveredInPlace == 16)
    }

    @Test func reorderedSegmentsAreReleasedInOrderWithTheirOwnFrames() {
        var h = Harness()
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, "AAAA")  // 4
        h.send(c2s, seq: 1009, ack: 5001, "CCCC")  // 5: ahead of a hole
        h.send(c2s, seq: 1013, ack: 5001, "DDDD")  // 6
        h.send(c2s, seq: 1005, ack: 5001, "BBBB")  // 7: fills it
        #expect(h.take() == [
            .opened(0, clientPort: 40000, midstream: false),
            .data(0, c2s, offset: 0, "AAAA", frame: 4),
            .data(0, c2s, offset: 4, "BBBB", frame: 7),
            .data(0, c2s, offset: 8, "CCCC", frame: 5),
            .data(0, c2s, offset: 12, "DDDD", frame: 6),
        ])
        #expect(h.reassembler.statistics.outOfOrderSegments == 2)
        #expect(h.reassembler.bufferedOutOfOrderBytes == 0)
    }

    @Test func duplicateIsAReportedRetransmission() {
        var h = Harness()
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, "AAAA")  // 4
        h.send(c2s, seq: 1001, ack: 5001, "AAAA")  // 5
        h.send(c2s, seq: 1009, ack: 5001, "CCCC")  // 6: out of order
        h.send(c2s, seq: 1009, ack: 5001, "CCCC")  // 7: duplicate of stored bytes
        h.send(c2s, seq: 1005, ack: 5001, "BBBB")  // 8
        #expect(h.take().dropFirst() == [
            .data(0, c2s, offset: 0, "AAAA", frame: 4),
            .retransmission(0, c2s, offset: 0, length: 4, frame: 5, conflicting: false),
            .retransmission(0, c2s, offset: 8, length: 4, frame: 7, conflicting: false),
            .data(0, c2s, offset: 4, "BBBB", frame: 8),
            .data(0, c2s, offset: 8, "CCCC", frame: 6),
        ])
    }

    @Test func overlapWithEqualBytesDeliversOnlyTheNewTail() {
        var h = Harness()
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, "ABCDEF")  // 4
        h.send(c2s, seq: 1004, ack: 5001, "DEFGHI")  // 5
        #expect(h.take().dropFirst() == [
            .data(0, c2s, offset: 0, "ABCDEF", frame: 4),
            .retransmission(0, c2s, offset: 3, length: 3, frame: 5, conflicting: false),
            .data(0, c2s, offset: 6, "GHI", frame: 5),
        ])
        #expect(h.reassembler.statistics.conflictingRanges == 0)
    }

    @Test func overlapWithDifferentBytesKeepsTheFirstAndReportsAConflict() {
        var h = Harness()
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, "ABCDEF")  // 4
        h.send(c2s, seq: 1004, ack: 5001, "DxFGHI")  // 5: differs from delivered bytes (tail window)
        h.send(c2s, seq: 1015, ack: 5001, "WXYZ")  // 6: ahead (offset 14)
        h.send(c2s, seq: 1010, ack: 5001, "JKLMNWQYZ")  // 7: fills 9..14 and differs from stored "WXYZ"
        #expect(h.take().dropFirst() == [
            .data(0, c2s, offset: 0, "ABCDEF", frame: 4),
            .retransmission(0, c2s, offset: 3, length: 3, frame: 5, conflicting: true),
            .data(0, c2s, offset: 6, "GHI", frame: 5),
            .data(0, c2s, offset: 9, "JKLMN", frame: 7),
            .data(0, c2s, offset: 14, "WXYZ", frame: 6),
            .retransmission(0, c2s, offset: 14, length: 4, frame: 7, conflicting: true),
        ])
        #expect(h.reassembler.statistics.conflictingRanges == 2)
    }

    @Test func oldRetransmissionBeyondTheTailWindowIsNotCompared() {
        var h = Harness()
        h.handshake()
        let block = String(repeating: "a", count: 100)
        h.send(c2s, seq: 1001, ack: 5001, block)  // 4: offsets 0..<100
        h.send(c2s, seq: 1001, ack: 5001, "zzzz")  // 5: offsets 0..<4, 96+ bytes back: not kept
        #expect(h.take().dropFirst() == [
            .data(0, c2s, offset: 0, block, frame: 4),
            .retransmission(0, c2s, offset: 0, length: 4, frame: 5, conflicting: false),
        ])
        #expect(h.reassembler.statistics.retransmittedBytesNotCompared == 4)
    }

    @Test func sequenceNumbersWrapInsideAStream() {
        var h = Harness()
        h.handshake(clientISN: 0xFFFF_FFF0, serverISN: 5000)  // offset 0 = seq 0xFFFFFFF1
        h.send(c2s, seq: 0xFFFF_FFFB, ack: 5001, "KLMNOPQRST")  // 4: offsets 10..<20, crosses 2^32 (ends at seq 5)
        h.send(c2s, seq: 0xFFFF_FFF1, ack: 5001, "ABCDEFGHIJ")  // 5: offsets 0..<10
        h.send(c2s, seq: 5, ack: 5001, "UVWX")  // 6: offset 20
        h.send(c2s, seq: 9, ack: 5001, flags: .fin)  // 7: FIN at offset 24
        #expect(h.take().dropFirst() == [
            .data(0, c2s, offset: 0, "ABCDEFGHIJ", frame: 5),
            .data(0, c2s, offset: 10, "KLMNOPQRST", frame: 4),
            .data(0, c2s, offset: 20, "UVWX", frame: 6),
            .end(0, c2s, .fin, frame: 7),
        ])
    }

    @Test func missingHandshakeTakesRolesFromTheSMTPPort() {
        var h = Harness()
        // The server speaks first; its source port is 25, so it is the server.
        h.send(s2c, seq: 777_000, ack: 333_000, "250 ok\r\n")  // 1
        h.send(c2s, seq: 333_000, ack: 777_008, "QUIT\r\n")  // 2
        #expect(h.take() == [
            .opened(0, clientPort: 40000, midstream: true),
            .data(0, s2c, offset: 0, "250 ok\r\n", frame: 1),
            .data(0, c2s, offset: 0, "QUIT\r\n", frame: 2),
        ])
        // Another tuple, client first: destination port 587 marks the server.
        var options = ReassemblyOptions()
        options.ports = [587]
        var g = Harness(options: options)
        g.server.port = 587
        g.send(c2s, seq: 10, ack: 20, "DATA\r\n")
        #expect(g.take() == [
            .opened(0, clientPort: 40000, midstream: true),
            .data(0, c2s, offset: 0, "DATA\r\n", frame: 1),
        ])
    }

    @Test func synAckSeenFirstMakesItsSenderTheServer() {
        var h = Harness()
        h.send(s2c, seq: 5000, ack: 1001, flags: .syn)  // 1: client's SYN not captured
        h.send(c2s, seq: 1001, ack: 5001, "EHLO\r\n")  // 2
        #expect(h.take() == [
            .opened(0, clientPort: 40000, midstream: false),
            .data(0, c2s, offset: 0, "EHLO\r\n", frame: 2),
        ])
    }

    @Test func newSynWithAnotherISNStartsANewFlow() {
        var h = Harness()
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, flags: .fin)  // 4
        h.send(s2c, seq: 5001, ack: 1002, flags: .fin)  // 5
        h.send(c2s, seq: 1002, ack: 5002)  // 6: absorbed by the closed tuple
        h.handshake(clientISN: 90000, serverISN: 70000)  // 7-9: same ports, new ISNs
        h.send(c2s, seq: 90001, ack: 70001, "HI")  // 10
        h.send(c2s, seq: 1000, flags: .syn)  // 11: the old ISN again: a third connection
        #expect(h.take() == [
            .opened(0, clientPort: 40000, midstream: false),
            .end(0, c2s, .fin, frame: 4),
            .end(0, s2c, .fin, frame: 5),
            .closed(0, packets: 5),
            .opened(1, clientPort: 40000, midstream: false),
            .data(1, c2s, offset: 0, "HI", frame: 10),
            .end(1, c2s, .portReuse, frame: 10),
            .end(1, s2c, .portReuse, frame: 10),
            .closed(1, packets: 4),
            .opened(2, clientPort: 40000, midstream: false),
        ])
        #expect(h.reassembler.statistics.flowsReused == 1)
    }

    @Test func repeatedSynIsNotANewFlow() {
        var h = Harness()
        h.send(c2s, seq: 1000, flags: .syn)
        h.send(c2s, seq: 1000, flags: .syn)
        #expect(h.take() == [.opened(0, clientPort: 40000, midstream: false)])
        #expect(h.reassembler.statistics.duplicateSyns == 1)
    }

    @Test func resetInWindowEndsBothDirections() {
        var h = Harness()
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, "MAIL FROM:<a@b>\r\n")  // 4: 17 bytes
        h.send(s2c, seq: 9_000_000, ack: 1018, flags: .rst)  // 5: far outside the window: ignored
        h.send(s2c, seq: 5001, ack: 1018, flags: .rst)  // 6
        h.send(c2s, seq: 1018, ack: 5001, "more")  // 7: after the close, absorbed
        #expect(h.take().dropFirst() == [
            .data(0, c2s, offset: 0, "MAIL FROM:<a@b>\r\n", frame: 4),
            .end(0, s2c, .rst, frame: 6),
            .end(0, c2s, .rst, frame: 6),
            .closed(0, packets: 6),
        ])
        #expect(h.reassembler.statistics.outOfWindowResets == 1)
        #expect(h.reassembler.statistics.packetsAfterClose == 1)
    }

    @Test func resetWithDataDeliversTheDataFirst() {
        var h = Harness()
        h.handshake()
        h.send(s2c, seq: 5001, ack: 1001, flags: .rst, "bye")  // 4
        #expect(h.take().dropFirst() == [
            .data(0, s2c, offset: 0, "bye", frame: 4),
            .end(0, s2c, .rst, frame: 4),
            .end(0, c2s, .rst, frame: 4),
            .closed(0, packets: 4),
        ])
    }

    @Test func finAfterAHoleWaitsThenReportsTheHoleAtEnd() {
        var h = Harness()
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, "AAAA")  // 4
        h.send(c2s, seq: 1009, ack: 5001, flags: .fin, "CCCC")  // 5: FIN at offset 12, hole 4..<8
        h.send(c2s, seq: 1013, ack: 5001, "late")  // 6: after the FIN: ignored
        #expect(h.take().dropFirst() == [.data(0, c2s, offset: 0, "AAAA", frame: 4)])
        #expect(h.reassembler.statistics.bytesAfterFin == 4)
        h.finish()
        #expect(h.take() == [
            .gap(0, c2s, offset: 4, length: 4, .holeAtEnd),
            .data(0, c2s, offset: 8, "CCCC", frame: 5),
            .end(0, c2s, .fin, frame: 5),
            .end(0, s2c, .captureEnd, frame: 6),
            .closed(0, packets: 6),
        ])
    }

    @Test func finAfterAHoleEndsWhenTheHoleIsFilled() {
        var h = Harness()
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, "AAAA")  // 4
        h.send(c2s, seq: 1009, ack: 5001, flags: .fin, "CCCC")  // 5
        h.send(c2s, seq: 1005, ack: 5001, "BBBB")  // 6: retransmission fills the hole
        #expect(h.take().dropFirst() == [
            .data(0, c2s, offset: 0, "AAAA", frame: 4),
            .data(0, c2s, offset: 4, "BBBB", frame: 6),
            .data(0, c2s, offset: 8, "CCCC", frame: 5),
            .end(0, c2s, .fin, frame: 5),
        ])
    }

    @Test func keepAliveIsNeitherDataNorRetransmission() {
        var h = Harness()
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, "AAAA")  // 4: next = 1005
        h.send(c2s, seq: 1004, ack: 5001, "\u{0}")  // 5: keep-alive with one garbage byte
        h.send(c2s, seq: 1004, ack: 5001)  // 6: keep-alive without payload
        h.send(c2s, seq: 1005, ack: 5001, "BBBB")  // 7
        #expect(h.take().dropFirst() == [
            .data(0, c2s, offset: 0, "AAAA", frame: 4),
            .data(0, c2s, offset: 4, "BBBB", frame: 7),
        ])
        #expect(h.reassembler.statistics.keepAlives == 2)
        #expect(h.reassembler.statistics.retransmittedSegments == 0)
    }

    @Test func zeroWindowProbeResentIsNotARetransmission() {
        var h = Harness()
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, "AAAA")  // 4
        h.send(s2c, seq: 5001, ack: 1005, window: 0)  // 5: window closed
        h.send(c2s, seq: 1005, ack: 5001, "B")  // 6: probe
        h.send(c2s, seq: 1005, ack: 5001, "B")  // 7: probe again
        h.send(s2c, seq: 5001, ack: 1005, window: 8192)  // 8: window opens, probe not accepted
        h.send(c2s, seq: 1005, ack: 5001, "BCDE")  // 9
        #expect(h.take().dropFirst() == [
            .data(0, c2s, offset: 0, "AAAA", frame: 4),
            .data(0, c2s, offset: 4, "BCDE", frame: 9),
        ])
        #expect(h.reassembler.statistics.zeroWindowProbes == 2)
        #expect(h.reassembler.statistics.retransmittedSegments == 0)
    }

    @Test func zeroWindowProbeAcceptedByTheReceiverIsData() {
        var h = Harness()
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, "AAAA")  // 4
        h.send(s2c, seq: 5001, ack: 1005, window: 0)  // 5
        h.send(c2s, seq: 1005, ack: 5001, "B")  // 6: probe
        h.send(s2c, seq: 5001, ack: 1006, window: 0)  // 7: receiver took the byte
        h.send(c2s, seq: 1006, ack: 5001, "CD")  // 8
        #expect(h.take().dropFirst() == [
            .data(0, c2s, offset: 0, "AAAA", frame: 4),
            .data(0, c2s, offset: 4, "B", frame: 6),
            .data(0, c2s, offset: 5, "CD", frame: 8),
        ])
        #expect(h.reassembler.statistics.captureLossBytes == 0)
    }

    @Test func snaplenCutPayloadIsDeliveredThenAGap() {
        var h = Harness()
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, "ABC", wire: 10)  // 4: 7 bytes cut
        h.send(c2s, seq: 1021, ack: 5001, "xy", wire: 6)  // 5: ahead, offsets 20..<26, 4 cut
        h.send(c2s, seq: 1011, ack: 5001, "KLMNOPQRST")  // 6: fills 10..<20
        #expect(h.take().dropFirst() == [
            .data(0, c2s, offset: 0, "ABC", frame: 4),
            .gap(0, c2s, offset: 3, length: 7, .snaplen),
            .data(0, c2s, offset: 10, "KLMNOPQRST", frame: 6),
            .data(0, c2s, offset: 20, "xy", frame: 5),
            .gap(0, c2s, offset: 22, length: 4, .snaplen),
        ])
    }

    @Test func ackOfBytesNeverSeenIsCaptureLoss() {
        var h = Harness()
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, "AAAA")  // 4
        h.send(s2c, seq: 5001, ack: 1005)  // 5: acknowledges what we have: nothing
        h.send(s2c, seq: 5001, ack: 1013)  // 6: acknowledges 8 bytes the capture missed
        h.send(c2s, seq: 1013, ack: 5001, "DDDD")  // 7
        h.send(c2s, seq: 1021, ack: 5001, "FFFF")  // 8: ahead of a hole 16..<20
        h.send(s2c, seq: 5001, ack: 1025)  // 9: the hole was received too: lost in capture
        #expect(h.take().dropFirst() == [
            .data(0, c2s, offset: 0, "AAAA", frame: 4),
            .gap(0, c2s, offset: 4, length: 8, .captureLoss),
            .data(0, c2s, offset: 12, "DDDD", frame: 7),
            .gap(0, c2s, offset: 16, length: 4, .captureLoss),
            .data(0, c2s, offset: 20, "FFFF", frame: 8),
        ])
        #expect(h.reassembler.statistics.captureLossBytes == 12)
    }

    @Test func idleFlowEndsByCaptureTime() {
        var options = ReassemblyOptions()
        options.idleTimeoutNanoseconds = 60_000_000_000
        var h = Harness(options: options)
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, "AAAA", at: 10_000_000_000)  // 4
        h.advanceClock(to: 70_000_000_000)  // exactly 60 s: not yet
        #expect(h.take().count == 2)
        h.advanceClock(to: 70_000_000_001)
        #expect(h.take() == [
            .end(0, c2s, .idle, frame: 4),
            .end(0, s2c, .idle, frame: 4),
            .closed(0, packets: 4),
        ])
        // A later packet of the same tuple starts a new (mid-stream) flow.
        h.send(c2s, seq: 1005, ack: 5001, "BBBB", at: 80_000_000_000)
        #expect(h.take() == [
            .opened(1, clientPort: 40000, midstream: true),
            .data(1, c2s, offset: 0, "BBBB", frame: 5),
        ])
        // Idle expiry also happens from another flow's packet timestamp.
        h.client.port = 40001
        h.send(c2s, seq: 1, flags: .syn, at: 200_000_000_000)
        #expect(h.take() == [
            .end(1, c2s, .idle, frame: 5),
            .end(1, s2c, .idle, frame: 5),
            .closed(1, packets: 1),
            .opened(2, clientPort: 40001, midstream: false),
        ])
    }

    @Test func flowLimitEvictsTheLeastRecentlyActive() {
        var options = ReassemblyOptions()
        options.maxFlows = 2
        var h = Harness(options: options)
        h.send(c2s, seq: 100, flags: .syn)  // 1: flow 0
        h.client.port = 40001
        h.send(c2s, seq: 200, flags: .syn)  // 2: flow 1
        h.client.port = 40000
        h.send(c2s, seq: 101, "hi")  // 3: flow 0 active again
        h.client.port = 40002
        h.send(c2s, seq: 300, flags: .syn)  // 4: flow 2 evicts flow 1
        #expect(h.take() == [
            .opened(0, clientPort: 40000, midstream: false),
            .opened(1, clientPort: 40001, midstream: false),
            .data(0, c2s, offset: 0, "hi", frame: 3),
            .limit(.maxFlows, flow: 1),
            .end(1, c2s, .evicted, frame: 2),
            .end(1, s2c, .evicted, frame: 2),
            .closed(1, packets: 1),
            .opened(2, clientPort: 40002, midstream: false),
        ])
        #expect(h.reassembler.trackedFlows == 2)
        #expect(h.reassembler.statistics.flowsEvicted == 1)
    }

    @Test func outOfOrderLimitPerFlowForcesTheFirstHoleOut() {
        var options = ReassemblyOptions()
        options.maxOutOfOrderBytesPerFlow = 8
        var h = Harness(options: options)
        h.handshake()
        h.send(c2s, seq: 1001, ack: 5001, "AAAA")  // 4
        h.send(c2s, seq: 1009, ack: 5001, "CCCC")  // 5: 4 buffered
        h.send(c2s, seq: 1017, ack: 5001, "EEEE")  // 6: 8 buffered
        h.send(c2s, seq: 1021, ack: 5001, "FFFF")  // 7: would be 12
        #expect(h.take().dropFirst() == [
            .data(0, c2s, offset: 0, "AAAA", frame: 4),
            .limit(.outOfOrderBytesPerFlow, flow: 0),
            .gap(0, c2s, offset: 4, length: 4, .limit),
            .data(0, c2s, offset: 8, "CCCC", frame: 5),
        ])
        #expect(h.reassembler.bufferedOutOfOrderBytes == 8)
        h.finish()
        #expect(h.take() == [
            .gap(0, c2s, offset: 12, length: 4, .holeAtEnd),
            .data(0, c2s, offset: 16, "EEEE", frame: 6),
            .data(0, c2s, offset: 20, "FFFF", frame: 7),
            .end(0, c2s, .captureEnd, frame: 7),
            .end(0, s2c, .captureEnd, frame: 7),
            .closed(0, packets: 7),
        ])
    }

    @Test func outOfOrderLimitInTotalFlushesTheCurrentFlowFirst() {
        var options = ReassemblyOptions()
        options.maxOutOfOrderBytesTotal = 6
        var h = Harness(options: options)
        h.send(c2s, seq: 100, "a")  // 1: flow 0, midstream, offset 0 = seq 100
        h.send(c2s, seq: 105, "bbbb")  // 2: 4 buffered (offset 5)
        h.client.port = 40001
        h.send(c2s, seq: 200, "a")  // 3: flow 1
        h.send(c2s, seq: 205, "cccc")  // 4: total 8 > 6: flow 1 flushed
        #expect(h.take() == [
            .opened(0, clientPort: 40000, midstream: true),
            .data(0, c2s, offset: 0, "a", frame: 1),
            .opened(1, clientPort: 40001, midstream: true),
            .data(1, c2s, offset: 0, "a", frame: 3),
            .limit(.outOfOrderBytesTotal, flow: 1),
            .gap(1, c2s, offset: 1, length: 4, .limit),
            .data(1, c2s, offset: 5, "cccc", frame: 4),
        ])
        #expect(h.reassembler.bufferedOutOfOrderBytes == 4)
    }

    @Test func outOfOrderHoleTimesOutByCaptureTime() {
        var options = ReassemblyOptions()
        options.outOfOrderTimeoutNanoseconds = 5_000_000_000
        var h = Harness(options: options)
        h.send(c2s, seq: 100, "a", at: 1_000_000_000)  // 1
        h.send(c2s, seq: 105, "bbbb", at: 2_000_000_000)  // 2: hole 1..<5 opens
        h.send(s2c, seq: 900, ack: 101, at: 7_000_000_000)  // 3: exactly 5 s: not yet
        h.send(s2c, seq: 900, ack: 101, at: 7_000_000_001)  // 4
        #expect(h.take() == [
            .opened(0, clientPort: 40000, midstream: true),
            .data(0, c2s, offset: 0, "a", frame: 1),
            .limit(.outOfOrderTimeout, flow: 0),
            .gap(0, c2s, offset: 1, length: 4, .limit),
            .data(0, c2s, offset: 5, "bbbb", frame: 2),
        ])
    }

    @Test func ipv6FlowsAreKeyedLikeIPv4() {
        var h = Harness()
        h.client = Endpoint(address: .v6(high: 0x2001_0db8_0000_0000, low: 1), port: 50000)
        h.server = Endpoint(address: .v6(high: 0x2001_0db8_0000_0000, low: 2), port: 25)
        h.handshake()
        h.send(s2c, seq: 5001, ack: 1001, "220\r\n")
        h.send(c2s, seq: 1001, ack: 5006, "QUIT\r\n")
        #expect(h.take() == [
            .opened(0, clientPort: 50000, midstream: false),
            .data(0, s2c, offset: 0, "220\r\n", frame: 4),
            .data(0, c2s, offset: 0, "QUIT\r\n", frame: 5),
        ])
    }

    @Test func segmentsOnOtherPortsAreIgnored() {
        var h = Harness()
        h.server.port = 80
        h.send(c2s, seq: 1, flags: .syn)
        #expect(h.take() == [])
        #expect(h.reassembler.statistics.packetsIgnored == 1)
    }
}
