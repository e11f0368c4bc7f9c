#if canImport(Glibc)
    import Glibc
#endif

/// Runs `arguments` with standard output and standard error into files and
/// returns its exit status (128 + signal when killed), wall time and peak RSS.
///
/// Peak RSS is the child's `VmHWM`, read from `/proc/<pid>/status` every 2 ms
/// until it exits (a zombie has no memory figures left). `ru_maxrss` cannot be
/// used: glibc's `posix_spawn` runs the child on the parent's memory until
/// `exec`, and Linux carries that memory's high-water mark into the child's
/// `ru_maxrss`, so it reports at least the parent's own peak.
func runChildCapturing(_ arguments: [String], stdoutPath: String, stderrPath: String) -> ChildRun? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    let argv = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    let clock = ContinuousClock()
    let started = clock.now
    var pid: pid_t = 0
    guard let program = argv[0], posix_spawnp(&pid, program, &actions, nil, argv, environ) == 0 else { return nil }
    var status: Int32 = 0
    var peak = 0
    while true {
        peak = max(peak, highWaterKilobytes(pid))
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid { break }
        guard reaped == 0 else { return nil }
        usleep(2_000)
    }
    let elapsed = clock.now - started
    let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return ChildRun(
        status: exitStatus,
        seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18,
        peakKilobytes: peak)
}

/// `VmHWM` of a running process, kB (0 once it has exited).
private func highWaterKilobytes(_ pid: pid_t) -> Int {
    guard let file = fopen("/proc/\(pid)/status", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("VmHWM:") {
            return Int(text.dropFirst(6).filter { $0.isNumber }) ?? 0
        }
    }
    return 0
}
