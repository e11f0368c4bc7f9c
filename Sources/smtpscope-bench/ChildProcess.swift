import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A finished child process: exit status, wall time and peak RSS from `wait4`.
struct ChildRun {
    var status: Int32
    var seconds: Double
    /// `ru_maxrss`: the child's peak resident set, kB.
    var peakKilobytes: Int
    /// This process's own peak (VmHWM) when it spawned the child, kB. glibc's
    /// `posix_spawn` runs the child on this process's memory until `exec`, and
    /// Linux carries that memory's high-water mark into the child's `ru_maxrss`:
    /// a `peakKilobytes` not above this may be ours rather than the child's.
    var parentPeakKilobytes = 0

    /// Whether `peakKilobytes` is certainly the child's own.
    var peakIsChilds: Bool { peakKilobytes > parentPeakKilobytes }
}

/// Runs `arguments` (PATH searched) with stdout to `stdoutPath` and stderr
/// inherited or to `stderrPath`, adding `environment` entries; waits and
/// reports its rusage.
func runChild(_ arguments: [String], stdoutPath: String, stderrPath: String? = nil, environment: [String: String] = [:]) -> ChildRun? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    if let stderrPath { posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }

    var envStrings: [String] = []
    var index = 0
    while let entry = environ[index] {
        let text = String(cString: entry)
        let name = String(text.prefix { $0 != "=" })
        if environment[name] == nil { envStrings.append(text) }
        index += 1
    }
    envStrings += environment.map { "\($0.key)=\($0.value)" }

    let argv = arguments.map { strdup($0) } + [nil]
    let envp = envStrings.map { strdup($0) } + [nil]
    defer {
        for pointer in argv { free(pointer) }
        for pointer in envp { free(pointer) }
    }
    let parentPeak = procStatus("VmHWM")
    let clock = ContinuousClock()
    let started = clock.now
    var pid: pid_t = 0
    guard let program = argv[0], posix_spawnp(&pid, program, &actions, nil, argv, envp) == 0 else { return nil }
    var status: Int32 = 0
    var usage = rusage()
    guard wait4(pid, &status, 0, &usage) == pid else { return nil }
    let elapsed = clock.now - started
    let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return ChildRun(
        status: exitStatus,
        seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18,
        peakKilobytes: usage.ru_maxrss, parentPeakKilobytes: parentPeak)
}

/// This executable's path (to re-run it for one stage).
func ownExecutable() -> String {
    var buffer = [CChar](repeating: 0, count: 4_096)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { return CommandLine.arguments[0] }
    return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Like ``runChild``, but the peak RSS is the child's own: GNU time, a small
/// program, forks and execs it and reports its `ru_maxrss` (%M), so neither
/// our memory nor time's leaks into the figure. Without /usr/bin/time, falls
/// back to ``runChild`` (whose figure ``ChildRun/peakIsChilds`` qualifies).
func runChildMeasured(_ arguments: [String], stdoutPath: String, stderrPath: String? = nil) -> ChildRun? {
    let time = "/usr/bin/time"
    guard FileManager.default.isExecutableFile(atPath: time) else { return runChild(arguments, stdoutPath: stdoutPath, stderrPath: stderrPath) }
    let report = temporaryPath("time-\(arguments.count)")
    defer { try? FileManager.default.removeItem(atPath: report) }
    guard var run = runChild([time, "-f", "%M", "-o", report] + arguments, stdoutPath: stdoutPath, stderrPath: stderrPath) else { return nil }
    let text = ((try? String(contentsOfFile: report, encoding: .utf8)) ?? "").split(separator: "\n").last.map(String.init) ?? ""
    guard let kilobytes = Int(text.trimmingCharacters(in: .whitespaces)) else { return run }
    run.peakKilobytes = kilobytes
    run.parentPeakKilobytes = 0
    return run
}
