import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The progress line and the results on one terminal: `analyze` runs with standard output and
/// standard error on a pseudo-terminal, and what a terminal would show (replayed by a minimal
/// terminal: carriage return, line feed, erase to end of line) must be exactly the text the
/// same run writes to a pipe. A result written over a progress line would leave the progress
/// text in front of it on screen. `SMTPSCOPE_PROGRESS_EVERY` makes the progress line update
/// every few frames, so a capture of a few hundred frames shows it between its results.
@Suite(.serialized) struct ProgressTerminalTests {
    static let capture = "captures/near-miss-default/near-miss-default.pcap"

    @Test(arguments: [["--threads", "1"], ["--threads", "2"]])
    func resultsNeverLandOnTheProgressLine(threads: [String]) throws {
        let arguments = ["analyze", "--all"] + threads + [Self.capture]
        let plain = try CLIRunner.run(arguments)
        #expect(plain.status == 1)
        #expect(plain.stderr.isEmpty)
        #expect(plain.stdout.contains("flow"))

        let raw = try TerminalRun.run(arguments, environment: ["SMTPSCOPE_PROGRESS_EVERY": "4"])
        #expect(raw.status == plain.status)
        let progressDraws = raw.output.components(separatedBy: "frames/s").count - 1
        #expect(progressDraws >= 10, "progress line drawn \(progressDraws) times")
        #expect(TerminalRun.screen(raw.output) == plain.stdout, "\(raw.output.debugDescription)")
    }

    /// Two threads on a generated capture of a few MB: the worker writes connections as it
    /// finishes rounds, while the reading thread draws the progress line.
    @Test func workerResultsNeverLandOnTheProgressLine() throws {
        let capture = try SyntheticCapture.temporaryPath(named: "progress-terminal.pcap")
        let generator = Process()
        generator.executableURL = try GeneratorTests.generatorBinary()
        generator.arguments = ["--size", "4MB", "--seed", "3", "-w", capture.path, "--truth", capture.path + ".truth", "--quiet"]
        try generator.run()
        generator.waitUntilExit()
        try #require(generator.terminationStatus == 0)
        defer {
            try? FileManager.default.removeItem(at: capture)
            try? FileManager.default.removeItem(atPath: capture.path + ".truth")
        }
        let arguments = ["analyze", "--all", "--threads", "2", capture.path]
        let plain = try CLIRunner.run(arguments)
        #expect(plain.stdout.components(separatedBy: ", flow ").count > 20)
        let raw = try TerminalRun.run(arguments, environment: ["SMTPSCOPE_PROGRESS_EVERY": "16"])
        #expect(raw.status == plain.status)
        // Results came out between progress lines, not only after the last one.
        let firstFlow = raw.output.range(of: ", flow ")?.lowerBound ?? raw.output.endIndex
        let lastProgress = raw.output.range(of: "frames/s", options: .backwards)?.lowerBound ?? raw.output.startIndex
        #expect(firstFlow < lastProgress)
        #expect(TerminalRun.screen(raw.output) == plain.stdout)
    }

    /// One thread writes each connection as it closes: on a terminal it appears then, above
    /// the progress line, not in one piece at the end.
    @Test func resultsAppearWhileReading() throws {
        let raw = try TerminalRun.run(["analyze", "--all", "--threads", "1", Self.capture], environment: ["SMTPSCOPE_PROGRESS_EVERY": "4"])
        guard let firstFlow = raw.output.range(of: "flow "), let lastProgress = raw.output.range(of: "frames/s", options: .backwards) else {
            Issue.record("no result or no progress line on the terminal: \(raw.output.debugDescription)")
            return
        }
        #expect(firstFlow.lowerBound < lastProgress.lowerBound)
    }

    /// Without a terminal on standard error there is no progress line, whatever the setting.
    @Test func noProgressWithoutATerminal() throws {
        let plain = try CLIRunner.run(["analyze", "--all", Self.capture])
        #expect(!plain.stderr.contains("frames/s"))
        #expect(!plain.stdout.contains("frames/s"))
    }
}

/// Runs `smtpscope` with a pseudo-terminal as standard output and standard error.
enum TerminalRun {
    struct Result {
        var status: Int32
        /// Everything written to the terminal, as the terminal received it.
        var output: String
    }

    static func run(_ arguments: [String], environment: [String: String], timeout: TimeInterval = 60) throws -> Result {
        // The terminal's default settings: a line feed is sent as \r\n, as on a real one.
        var master: Int32 = -1, replica: Int32 = -1
        guard openpty(&master, &replica, nil, nil, nil) == 0 else {
            throw TerminalError(reason: "no pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        defer { close(master) }
        let terminal = FileHandle(fileDescriptor: replica, closeOnDealloc: false)

        let process = Process()
        process.executableURL = try CLIRunner.executable()
        process.arguments = arguments
        process.currentDirectoryURL = PackagePaths.root
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = terminal
        process.standardError = terminal
        process.standardInput = FileHandle.nullDevice
        try process.run()
        close(replica)

        // Read until the child has exited and the terminal is drained (read fails with EIO
        // once no one holds the other side); bounded by `timeout`.
        var bytes: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 100)
            if ready > 0 {
                let count = chunk.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                bytes += chunk[0..<count]
            } else if !process.isRunning {
                break
            }
        }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: bytes, as: UTF8.self))
    }

    /// What a terminal shows after `output`: `\r` to the line's start, `\n` one line down (same
    /// column), `ESC [ K` erases to the line's end, other characters overwrite at the cursor.
    static func screen(_ output: String) -> String {
        // Unicode scalars, not Characters: "\r\n" is one Character in Swift.
        var lines: [[Unicode.Scalar]] = [[]]
        var row = 0, column = 0
        var characters = Array(output.unicodeScalars)[...]
        while let character = characters.popFirst() {
            switch character {
            case "\r":
                column = 0
            case "\n":
                row += 1
                if row == lines.count { lines.append([]) }
            case "\u{1B}":
                // Only "ESC [ K" is expected; anything else is kept visible as text.
                if characters.starts(with: ["[", "K"]) {
                    characters = characters.dropFirst(2)
                    lines[row].removeSubrange(min(column, lines[row].count)...)
                } else {
                    put(character, &lines[row], &column)
                }
            default:
                put(character, &lines[row], &column)
            }
        }
        return lines.map { String(String.UnicodeScalarView($0)) }.joined(separator: "\n")
    }

    private static func put(_ character: Unicode.Scalar, _ line: inout [Unicode.Scalar], _ column: inout Int) {
        while line.count < column { line.append(" ") }
        if column < line.count { line[column] = character } else { line.append(character) }
        column += 1
    }

    struct TerminalError: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }
}
