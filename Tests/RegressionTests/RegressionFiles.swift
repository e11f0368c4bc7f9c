import Foundation
import TestSupport

/// The minimised inputs in `captures/regressions/`. A file's name says which
/// fuzz harness found it and so which replay reads it:
/// `wire-…`, `reassembly-…`, `smtp-…`, `pcap-…` (then `crash|timeout|oom-HASH`).
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

  /// The harness a file came from, from its name.
  static func harness(_ name: String) -> String { String(name.prefix { $0 != "-" }) }

  /// Inputs that still trap in the package (a known bug each, replayed in a
  /// child process by its own test); the in-process replay of every file
  /// skips them so the suite can run.
  static let trapping: Set<String> = []
}
