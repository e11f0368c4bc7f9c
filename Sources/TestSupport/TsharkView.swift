import Foundation

/// tshark's view of a capture, stored next to it as `FILE.tshark.tsv`
/// (`tshark -r FILE -T fields -e frame.number -e tcp.len`): the independent
/// expectation for frame counts and TCP payload lengths.
public struct TsharkView: Equatable, Sendable {
    /// One frame: its number and, when tshark saw TCP, the TCP payload length.
    public struct Row: Equatable, Sendable, CustomStringConvertible {
        public var frame: UInt64
        public var tcpLength: Int?

        public init(frame: UInt64, tcpLength: Int?) {
            self.frame = frame
            self.tcpLength = tcpLength
        }

        public var description: String { "\(frame)\t\(tcpLength.map(String.init) ?? "")" }
    }

    public var rows: [Row]

    /// Reads the `.tshark.tsv` stored next to `capture`.
    public init(nextTo capture: URL) throws {
        let text = try String(contentsOf: URL(fileURLWithPath: capture.path + ".tshark.tsv"), encoding: .utf8)
        rows = try text.split(separator: "\n", omittingEmptySubsequences: true).map { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard let frame = fields.first.flatMap({ UInt64($0) }) else {
                throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "bad tshark line: \(line)"])
            }
            let length = fields.count > 1 ? Int(fields[1]) : nil
            return Row(frame: frame, tcpLength: length)
        }
    }

    /// Number of frames tshark read.
    public var frameCount: Int { rows.count }
}

/// The captures shipped in `captures/foundation`, sorted by name.
public enum FoundationCaptures {
    public static var folder: URL { PackagePaths.captures.appendingPathComponent("foundation") }

    /// Every `.pcap` and `.pcapng` file in the folder.
    public static func all() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { ["pcap", "pcapng"].contains($0.pathExtension) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    public static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }
}
