import Foundation
import Analysis
import Capture
import Testing
import Wire

/// ``Analyzer`` with worker threads (issue 9) against the same analyzer on one thread, the
/// independent expectation: every JSON line (flows in close order, messages, summary) must be
/// the same. The traffic is built so that the merge has work to do: flows close out of
/// flow-index order, several captures in one run, idle timeouts that end many flows on the same
/// clock tick (in different workers), packets after an idle close that reopen a flow mid-stream,
/// and timestamps that go backwards.
@Suite struct ParallelAnalyzerTests {
    /// Both captures of ``IncrementalSummaryTests`` (370 flows, retries across captures), in
    /// capture order; with `backwards`, every 7th frame is stamped 3 s earlier than it was.
    static func inputs(backwards: Bool) -> [[(nanoseconds: Int64, bytes: [UInt8])]] {
        IncrementalSummaryTests.captures().map { conversations in
            var frames = conversations.flatMap { $0.frames() }.enumerated()
                .sorted { ($0.element.nanoseconds, $0.offset) < ($1.element.nanoseconds, $1.offset) }.map(\.element)
            if backwards {
                for index in frames.indices where index % 7 == 3 { frames[index].nanoseconds -= 3_000_000_000 }
            }
            return frames
        }
    }

    /// Every JSON line one run prints, in order.
    static func lines(threads: Int, options: AnalysisOptions, inputs: [[(nanoseconds: Int64, bytes: [UInt8])]]) -> [String] {
        var options = options
        options.retainFlowRecords = false
        var out: [String] = []
        var writer = JSONLinesEncoder.LineWriter()
        let analyzer = Analyzer(options: options, threads: threads, onFlow: { flow in writer.write(flow, to: { out.append($0) }) })
        for (index, frames) in inputs.enumerated() {
            analyzer.beginCapture(name: "capture \(index)")
            var frameNumber: UInt64 = 0
            feed(frames, to: analyzer, frameNumber: &frameNumber)
            analyzer.endCapture()
        }
        let result = analyzer.finish()
        writer.writeEnd(messages: result.messages, summary: result.summary, to: { out.append($0) })
        return out
    }

    static func expectSame(_ options: AnalysisOptions, backwards: Bool, threads: Int) -> [String] {
        let inputs = inputs(backwards: backwards)
        let one = lines(threads: 1, options: options, inputs: inputs)
        let many = lines(threads: threads, options: options, inputs: inputs)
        #expect(many.count == one.count)
        if let first = zip(one, many).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            Issue.record("threads \(threads): line \(first.offset + 1) differs:\n  1: \(first.element.0)\n  \(threads): \(first.element.1)")
        }
        return one
    }

    @Test(arguments: [2, 3, 5])
    func sameLinesAsOneThread(threads: Int) {
        let one = Self.expectSame(AnalysisOptions(), backwards: false, threads: threads)
        // 370 flows, 70 retried messages (IncrementalSummaryTests' plan), then the summary.
        #expect(one.count == 370 + 70 + 1)
    }

    /// A 2 s idle timeout ends the 100 stalled flows (15 s without a packet before the client's FIN)
    /// on clock ticks; the FINs that follow open new flows mid-stream. Every 7th frame goes back 3 s.
    @Test(arguments: [2, 3, 5])
    func idleTimeoutsAndBackwardTimestampsAsOneThread(threads: Int) {
        var options = AnalysisOptions()
        options.reassembly.idleTimeoutNanoseconds = 2_000_000_000
        options.reassembly.closedFlowRetentionNanoseconds = 5_000_000_000
        let one = Self.expectSame(options, backwards: true, threads: threads)
        // The case is what it says: flows ended idle were reopened by later packets (mid-stream
        // flows), and the capture clock went backwards.
        let midstream = one.filter { $0.hasPrefix("{\"type\":\"flow\"") && $0.contains("\"capture.midstream\"") }.count
        #expect(midstream >= 100)
        let frames = Self.inputs(backwards: true)[0]
        #expect(zip(frames, frames.dropFirst()).contains { $0.nanoseconds > $1.nanoseconds })
    }

    /// A flow table too small for the traffic: divided among workers the limit is still reached
    /// and reported, in the summary and on the flows it evicted.
    @Test func flowTableLimitIsReported() throws {
        var options = AnalysisOptions()
        options.reassembly.maxFlows = 4
        options.retainFlowRecords = true
        // Three threads: two workers, each with a table of two flows.
        let analyzer = Analyzer(options: options, threads: 3)
        var frameNumber: UInt64 = 0
        analyzer.beginCapture(name: "outside")
        feed(Self.inputs(backwards: false)[0], to: analyzer, frameNumber: &frameNumber)
        let result = analyzer.finish()
        let limits = result.summary.captures.first?.limitsHit ?? 0
        #expect(limits > 0)
        let evicted = result.flows.filter { $0.findings.contains { $0.code == .limitReached } }.count
        #expect(evicted > 0)
        #expect(UInt64(evicted) <= limits)
    }

    /// An analyzer read from again after ``Analyzer/finish()`` keeps its workers (no deadlock)
    /// and reports what one thread reports.
    @Test func readsAgainAfterFinish() {
        func summaries(threads: Int) -> [String] {
            let analyzer = Analyzer(options: AnalysisOptions(), threads: threads)
            var lines: [String] = []
            for (index, frames) in Self.inputs(backwards: false).enumerated() {
                analyzer.beginCapture(name: "capture \(index)")
                var frameNumber: UInt64 = 0
                feed(frames, to: analyzer, frameNumber: &frameNumber)
                lines.append(JSONLinesEncoder.encode(analyzer.finish().summary))
            }
            return lines
        }
        let one = summaries(threads: 1)
        #expect(one.count == 2)
        #expect(summaries(threads: 2) == one)  // one worker: it merges its own flows
        #expect(summaries(threads: 3) == one)
    }

    /// An analyzer dropped in the middle of an input, rounds still out with its worker: no crash,
    /// no delivery once it is gone, and what was delivered is a prefix of what one thread
    /// delivers for the same frames (with one worker, that worker delivers the flows itself).
    @Test(arguments: [2, 3])
    func droppedMidInputDeliversAPrefix(threads: Int) {
        let frames = Array(Self.inputs(backwards: false)[0].prefix(6_000))
        func delivered(threads: Int) -> [Int] {
            let flows = LockedFlows()
            do {
                let analyzer = Analyzer(options: AnalysisOptions(), threads: threads, onFlow: { flows.append($0.flow) })
                analyzer.beginCapture(name: "capture 0")
                var frameNumber: UInt64 = 0
                feed(frames, to: analyzer, frameNumber: &frameNumber)
                if threads == 1 { analyzer.endCapture() }
            }
            return flows.all
        }
        let one = delivered(threads: 1)
        let many = delivered(threads: threads)
        #expect(one.count > 100)
        #expect(many.count <= one.count)
        #expect(Array(one.prefix(many.count)) == many)
    }
}

/// Flow numbers delivered from whichever thread delivers them.
private final class LockedFlows: @unchecked Sendable {
    private let lock = NSLock()
    private var flows: [Int] = []
    func append(_ flow: Int) { lock.lock(); flows.append(flow); lock.unlock() }
    var all: [Int] { lock.lock(); defer { lock.unlock() }; return flows }
}
