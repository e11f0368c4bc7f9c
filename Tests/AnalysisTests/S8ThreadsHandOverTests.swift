import Foundation
@testable import Analysis
import Testing
import Wire

/// ``ParallelWorker`` hands batches over in bursts (an idle worker waits for ``ParallelWorker/wakeAfter``
/// batches, a waiting reader for ``ParallelWorker/returnAfter``), yet every batch must be processed
/// and come back, in the order given, whenever the reader asks for one, and the thread must end
/// on ``ParallelWorker/stop()`` with fewer queued than a burst. A missed wake-up shows as a hang,
/// which a 30 s watchdog turns into a failure.
@Suite struct S8ThreadsHandOverTests {
    /// A batch whose one SYN opens a flow of its own (client port `index`), marked with `frame`.
    static func batch(_ index: Int, frame: UInt64) -> ParallelBatch {
        let batch = ParallelBatch(workers: 1)
        let segment = TCPSegment(
            source: Endpoint(address: .v4(0xC000_020A), port: UInt16(40_000 + index)),
            destination: Endpoint(address: .v4(0xC633_6419), port: 25),
            sequenceNumber: 1_000, acknowledgmentNumber: 0, flags: TCPFlags(rawValue: 0x02), window: 1024, payloadLength: 0)
        batch.appendSegment(segment, payload: UnsafeRawBufferPointer(start: nil, count: 0), frame: frame, timestampNanoseconds: 1, now: 1)
        return batch
    }

    /// Submits `count` batches, then takes `count` back: each must be the one submitted in that
    /// place, processed (its SYN opened a flow at its frame). Returns what went wrong.
    static func roundTrip(_ worker: ParallelWorker, count: Int, from first: Int) -> [String] {
        let sent = (0..<count).map { batch(first + $0, frame: UInt64(first + $0 + 1)) }
        for batch in sent { worker.submit(batch) }
        var problems: [String] = []
        for (offset, batch) in sent.enumerated() {
            let back = worker.takeProcessed()
            if back !== batch { problems.append("batch \(first + offset): another came back") }
            let opened = back.opened.map(\.frame)
            if opened != [UInt64(first + offset + 1)] { problems.append("batch \(first + offset): opened \(opened)") }
        }
        return problems
    }

    /// Runs `body` on a thread of its own and waits at most 30 s for it: a missed wake-up fails
    /// the test instead of hanging the run (the stuck thread is left behind).
    static func within30Seconds(_ body: @escaping @Sendable () -> [String]) -> [String]? {
        let done = DispatchSemaphore(value: 0)
        let box = ProblemBox()
        DispatchQueue.global().async {
            box.set(body())
            done.signal()
        }
        guard done.wait(timeout: .now() + 30) == .success else { return nil }
        return box.get()
    }

    @Test(arguments: [(1, 1), (4, 3), (100, 100)])
    func everyBatchComesBackInOrder(wakeAfter: Int, returnAfter: Int) {
        let problems = Self.within30Seconds {
            let worker = ParallelWorker(options: AnalysisOptions(), wakeAfter: wakeAfter, returnAfter: returnAfter)
            worker.start()
            var problems: [String] = []
            var next = 0
            // Fewer than a burst (the reader waiting must wake the idle worker), exactly one, more.
            for count in [1, 2, 1, wakeAfter, wakeAfter + 3, 7] {
                problems += Self.roundTrip(worker, count: count, from: next)
                next += count
            }
            worker.stop()
            return problems
        }
        #expect(problems == [], "nil: a batch never came back or the worker never ended")
    }

    @Test func stopEndsAWorkerWaitingForABurst() {
        let problems = Self.within30Seconds {
            let worker = ParallelWorker(options: AnalysisOptions(), wakeAfter: 8, returnAfter: 8)
            worker.start()
            var problems = Self.roundTrip(worker, count: 2, from: 0)
            // Two queued, never asked for: stop must still let the thread process them and end.
            let left = [Self.batch(2, frame: 3), Self.batch(3, frame: 4)]
            for batch in left { worker.submit(batch) }
            worker.stop()
            if left.map(\.opened.count) != [1, 1] { problems.append("queued batches not processed before the end") }
            return problems
        }
        #expect(problems == [], "nil: stop never returned")
    }
}

private final class ProblemBox: @unchecked Sendable {
    private let lock = NSLock()
    private var problems: [String] = []
    func set(_ value: [String]) { lock.lock(); problems = value; lock.unlock() }
    func get() -> [String] { lock.lock(); defer { lock.unlock() }; return problems }
}

