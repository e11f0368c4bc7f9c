#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// A mutex with a condition variable (POSIX), for the reader and its workers: what
/// `NSCondition` offers, without linking Foundation into every run for it.
///
/// The pthread objects live in their own allocation: their address never moves.
final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    /// Waits for a ``broadcast()``, the lock released meanwhile (callers loop on their predicate).
    func wait() { pthread_cond_wait(condition, mutex) }
    func broadcast() { pthread_cond_broadcast(condition) }
}

/// Starts a detached thread running `body`, with `stackSize` bytes of stack; returns false when
/// the system refuses one.
func startDetachedThread(name: String, stackSize: Int, _ body: @escaping @Sendable () -> Void) -> Bool {
    final class Start: @unchecked Sendable {
        let body: @Sendable () -> Void
        let name: String
        init(_ body: @escaping @Sendable () -> Void, name: String) { (self.body, self.name) = (body, name) }
    }
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setstacksize(&attributes, stackSize)
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    let start = Unmanaged.passRetained(Start(body, name: name)).toOpaque()
    var thread = pthread_t()
    let status = pthread_create(&thread, &attributes, { context in
        guard let context else { return nil }
        let start = Unmanaged<Start>.fromOpaque(context).takeRetainedValue()
        #if os(Linux)
        _ = setThreadName(pthread_self(), String(start.name.prefix(15)))
        #endif
        start.body()
        return nil
    }, start)
    if status != 0 {
        Unmanaged<Start>.fromOpaque(start).release()
        return false
    }
    return true
}

#if os(Linux)
/// glibc's `pthread_setname_np`, which the Glibc module hides (it needs `_GNU_SOURCE`): names the
/// worker in `top -H` and debuggers. Linux allows 15 bytes.
@_silgen_name("pthread_setname_np")
private func setThreadName(_ thread: pthread_t, _ name: UnsafePointer<CChar>) -> Int32
#endif
