import Foundation

/// The golden-file corpus: every capture under `captures/` and the reviewed
/// `<capture>.expected.jsonl` next to it (what `smtpscope analyze --format jsonl` must print).
public enum GoldenFiles {
    /// Capture files (`.pcap`, `.pcapng`) under `captures/`, as paths relative to the package root, sorted.
    public static func captures() throws -> [String] {
        let root = PackagePaths.root.standardizedFileURL.path + "/"
        guard let walker = FileManager.default.enumerator(atPath: PackagePaths.captures.path) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "no captures/ folder under \(root)"])
        }
        var found: [String] = []
        while let relative = walker.nextObject() as? String {
            guard relative.hasSuffix(".pcap") || relative.hasSuffix(".pcapng") else { continue }
            let path = PackagePaths.captures.appendingPathComponent(relative).standardizedFileURL.path
            found.append(path.hasPrefix(root) ? String(path.dropFirst(root.count)) : path)
        }
        return found.sorted()
    }

    /// `captures/x/y.pcap` → `captures/x/y.pcap.expected.jsonl` (absolute).
    public static func expectedFile(for relativePath: String) -> URL {
        PackagePaths.root.appendingPathComponent(relativePath + ".expected.jsonl")
    }

    /// `SMTPSCOPE_RECORD_GOLDENS=1`: rewrite the expected files (and fail the run, so that
    /// no baseline changes without a review).
    public static var isRecording: Bool {
        ProcessInfo.processInfo.environment["SMTPSCOPE_RECORD_GOLDENS"] == "1"
    }

    /// Where two JSON Lines texts first differ, in words; nil when equal.
    public static func difference(expected: String, actual: String) -> String? {
        let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let got = actual.split(separator: "\n", omittingEmptySubsequences: false)
        for index in 0..<max(want.count, got.count) {
            let a = index < want.count ? String(want[index]) : "<none>"
            let b = index < got.count ? String(got[index]) : "<none>"
            guard a != b else { continue }
            let common = zip(a, b).prefix { $0 == $1 }.count
            let context = String(a.prefix(common).suffix(80))
            return "line \(index + 1) differs after …\(context)\n  expected: …\(a.dropFirst(common).prefix(160))\n  actual:   …\(b.dropFirst(common).prefix(160))"
        }
        return nil
    }
}
