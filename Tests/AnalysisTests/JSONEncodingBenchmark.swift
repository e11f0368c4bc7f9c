@testable import Analysis
import Capture
import Foundation
import Testing

/// Encoder speed alone: the records of one capture (default the 20 MB bench capture,
/// SMTPSCOPE_BENCH_CAPTURE to change it) encoded `rounds` times through the tree reference,
/// the `String` API and the byte API. Prints ns per flow record and MB/s; asserts only that
/// the three wrote the same number of bytes. Figures mean something in release builds only.
/// Opt-in: SMTPSCOPE_BENCH=1 swift test -c release --filter JSONEncodingBenchmark
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SMTPSCOPE_BENCH"] == "1"))
struct JSONEncodingBenchmark {
    static let path = ProcessInfo.processInfo.environment["SMTPSCOPE_BENCH_CAPTURE"] ?? "/tmp/smtpscope-bench-20MB-seed1.pcap"

    static func analyze() throws -> AnalysisResult {
        let capture = try OfflineCapture(path: path)
        let analyzer = Analyzer()
        analyzer.beginCapture(name: path)
        _ = capture.readPackets { info, frame in
            analyzer.process(info, frame: frame)
            return .next
        }
        return analyzer.finish()
    }

    /// Seconds for the best of 3 runs of `body`, and the bytes its last run wrote.
    static func best(_ body: () -> Int) -> (seconds: Double, bytes: Int) {
        var best = Double.infinity
        var bytes = 0
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            bytes = body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return (best, bytes)
    }

    @Test func flowRecords() throws {
        let result = try Self.analyze()
        let flows = result.flows
        try #require(!flows.isEmpty, "no flows in \(Self.path)")
        let rounds = 20
        let reference = Self.best {
            var bytes = 0
            for _ in 0..<rounds { for flow in flows { bytes += JSONReferenceEncoder.encode(flow).utf8.count + 1 } }
            return bytes
        }
        let strings = Self.best {
            var writer = JSONLinesEncoder.LineWriter()
            var bytes = 0
            for _ in 0..<rounds { for flow in flows { writer.write(flow, to: { bytes += $0.utf8.count }) } }
            return bytes
        }
        let raw = Self.best {
            var writer = JSONLinesEncoder.LineWriter()
            var bytes = 0
            for _ in 0..<rounds { for flow in flows { writer.write(flow, bytesTo: { bytes += $0.count }) } }
            return bytes
        }
        #expect(strings.bytes == reference.bytes)
        #expect(raw.bytes == reference.bytes)
        let records = Double(flows.count * rounds)
        for (name, figures) in [("JSONValue tree (before)", reference), ("LineWriter.write(_:to:) String", strings), ("LineWriter.write(_:bytesTo:)", raw)] {
            let perRecord = figures.seconds / records * 1e9
            let rate = Double(figures.bytes) / figures.seconds / 1e6
            print("json encode \(name): \(String(format: "%.0f", perRecord)) ns/flow record, \(String(format: "%.0f", rate)) MB/s "
                + "(\(flows.count) flows x \(rounds), \(figures.bytes / rounds) bytes per round)")
        }
    }
}