/// ``ParallelBatch`` stores each entry with its payload right after it, in one raw arena: every
/// kind of entry must come back with every field, in order, including past the entry limit
/// without a frame between (clock ticks alone: the arena grows) and payloads of odd lengths
/// (the next entry starts aligned).
@Suite struct S8ThreadsBatchLayoutTests {
    static func segment(_ index: Int, length: Int) -> TCPSegment {
        let client: IPAddress = index % 2 == 0 ? .v4(0xC000_0200 | UInt32(index & 0xFF)) : .v6(high: 0x2001_0DB8_0000_0002, low: UInt64(index))
        let server: IPAddress = index % 2 == 0 ? .v4(0xC633_6419) : .v6(high: 0x2001_0DB8_0000_0001, low: 0x25)
        return TCPSegment(
            source: Endpoint(address: client, port: UInt16(30_000 + index)), destination: Endpoint(address: server, port: 25),
            sequenceNumber: UInt32(truncatingIfNeeded: index &* 7_919), acknowledgmentNumber: UInt32(truncatingIfNeeded: index &* 104_729),
            flags: TCPFlags(rawValue: UInt16(truncatingIfNeeded: index &* 37)), window: UInt16(truncatingIfNeeded: index &* 3),
            options: TCPOptions(maximumSegmentSize: UInt16(1_000 + index % 500), timestampValue: UInt32(index)),
            payloadLength: length, wirePayloadLength: length + index % 3)
    }

    @Test func entriesAndPayloadsComeBackWithEveryField() {
        let batch = ParallelBatch(workers: 3)
        for round in 0..<2 {
            var expected: [(ParallelBatch.Entry.Kind, UInt64, Int64, Int64, Int)] = []
            batch.append(.begin, frame: UInt64(round), now: .min)
            expected.append((.begin, UInt64(round), .min, .min, -1))
            // Ticks alone, three times the entry limit: the arena must grow to hold them.
            for tick in 0..<(3 * batch.entryLimit) {
                batch.append(.tick, frame: UInt64(tick), now: Int64(tick) * 1_000)
                expected.append((.tick, UInt64(tick), Int64(tick) * 1_000, Int64(tick) * 1_000, -1))
            }
            #expect(batch.isFull)
            // Segments of odd lengths: 0 to 17 bytes, then a few larger ones.
            let lengths = Array(0...17) + [1_459, 1_460, 9_001]
            for (index, length) in lengths.enumerated() {
                let bytes = ParallelBatchTests.payload(index + round, length)
                _ = bytes.withUnsafeBytes { raw in
                    batch.appendSegment(
                        Self.segment(index, length: length), payload: raw, frame: UInt64(10_000 + index),
                        timestampNanoseconds: Int64(index) - 5, now: Int64(index) + 5)
                }
                expected.append((.segment, UInt64(10_000 + index), Int64(index) - 5, Int64(index) + 5, index))
            }
            batch.append(.finish, frame: .max, now: 42)
            expected.append((.finish, .max, 42, 42, -1))

            var seen = 0
            batch.forEachEntry { entry, contents in
                guard seen < expected.count else {
                    Issue.record("more entries than appended")
                    return
                }
                let (kind, frame, timestamp, now, index) = expected[seen]
                #expect(entry.kind == kind && entry.frame == frame && entry.now == now, "entry \(seen)")
                #expect(entry.timestampNanoseconds == timestamp, "entry \(seen)")
                if index >= 0 {
                    guard case .segment(let got, let bytes) = contents else {
                        Issue.record("entry \(seen) is not a segment")
                        seen += 1
                        return
                    }
                    let want = Self.segment(index, length: lengths[index])
                    #expect(got.source == want.source && got.destination == want.destination, "entry \(seen)")
                    #expect(got.sequenceNumber == want.sequenceNumber && got.acknowledgmentNumber == want.acknowledgmentNumber)
                    #expect(got.flags == want.flags && got.window == want.window && got.options == want.options)
                    #expect(got.payloadLength == want.payloadLength && got.wirePayloadLength == want.wirePayloadLength)
                    #expect(Array(bytes) == ParallelBatchTests.payload(index + round, lengths[index]), "payload \(index)")
                } else if case .none = contents {
                } else {
                    Issue.record("entry \(seen) carries contents")
                }
                seen += 1
            }
            #expect(seen == expected.count)
            batch.reset()
            #expect(!batch.isFull)
            var afterReset = 0
            batch.forEachEntry { _, _ in afterReset += 1 }
            #expect(afterReset == 0)
        }
    }
}

/// The reader's port test (``ParallelFlows/follows(_:)``) rejects ports outside the followed
/// range before the bitmap: it must agree with the followed set on every port, for sets with
/// gaps, one port, the extremes, and none.
@Suite struct S8ThreadsPortFilterTests {
    @Test(arguments: [Set<UInt16>([25, 587, 2525]), [587, 2525], [25], [0, 65_535], [1, 64, 65, 128], []])
    func followsExactlyTheFollowedPorts(ports: Set<UInt16>) {
        var options = AnalysisOptions()
        options.reassembly.ports = ports
        let flows = ParallelFlows(options: options, threads: 2)
        defer { flows.stop() }
        var wrong: [UInt16] = []
        for port in 0...UInt16.max where flows.follows(port) != ports.contains(port) { wrong.append(port) }
        #expect(wrong == [], "ports \(ports.sorted())")
    }
}
