@testable import Analysis
import Testing
import Wire

/// ``ParallelBatch`` keeps segment payload in raw storage that grows when a segment does not fit
/// (a batch holds one frame past its limit; offloaded captures carry 64 KiB segments): every
/// payload must come back byte for byte, in order, after growth and after reuse.
@Suite struct ParallelBatchTests {
    static func segment(_ length: Int) -> TCPSegment {
        TCPSegment(
            source: Endpoint(address: .v4(0xC000_020A), port: 40_000), destination: Endpoint(address: .v4(0xC633_6419), port: 25),
            sequenceNumber: 1, acknowledgmentNumber: 1, flags: TCPFlags(rawValue: 0x18), window: 1024, payloadLength: length)
    }

    /// Payload `index` of `length` bytes: a pattern that differs from one payload to the next.
    static func payload(_ index: Int, _ length: Int) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &* 7 &+ 1) }
    }

    @Test func payloadsComeBackExactlyAcrossGrowthAndReuse() {
        let batch = ParallelBatch(workers: 2)
        for round in 0..<2 {
            // Small segments up to the limit, then 64 KiB ones past the reserved room.
            var lengths: [Int] = []
            var total = 0
            while total < batch.payloadLimit {
                lengths.append(1_460)
                total += 1_460
            }
            lengths += [65_535, 65_535, 0, 1, 65_535]
            for (index, length) in lengths.enumerated() {
                Self.payload(index + round, length).withUnsafeBytes { bytes in
                    batch.appendSegment(Self.segment(length), payload: bytes, frame: UInt64(index + 1), timestampNanoseconds: 0, now: 0)
                }
            }
            #expect(batch.isFull)
            var seen = 0
            batch.forEachEntry { entry, contents in
                #expect(entry.frame == UInt64(seen + 1))
                guard case .segment(_, let bytes) = contents else {
                    Issue.record("entry \(seen) of round \(round) is not a segment")
                    return
                }
                #expect(Array(bytes) == Self.payload(seen + round, lengths[seen]), "payload \(seen) of round \(round)")
                seen += 1
            }
            #expect(seen == lengths.count)
            batch.reset()
            #expect(!batch.isFull)
        }
    }
}
