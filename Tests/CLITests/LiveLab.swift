import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A failure of the lab itself (missing tool, setup step failed), with a clear message.
struct LabError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One line a background process printed, with the wall-clock time it arrived.
struct TimedLine: Sendable {
    var time: Double
    var text: String
}

/// A child process whose stdout and stderr lines are collected, each stamped on arrival.
final class Child: @unchecked Sendable {
    let process = Process()
    let label: String
    private let lock = NSLock()
    private var outLines: [TimedLine] = []
    private var errLines: [TimedLine] = []
    private var partial = ["out": Data(), "err": Data()]
    private let outPipe = Pipe(), errPipe = Pipe()
    private var drained = false

    init(_ label: String, _ arguments: [String]) throws {
        self.label = label
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let out = outPipe, err = errPipe
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        out.fileHandleForReading.readabilityHandler = { [weak self] handle in self?.take(handle.availableData, "out") }
        err.fileHandleForReading.readabilityHandler = { [weak self] handle in self?.take(handle.availableData, "err") }
        try process.run()
    }

    private func take(_ data: Data, _ stream: String) {
        let now = Date().timeIntervalSince1970
        lock.lock()
        defer { lock.unlock() }
        var buffer = (partial[stream] ?? Data()) + data
        while let newline = buffer.firstIndex(of: 0x0A) {
            let line = TimedLine(time: now, text: String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
            if stream == "out" { outLines.append(line) } else { errLines.append(line) }
            buffer = Data(buffer[buffer.index(after: newline)...])
        }
        partial[stream] = buffer
    }

    /// Takes what is still in the pipes once the process has exited (the handlers may lag behind).
    private func drain() {
        guard lock.withLock({ !drained }) else { return }
        for (pipe, stream) in [(outPipe, "out"), (errPipe, "err")] {
            pipe.fileHandleForReading.readabilityHandler = nil
            take(pipe.fileHandleForReading.readDataToEndOfFile(), stream)
        }
        lock.withLock { drained = true }
    }

    var stdout: [TimedLine] { lock.withLock { outLines } }
    var stderr: [TimedLine] { lock.withLock { errLines } }
    var pid: Int32 { process.processIdentifier }

    /// Waits until `condition` holds, at most `timeout` seconds; false on timeout.
    func wait(for timeout: Double, until condition: (Child) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(self) { return true }
            usleep(20_000)
        }
        return condition(self)
    }

    /// Waits for the process to exit, at most `timeout` seconds; false on timeout.
    func waitForExit(_ timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { return false }
        process.waitUntilExit()
        drain()
        return true
    }

    /// Ends the process if still running (SIGKILL after a short grace), and reaps it.
    /// Children of Foundation's `Process` start with most signals blocked, so SIGTERM
    /// may not reach them: `force` goes straight to SIGKILL.
    func stop(force: Bool = false) {
        if process.isRunning && !force { kill(pid, SIGTERM) }
        if force || !waitForExit(2) {
            if process.isRunning { kill(pid, SIGKILL) }
            _ = waitForExit(5)
        }
    }
}

/// Runs a command to completion (at most `timeout` seconds); returns status and output.
@discardableResult
func shell(_ arguments: [String], timeout: Double = 20) throws -> (status: Int32, output: String) {
    let child = try Child(arguments.joined(separator: " "), arguments)
    guard child.waitForExit(timeout) else {
        child.stop()
        throw LabError("timed out after \(timeout) s: \(arguments.joined(separator: " "))")
    }
    let lines = (child.stdout + child.stderr).map(\.text).joined(separator: "\n")
    return (child.process.terminationStatus, lines)
}

/// Runs a command that must succeed.
func must(_ arguments: [String], timeout: Double = 20) throws {
    let (status, output) = try shell(arguments, timeout: timeout)
    if status != 0 { throw LabError("failed (\(status)): \(arguments.joined(separator: " ")): \(output)") }
}

