import Reassembly
import Testing

@Suite struct SegmentLogTests {
    @Test func rendersTheSegmentMapOfAFlow() {
        let h = Harness()  // for its endpoints
        var log = SegmentLog(maxBytes: 1000)
        var events: [StreamEvent] = []
        // Frame 1 SYN; 2 "DATA\r\n"; 3 ".\r\n" ahead of a hole; 4 fills it; 5 repeats 4.
        var reassembler = TCPReassembler()
        let segments: [(UInt32, String, Int64)] = [
            (1001, "DATA\r\n", 2_000_000_000), (1011, ".\r\n", 2_500_000_000),
            (1007, "x\r\n\r", 3_000_000_000), (1007, "x\r\n\r", 3_100_000_000),
        ]
        reassembler.process(
            .init(source: h.client, destination: h.server, sequenceNumber: 1000, acknowledgmentNumber: 0, flags: .syn, window: 1, payloadLength: 0),
            payload: UnsafeRawBufferPointer(start: nil, count: 0), frame: 1, timestampNanoseconds: 1_000_000_000
        ) { log.record($0) }
        for (index, (seq, text, time)) in segments.enumerated() {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBytes { payload in
                reassembler.process(
                    .init(source: h.client, destination: h.server, sequenceNumber: seq, acknowledgmentNumber: 0, flags: .ack, window: 1, payloadLength: bytes.count),
                    payload: payload, frame: UInt64(index + 2), timestampNanoseconds: time
                ) {
                    log.record($0)
                    if case .retransmission = $0 { events.append($0) }
                }
            }
        }
        reassembler.finish { log.record($0) }
        #expect(events.count == 1)
        #expect(log.render(flow: FlowID(0)) == """
            C>S [0,6) frame 2 seq 1001 t=2.000000000 "DATA\\r\\n"
            C>S [6,10) frame 4 seq 1007 t=3.000000000 "x\\r\\n\\r"
            C>S [10,13) frame 3 seq 1011 t=2.500000000 ".\\r\\n"
            C>S [6,10) repeated by frame 5 seq 1007
            C>S end capture_end frame 5
            S>C end capture_end frame 5

            """)
        #expect(log.render(flow: FlowID(1)) == "")
    }

    @Test func keepsAtMostItsLimits() {
        var log = SegmentLog(maxEntries: 1, maxBytes: 2)
        let bytes: [UInt8] = Array("abcd".utf8)
        let info = SegmentInfo(frame: 1, sequenceNumber: 0, timestampNanoseconds: 0, flags: [], streamOffset: 0, length: 4)
        bytes.withUnsafeBytes { buffer in
            log.record(.data(FlowID(0), .clientToServer, offset: 0, bytes: buffer, segment: info))
            log.record(.data(FlowID(0), .clientToServer, offset: 4, bytes: buffer, segment: info))
        }
        #expect(log.entries.count == 1)
        #expect(log.entries.first?.bytes == Array("ab".utf8))
        #expect(log.entries.first?.length == 4)
        #expect(log.droppedEntries == 1)
    }
}
