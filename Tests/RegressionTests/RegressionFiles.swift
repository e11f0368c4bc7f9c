import Foundation
import TestSupport

/// The minimised inputs in `captures/regressions/`. A file's name says which
/// fuzz harness's input format it uses and so which replay reads it:
/// `wire-…`, `reassembly-…`, `smtp-…`, `pcap-…` (see captures/regressions/README.md).
enum RegressionFiles {
    static let folder = PackagePaths.captures.appendingPathComponent("regressions")

    /// File names, sorted; dot-files and READMEs left out.
    static let all: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && !$0.hasSuffix(".md") }.sorted()
    }()

    static func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    static func bytes(_ name: String) -> [UInt8] {
        (try? Data(contentsOf: folder.appendingPathComponent(name))).map { Array($0) } ?? []
    }

    /// The harness whose input format a file uses, from its name.
    static func harness(_ name: String) -> String { String(name.prefix { $0 != "-" }) }

    /// Inputs that still show a known, reported bug (Tests/Fuzz/known-bugs.txt),
    /// each replayed by its own test in `KnownBugTests`.
    static let knownBugs: [String: KnownBug] = [:]

    struct KnownBug {
        /// The id in Tests/Fuzz/known-bugs.txt.
        var id: String
        /// The input traps: the in-process replay of every file must skip it
        /// (its own test replays it in a child process).
        var traps: Bool
    }
}
