#if canImport(Glibc)
import Glibc
#endif

/// Standard error, one message per line.
enum Diagnostics {
    static func write(_ message: String) {
        let line = message.hasSuffix("\n") ? message : message + "\n"
        var bytes = Array(line.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
            if written <= 0 { return }
            bytes = bytes.dropFirst(written)
        }
    }
}

/// Where results go: standard output or a file given with `--output`.
final class OutputSink {
    private let file: UnsafeMutablePointer<FILE>
    private let ownsFile: Bool
    private var failed = false
    /// Standard output is a terminal: each write appears at once, with the progress line
    /// cleared first (``TerminalLine``), instead of 64 KiB at a time over it.
    private let toTerminal: Bool
    /// The `FILE`'s buffer: glibc ignores `setvbuf`'s size without one and writes 4 KiB at a
    /// time (6,000 write calls for the bench capture's 24 MB of JSON Lines, on the thread that
    /// also reads the capture); a file's is freed once it is closed.
    private let buffer: UnsafeMutableRawPointer
    private static let bufferSize = 65_536

    struct OpenError: Error, CustomStringConvertible {
        var description: String
    }

    init(path: String?) throws {
        guard let path, path != "-" else {
            guard let standardOutput = fdopen(STDOUT_FILENO, "w") else {
                throw OpenError(description: "-: cannot write to standard output")
            }
            file = standardOutput
            ownsFile = false
            toTerminal = isatty(STDOUT_FILENO) == 1
            buffer = Self.giveBuffer(to: standardOutput)
            return
        }
        guard let opened = fopen(path, "w") else {
            throw OpenError(description: "\(path): cannot write output: \(String(cString: strerror(errno)))")
        }
        file = opened
        ownsFile = true
        toTerminal = false
        buffer = Self.giveBuffer(to: opened)
    }

    private static func giveBuffer(to file: UnsafeMutablePointer<FILE>) -> UnsafeMutableRawPointer {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 64)
        setvbuf(file, buffer.assumingMemoryBound(to: CChar.self), _IOFBF, bufferSize)
        return buffer
    }

    func write(_ text: String) {
        guard toTerminal else {
            if fputs(text, file) < 0 { failed = true }
            return
        }
        TerminalLine.shared.withLineCleared {
            if fputs(text, file) < 0 || fflush(file) != 0 { failed = true }
        }
    }

    /// Bytes as they are (e.g. a JSON line from `JSONLinesEncoder.LineWriter`), borrowed for the call.
    func write(bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        guard toTerminal else {
            if fwrite(base, 1, bytes.count, file) != bytes.count { failed = true }
            return
        }
        TerminalLine.shared.withLineCleared {
            if fwrite(base, 1, bytes.count, file) != bytes.count || fflush(file) != 0 { failed = true }
        }
    }

    /// Flushes (and closes a file); false when anything failed to be written. Call once: the
    /// sink is unusable afterwards.
    func close() -> Bool {
        if fflush(file) != 0 { failed = true }
        // Standard output's stream stays open, and with it its buffer (one per process).
        if ownsFile {
            if fclose(file) != 0 { failed = true }
            buffer.deallocate()
        }
        return !failed
    }
}
