import Foundation
import Testing
import TestSupport

/// Every recorded capture in `captures/` (outside `regressions/`) through the
/// `pcap` harness's replay: the reassembler's stream contract and statistics,
/// the Analyzer agreeing with it on the flows, and the bounds of
/// ``checkCapture(_:inputCount:)`` hold on real traffic too, not only on fuzz input.
struct RecordedCaptureTests {
    static let files: [String] = {
        let root = PackagePaths.captures
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
        var found: [String] = []
        while let path = walker.nextObject() as? String {
            guard !path.hasPrefix("regressions/"), path.hasSuffix(".pcap") || path.hasSuffix(".pcapng") else { continue }
            found.append(path)
        }
        return found.sorted()
    }()

    @Test func capturesAreThere() {
        #expect(Self.files.count >= 10)
    }

    @Test(arguments: files)
    func recordedCaptureKeepsTheContract(_ path: String) throws {
        let bytes = Array(try Data(contentsOf: PackagePaths.captures.appendingPathComponent(path)))
        let outcome = bytes.withUnsafeBufferPointer { CaptureReplay.run($0) }
        checkCapture(outcome, inputCount: bytes.count)
    }
}
