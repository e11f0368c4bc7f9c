import Testing
import Wire

@testable import Reassembly

/// The reassembler keeps its flows in a ``SlotStore`` reached by pointer, shared between
/// copies until one changes: a copy must still behave as an independent value.
@Suite struct SlotStoreTests {
    /// A copy taken mid-conversation and the original, fed different continuations, each give
    /// exactly the events a fresh reassembler fed their whole input gives.
    @Test(arguments: 0..<40)
    func copiesAreIndependent(seed: UInt64) {
        let segments = InOrderFastPathTests.conversation(seed: seed)
        let half = segments.count / 2
        let other = InOrderFastPathTests.conversation(seed: seed &+ 1000)
        var original = TCPReassembler(options: ReassemblyOptions(), seed: 42)
        var originalEvents: [String] = []
        Self.feed(&original, segments[..<half], firstFrame: 1) { originalEvents.append($0) }
        var copy = original
        var copyEvents = originalEvents
        // The copy goes on with another conversation's segments, the original with its own.
        Self.feed(&copy, other[...], firstFrame: UInt64(half + 1)) { copyEvents.append($0) }
        Self.feed(&original, segments[half...], firstFrame: UInt64(half + 1)) { originalEvents.append($0) }
        copy.finish { copyEvents.append(InOrderFastPathTests.describe($0)) }
        original.finish { originalEvents.append(InOrderFastPathTests.describe($0)) }

        #expect(originalEvents == InOrderFastPathTests.run(segments, fastPath: true).events)
        var fresh = TCPReassembler(options: ReassemblyOptions(), seed: 42)
        var freshEvents: [String] = []
        Self.feed(&fresh, segments[..<half], firstFrame: 1) { freshEvents.append($0) }
        Self.feed(&fresh, other[...], firstFrame: UInt64(half + 1)) { freshEvents.append($0) }
        fresh.finish { freshEvents.append(InOrderFastPathTests.describe($0)) }
        #expect(copyEvents == freshEvents)
    }

    /// More flows than the store's first allocation (16 slots): it grows, and every flow
    /// keeps its state (each delivers its own bytes after the growth).
    @Test func storeGrowsWithItsFlows() {
        var reassembler = TCPReassembler(options: ReassemblyOptions(), seed: 1)
        var delivered: [FlowID: [UInt8]] = [:]
        let server = Endpoint(address: .v4(0xC633_6419), port: 25)
        for round in 0..<3 {
            for index in 0..<100 {
                let client = Endpoint(address: .v4(0xC000_0201), port: UInt16(30000 + index))
                let bytes: [UInt8] = [UInt8(index), UInt8(round)]
                let segment = TCPSegment(
                    source: client, destination: server, sequenceNumber: 5000 &+ UInt32(round * 2), acknowledgmentNumber: 1,
                    flags: [.ack], window: 1000, payloadLength: 2)
                bytes.withUnsafeBytes { payload in
                    reassembler.process(segment, payload: payload, frame: UInt64(round * 100 + index + 1), timestampNanoseconds: 1) {
                        if case .data(let flow, _, _, let data, _) = $0 { delivered[flow, default: []] += Array(data) }
                    }
                }
            }
        }
        #expect(delivered.count == 100)
        for (flow, bytes) in delivered {
            #expect(bytes == [UInt8(flow.index), 0, UInt8(flow.index), 1, UInt8(flow.index), 2])
        }
    }

    static func feed(
        _ reassembler: inout TCPReassembler, _ segments: ArraySlice<InOrderFastPathTests.Segment>, firstFrame: UInt64,
        _ record: (String) -> Void
    ) {
        for (offset, item) in segments.enumerated() {
            item.payload.withUnsafeBytes { payload in
                reassembler.process(item.segment, payload: payload, frame: firstFrame + UInt64(offset), timestampNanoseconds: item.time) {
                    record(InOrderFastPathTests.describe($0))
                }
            }
        }
    }
}
