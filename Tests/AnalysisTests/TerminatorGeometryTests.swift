@testable import Analysis
import Testing

/// Terminator at client offsets 150…154; chunks as a table: (offset, length, frame).
@Suite struct TerminatorGeometryTests {
    static func ring(_ chunks: [(UInt64, Int, UInt64)], capacity: Int = 16) -> SegmentRing {
        var ring = SegmentRing(capacity: capacity)
        for (offset, length, frame) in chunks {
            ring.append(offset: offset, length: length, frame: frame, timestampNanoseconds: Int64(frame) * 1_000_000)
        }
        return ring
    }

    // Body 100…149, terminator 150…154; each case lists chunk ends and the expected answer.
    @Test(arguments: [
        ([155], [10], [Int]()),
        ([151, 155], [10, 11], [1]),
        ([152, 155], [10, 11], [2]),
        ([153, 155], [10, 11], [3]),
        ([154, 155], [10, 11], [4]),
        ([151, 152, 153, 154, 155], [10, 11, 12, 13, 14], [1, 2, 3, 4]),
        ([152, 154, 155], [10, 11, 12], [2, 4]),
        ([120, 155], [11], []),  // the boundary falls in the body, not in the terminator
    ] as [([UInt64], [UInt64], [Int])])
    func splitPositions(ends: [UInt64], frames: [UInt64], splitAfter: [Int]) throws {
        var chunks: [(UInt64, Int, UInt64)] = []
        var start: UInt64 = 100
        for (index, end) in ends.enumerated() {
            chunks.append((start, Int(end - start), 10 + UInt64(index)))
            start = end
        }
        let geometry = try #require(TerminatorGeometry(offset: 150, length: 5, ring: Self.ring(chunks)))
        #expect(geometry.frames == frames)
        #expect(geometry.splitAfter == splitAfter)
        #expect(geometry.complete)
    }

    @Test func timesOfFirstAndLastPart() throws {
        let geometry = try #require(TerminatorGeometry(offset: 150, length: 5, ring: Self.ring([(100, 52, 10), (152, 3, 14)])))
        #expect(geometry.firstTimestampNanoseconds == 10_000_000)
        #expect(geometry.lastTimestampNanoseconds == 14_000_000)
        #expect(geometry.lastFrame == 14)
    }

    /// An empty message: the terminator's CRLF is the DATA line's own, in the DATA segment.
    @Test func terminatorStraddlesTheDataLineSegment() throws {
        // "DATA\r\n" at 48…53 in frame 8; ".\r\n" at 54…56 in frame 10.
        let geometry = try #require(TerminatorGeometry(offset: 52, length: 5, ring: Self.ring([(48, 6, 8), (54, 3, 10)])))
        #expect(geometry.frames == [8, 10])
        #expect(geometry.splitAfter == [2])
    }

    @Test func forgottenSegmentsMakeThePictureIncomplete() throws {
        // Capacity 2 keeps only the last two one-byte chunks (frames 13 and 14).
        let chunks: [(UInt64, Int, UInt64)] = [(150, 1, 10), (151, 1, 11), (152, 1, 12), (153, 1, 13), (154, 1, 14)]
        let geometry = try #require(TerminatorGeometry(offset: 150, length: 5, ring: Self.ring(chunks, capacity: 2)))
        #expect(!geometry.complete)
        #expect(geometry.frames == [13, 14])
        #expect(TerminatorGeometry(offset: 500, length: 5, ring: Self.ring(chunks)) == nil)
    }

    @Test func retransmittedTerminatorSegmentIsRecorded() {
        var h = TrackerHarness()
        h.sendMessage(splitAfter: [2])  // frames 10 (…"\r\n", offsets 100…151) and 11 (".\r\n", 152…154)
        h.retransmit(offset: 152, length: 3, frame: 25, ms: 3000)
        h.retransmit(offset: 152, length: 3, frame: 27, ms: 7000)
        h.retransmit(offset: 0, length: 8, frame: 28, ms: 7000)  // not terminator bytes
        h.end(.clientToServer, .fin, frame: 30, ms: 16_001)
        let flow = h.close(now: 16_001)
        #expect(flow.transactions[0].terminator.retransmissionFrames == [25, 27])
        #expect(flow.finding(.retransmission)?.frames == [10, 11, 25, 27])
        #expect(flow.finding(.retransmission)?.occurrences == 2)
    }

    @Test func terminatorFieldsInTheRecord() {
        var h = TrackerHarness()
        let last = h.sendMessage(splitAfter: [1, 2, 3, 4])  // frames 10…14, 1 ms apart from 1000 ms
        h.reply(250, "ok", answering: .endOfData(transaction: 0), frame: 15, ms: last.ms + 5)
        let t = h.close(now: 2000).transactions[0]
        #expect(t.terminator.seen)
        #expect(t.terminator.style == "crlf")
        #expect(t.terminator.frames == [10, 11, 12, 13, 14])
        #expect(t.terminator.timeNanoseconds == at(1004))
        #expect(t.terminator.spreadNanoseconds == 4_000_000)
        #expect(t.terminator.offset == 150)
        #expect(t.reply?.latencyNanoseconds == 5_000_000)
        #expect(t.dataFrame == 8)
    }
}
