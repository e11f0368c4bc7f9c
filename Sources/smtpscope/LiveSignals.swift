import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// SIGINT/SIGTERM for `live`: the first asks the capture loop to stop cleanly (it
/// looks at ``LiveSignals/stopRequested`` at least every tick); a second one exits
/// at once with 128 + the signal number, as a shell would report it.
enum LiveSignals {
    /// Signals received so far; an atomic is async-signal-safe to touch from a handler.
    fileprivate static let received = Atomic<Int>(0)

    static var stopRequested: Bool { received.load(ordering: .relaxed) > 0 }

    /// Installs the handlers without `SA_RESTART`, so a signal also cuts a `poll` short,
    /// unblocks them, and ignores SIGPIPE so a closed output pipe is a write error we report, not a silent death.
    static func install() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            if LiveSignals.received.wrappingAdd(1, ordering: .relaxed).oldValue > 0 { _exit(128 + signal) }
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        signal(SIGPIPE, SIG_IGN)
        // A parent may have left them blocked (the mask survives exec); then no handler would ever run.
        var stops = sigset_t()
        sigemptyset(&stops)
        sigaddset(&stops, SIGINT)
        sigaddset(&stops, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &stops, nil)
    }
}