/// Two network namespaces joined by a veth pair: client 192.0.2.1, server 192.0.2.2
/// (documentation addresses), offloads off so the capture sees the segments as sent.
final class VethLab {
    let client: String, server: String
    let clientLink: String, serverLink: String
    private(set) var children: [Child] = []
    let directory: URL

    static let python = "/usr/bin/python3"

    /// Tools the lab needs, with the Debian package that provides each.
    static func checkTools() throws {
        if geteuid() != 0 { throw LabError("the live capture lab needs root (network namespaces, raw capture)") }
        let tools = [("ip", "iproute2"), ("ss", "iproute2"), ("ethtool", "ethtool"), ("python3", "python3"),
                     ("setpriv", "util-linux"), ("tcpdump", "tcpdump")]
        for (tool, package) in tools where tool != "python3" || !FileManager.default.isExecutableFile(atPath: python) {
            let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
            if !found { throw LabError("\(tool) is missing: install the Debian package \(package)") }
        }
        if try shell([python, "-c", "import aiosmtpd"]).status != 0 {
            throw LabError("python3 cannot import aiosmtpd: install the Debian package python3-aiosmtpd")
        }
    }

    init() throws {
        try Self.checkTools()
        // Unique per process and per lab, so parallel runs do not clash (names ≤ 15 bytes).
        let tag = "\(getpid() % 100_000)\(VethLab.counter.next())"
        client = "sslc\(tag)"
        server = "ssls\(tag)"
        clientLink = "vlc\(tag)"
        serverLink = "vls\(tag)"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("smtpscope-live-\(tag)")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        do {
            try must(["/usr/bin/ip", "netns", "add", client])
            try must(["/usr/bin/ip", "netns", "add", server])
            try must(["/usr/bin/ip", "link", "add", clientLink, "netns", client, "type", "veth", "peer", "name", serverLink, "netns", server])
            try must(["/usr/bin/ip", "-n", client, "addr", "add", "192.0.2.1/24", "dev", clientLink])
            try must(["/usr/bin/ip", "-n", server, "addr", "add", "192.0.2.2/24", "dev", serverLink])
            for (namespace, link) in [(client, clientLink), (server, serverLink)] {
                try must(["/usr/bin/ip", "-n", namespace, "link", "set", "lo", "up"])
                try must(["/usr/bin/ip", "-n", namespace, "link", "set", link, "up"])
                try must(["/usr/bin/ip", "netns", "exec", namespace, "ethtool", "-K", link,
                          "tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx", "off"])
            }
        } catch {
            tearDown()
            throw error
        }
    }

    /// Starts `arguments` inside `namespace` (`ip netns exec` execs it: same pid).
    func start(in namespace: String, _ label: String, _ arguments: [String]) throws -> Child {
        let child = try Child(label, ["/usr/bin/ip", "netns", "exec", namespace] + arguments)
        children.append(child)
        return child
    }

    /// Writes a helper script into the lab folder.
    func script(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Waits until `namespace` has a TCP listener on `address:port`.
    func waitForListener(in namespace: String, _ endpoint: String, timeout: Double = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let (_, output) = try shell(["/usr/bin/ip", "netns", "exec", namespace, "ss", "-ltnH"])
            if output.contains(endpoint + " ") { return }
            usleep(100_000)
        }
        throw LabError("nothing listens on \(endpoint) in \(namespace) after \(timeout) s")
    }

    /// Stops every child, deletes both namespaces (the veth pair goes with them) and the folder.
    func tearDown() {
        for child in children.reversed() { child.stop(force: true) }
        for namespace in [client, server] { _ = try? shell(["/usr/bin/ip", "netns", "del", namespace]) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Namespaces of this lab that still exist.
    func leftoverNamespaces() throws -> [String] {
        let (_, output) = try shell(["/usr/bin/ip", "netns", "list"])
        let names = output.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        return names.filter { $0 == client || $0 == server }
    }

    /// Children still alive (signal 0 reaches them).
    var leftoverProcesses: [String] {
        children.filter { kill($0.pid, 0) == 0 }.map(\.label)
    }

    private static let counter = Counter()
    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func next() -> Int { lock.withLock { value += 1; return value } }
    }
}
