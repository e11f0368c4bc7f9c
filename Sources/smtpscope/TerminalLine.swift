import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The status line at the bottom of the terminal, shared by the progress indicator (standard
/// error) and results written to the same terminal (standard output).
///
/// A result must never land on the end of a progress line: writing one first clears the line,
/// and the next progress update draws it again below the result. With `--threads` the results
/// come from a worker thread while the reading thread draws the progress, so both go through
/// one lock. Only terminals take this path: without one there is no progress line, and output
/// to a file or pipe is written straight into its buffer.
final class TerminalLine: Sendable {
    static let shared = TerminalLine()

    /// True while a progress line is on the screen.
    private let shown = Mutex(false)

    /// Draws `text` (no line break) as the status line, replacing the one shown.
    func show(_ text: String) {
        shown.withLock { shown in
            Self.writeAll(STDERR_FILENO, "\r\u{1B}[K" + text)
            shown = true
        }
    }

    /// Removes the status line, if one is shown.
    func clear() {
        shown.withLock { shown in
            guard shown else { return }
            Self.writeAll(STDERR_FILENO, "\r\u{1B}[K")
            shown = false
        }
    }

    /// Runs `write`, which puts a result on the terminal, with the status line cleared first.
    func withLineCleared(_ write: () -> Void) {
        shown.withLock { shown in
            if shown {
                Self.writeAll(STDERR_FILENO, "\r\u{1B}[K")
                shown = false
            }
            write()
        }
    }

    private static func writeAll(_ descriptor: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written <= 0 { return }
            bytes = bytes.dropFirst(written)
        }
    }
}
