import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Counts heap allocations exactly: a tiny preloaded library wraps every
/// glibc allocation entry point (malloc, calloc, realloc, memalign,
/// aligned_alloc, posix_memalign) and counts calls of the calling thread
/// (the measured loop is synchronous, so it stays on one). The benchmark builds it
/// with `cc` at run time and re-runs its own test binary with `LD_PRELOAD`,
/// since interposing malloc only works from process start.
enum AllocationCounter {
    static let symbol = "smtpscope_alloc_calls"
    /// Set in the re-run child: only the allocation benchmark runs there.
    static let childVariable = "SMTPSCOPE_BENCH_ALLOCATIONS_CHILD"

    static let source = """
        #define _GNU_SOURCE
        #include <stddef.h>
        #include <errno.h>
        /* Per thread: tests running in parallel do not add to the figure. */
        static __thread unsigned long calls;
        unsigned long smtpscope_alloc_calls(void) { return calls; }
        static void count(void) { calls++; }
        extern void *__libc_malloc(size_t);
        extern void *__libc_calloc(size_t, size_t);
        extern void *__libc_realloc(void *, size_t);
        extern void *__libc_memalign(size_t, size_t);
        void *malloc(size_t n) { count(); return __libc_malloc(n); }
        void *calloc(size_t a, size_t b) { count(); return __libc_calloc(a, b); }
        void *realloc(void *p, size_t n) { count(); return __libc_realloc(p, n); }
        void *memalign(size_t a, size_t n) { count(); return __libc_memalign(a, n); }
        void *aligned_alloc(size_t a, size_t n) { count(); return __libc_memalign(a, n); }
        int posix_memalign(void **out, size_t a, size_t n) {
            count();
            void *p = __libc_memalign(a, n);
            if (!p) return ENOMEM;
            *out = p;
            return 0;
        }
        """

    typealias Read = @convention(c) () -> UInt

    /// Reads this thread's allocation calls so far, or nil when the counter is
    /// not preloaded. Look it up once, outside the measured window.
    static func reader() -> Read? {
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), symbol) else { return nil }  // RTLD_DEFAULT
        return unsafeBitCast(address, to: Read.self)
    }

    /// Builds the counter library into a temporary folder; nil (with the reason printed) on failure.
    static func build() -> String? {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("smtpscope-alloc-\(getpid())")
        let sourcePath = folder.appendingPathComponent("count.c").path
        let libraryPath = folder.appendingPathComponent("libcount.so").path
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
        } catch {
            print("reassembly allocations: cannot write the counter source: \(error)")
            return nil
        }
        let status = run("/usr/bin/env", ["cc", "-O2", "-shared", "-fPIC", "-o", libraryPath, sourcePath], environment: nil)
        guard status.code == 0 else {
            print("reassembly allocations: cc failed (\(status.code)): \(status.output)")
            return nil
        }
        return libraryPath
    }

    /// Re-runs this test binary with the counter preloaded; returns its output.
    static func runSelfPreloaded(library: String) -> (code: Int32, output: String) {
        var environment = ProcessInfo.processInfo.environment
        environment["LD_PRELOAD"] = library
        environment[childVariable] = "1"
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return run(executable, Array(CommandLine.arguments.dropFirst()), environment: environment)
    }

    private static func run(_ executable: String, _ arguments: [String], environment: [String: String]?) -> (code: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do {
            try process.run()
        } catch {
            return (-1, "\(error)")
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
