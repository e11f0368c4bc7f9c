import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

// `smtpscope live` on a real interface: a veth pair between two network namespaces,
// a real SMTP server (aiosmtpd) and a server that never answers the end of data,
// real mail sent with Python. Needs root and the Debian packages iproute2, ethtool,
// python3, python3-aiosmtpd, tcpdump and util-linux (setpriv).

/// One decoded JSON line with the time it arrived.
private struct Record {
    var time: Double
    var object: [String: Any]
    var type: String { object["type"] as? String ?? "" }
    var flow: Int? { object["flow"] as? Int }
}

private func decode(_ lines: [TimedLine]) throws -> [Record] {
    try lines.filter { !$0.text.isEmpty }.map { line in
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.text.utf8)) as? [String: Any], "not JSON: \(line.text)")
        return Record(time: line.time, object: object)
    }
}

/// What must agree between the live run and the offline analysis of its -w file.
private func verdicts(_ flows: [[String: Any]]) -> [String] {
    flows.map { flow in
        let transactions = (flow["transactions"] as? [[String: Any]] ?? []).map { t -> String in
            let terminator = t["terminator"] as? [String: Any] ?? [:]
            let reply = t["reply"] as? [String: Any]
            return "#\(t["index"] ?? "?") \(t["message_id"] ?? "-") \(t["outcome"] ?? "?")/\(t["diagnosis"] ?? "?") "
                + "eod frames \(terminator["frames"] ?? "?") split \(terminator["split_after"] ?? "?") "
                + "reply \(reply?["code"] ?? "-")@\(reply?["frame"] ?? "-")"
        }
        let findings = (flow["findings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }.sorted()
        let server = flow["server"] as? [String: Any] ?? [:]
        return "flow \(flow["flow"] ?? "?") port \(server["port"] ?? "?") \(flow["end_reason"] ?? "?") "
            + "frames \(flow["first_frame"] ?? "?")-\(flow["last_frame"] ?? "?") \(transactions) \(findings)"
    }
}

@Test(.timeLimit(.minutes(3)))
func liveStreamsEachTransactionAndTheStallBeforeTheStop() throws {
    let lab = try VethLab()
    defer { lab.tearDown() }
    let client = try lab.script("client.py", clientScript)
    let stallServer = try lab.script("stall_server.py", stallServerScript)
    let pcap = lab.directory.appendingPathComponent("out.pcap").path
    let smtpscope = try CLIRunner.executable().path

    _ = try lab.start(in: lab.server, "aiosmtpd", [VethLab.python, "-m", "aiosmtpd", "-n", "-l", "192.0.2.2:25"])
    _ = try lab.start(in: lab.server, "stall server", [VethLab.python, stallServer, "192.0.2.2", "2525"])
    try lab.waitForListener(in: lab.server, "192.0.2.2:25")
    try lab.waitForListener(in: lab.server, "192.0.2.2:2525")

    let live = try lab.start(in: lab.client, "smtpscope live", [
        smtpscope, "live", "-i", lab.clientLink, "--format", "jsonl", "-w", pcap, "--reply-timeout", "3",
    ])
    #expect(live.wait(for: 15) { $0.stderr.contains { $0.text.contains("listening on \(lab.clientLink)") } },
            "live never said it was listening: \(live.stderr.map(\.text))")

    // 1: a plain message; 2: the terminator split as CRLF | .CRLF, answered 250.
    try must(["/usr/bin/ip", "netns", "exec", lab.client, VethLab.python, client, "normal", "m1"], timeout: 30)
    try must(["/usr/bin/ip", "netns", "exec", lab.client, VethLab.python, client, "split", "m2"], timeout: 30)
    // 3: the server swallows the message and never answers; the client keeps waiting.
    let stalled = try lab.start(in: lab.client, "stalled client", [VethLab.python, client, "stall", "m3"])
    #expect(stalled.wait(for: 15) { $0.stdout.contains { $0.text.hasSuffix("eod m3") } })
    let endOfData3 = try #require(stalled.stdout.first { $0.text.hasSuffix("eod m3") }.flatMap { Double($0.text.split(separator: " ")[0]) })
    let stallSeen = live.wait(for: 15) { child in
        (try? decode(child.stdout))?.contains { $0.type == "transaction" && $0.flow == 2 } ?? false
    }
    #expect(stallSeen, "no record for the unanswered transaction within 15 s")
    // 4: the sender retries the same message elsewhere, and it is accepted.
    try must(["/usr/bin/ip", "netns", "exec", lab.client, VethLab.python, client, "normal", "m3"], timeout: 30)
    #expect(live.wait(for: 15) { child in (try? decode(child.stdout))?.contains { $0.type == "flow" && $0.flow == 3 } ?? false })

    let interrupted = Date().timeIntervalSince1970
    kill(live.pid, SIGINT)
    let stopped = live.waitForExit(20)
    #expect(stopped, "live did not stop within 20 s of SIGINT")
    if !stopped { live.stop() }
    let records = try decode(live.stdout)

    // Order: each transaction as decided, each flow as it closed; the open flow and the
    // summary only after the stop.
    let order = records.map { $0.type == "message" || $0.type == "summary" ? $0.type : "\($0.type) \($0.flow ?? -1)" }
    #expect(order == [
        "transaction 0", "flow 0", "transaction 1", "flow 1", "transaction 2",
        "transaction 3", "message", "flow 3", "flow 2", "message", "summary",
    ])
    let byFlow = { (type: String, flow: Int) in records.first { $0.type == type && $0.flow == flow } }

    // The stall was printed by the clock tick: after the reply timeout, before the stop.
    let stall = try #require(byFlow("transaction", 2))
    #expect(stall.object["outcome"] as? String == "no_reply")
    #expect(stall.object["diagnosis"] as? String == "unanswered")
    #expect(stall.time >= endOfData3 + 2.9, "stall reported \(stall.time - endOfData3) s after end of data, before the 3 s reply timeout")
    #expect(stall.time <= endOfData3 + 6, "stall reported \(stall.time - endOfData3) s after end of data")
    #expect(stall.time < interrupted)
    for flow in [0, 1, 3] { #expect((byFlow("transaction", flow)?.time ?? .infinity) < interrupted) }

    // The split terminator: CRLF | .CRLF, answered.
    let split = try #require(byFlow("transaction", 1)?.object["terminator"] as? [String: Any])
    #expect(split["split_after"] as? [Int] == [2])
    #expect(byFlow("transaction", 1)?.object["diagnosis"] as? String == "ok")
    #expect(byFlow("transaction", 0)?.object["diagnosis"] as? String == "ok")
    #expect(byFlow("transaction", 3)?.object["diagnosis"] as? String == "ok")
    #expect(byFlow("flow", 2)?.object["end_reason"] as? String == "open")
    #expect(byFlow("flow", 0)?.object["end_reason"] as? String == "quit")

    // The retried message, streamed as soon as its second attempt was decided.
    let message = try #require(records.first { $0.type == "message" })
    #expect(message.object["message_id"] as? String == "<m3@example.org>")
    let attempts = message.object["attempts"] as? [[String: Any]] ?? []
    #expect(attempts.compactMap { $0["outcome"] as? String } == ["no_reply", "accepted"])
    #expect(message.time < interrupted)

    // The summary, against the frames tcpdump reads back from the -w file.
    let (dumpStatus, dump) = try shell(["/usr/bin/tcpdump", "-nn", "-r", pcap])
    #expect(dumpStatus == 0)
    let frames = dump.split(separator: "\n").filter { $0.contains(" IP ") }
    let syns = frames.filter { $0.contains("Flags [S],") }.compactMap { $0.split(separator: " ").dropFirst(4).first }
    #expect(syns.map { String($0.split(separator: ".").last ?? "") } == ["25:", "25:", "2525:", "25:"])
    let summary = try #require(records.last?.object)
    #expect(summary["packets"] as? Int == frames.count)
    #expect(live.stderr.contains { $0.text.contains("\(frames.count) packets captured") && $0.text.contains("0 dropped by kernel") })
    #expect(summary["flows"] as? Int == 4)
    #expect(summary["transactions"] as? Int == 4)
    #expect(summary["drops"] as? Int == 0)
    #expect(summary["retried_messages"] as? Int == 1)
    let outcomes = summary["outcomes"] as? [String: Int] ?? [:]
    #expect(outcomes["accepted"] == 3 && outcomes["no_reply"] == 1)
    let diagnoses = summary["diagnoses"] as? [String: Int] ?? [:]
    #expect(diagnoses["ok"] == 3 && diagnoses["unanswered"] == 1)
    let association = summary["association"] as? [String: Any] ?? [:]
    #expect(association["split_answered"] as? Int == 1 && association["unsplit_unanswered"] as? Int == 1
            && association["unsplit_answered"] as? Int == 2 && association["split_unanswered"] as? Int == 0)
    #expect(live.process.isRunning == false && live.process.terminationStatus == 1, "problems found: exit status 1")

    // Offline analysis of the -w file tells the same story.
    var offline = try CLIRunner.run(["analyze", pcap, "--format", "jsonl", "--reply-timeout", "3"])
    if offline.status == 2 && offline.stderr.contains("reply-timeout") {
        offline = try CLIRunner.run(["analyze", pcap, "--format", "jsonl"])  // an analyze without the option yet
    }
    let offlineRecords = try decode(offline.stdout.split(separator: "\n").map { TimedLine(time: 0, text: String($0)) })
    let offlineFlows = offlineRecords.filter { $0.type == "flow" }.map(\.object)
    #expect(offline.status != 2, "analyze failed: \(offline.stderr)")
    if offlineFlows.isEmpty {
        // `analyze` still prints only the capture summary (before the analyze command of issue 5 lands).
        print("note: analyze emits no flow records yet; compared packet counts only")
        #expect(offlineRecords.last?.object["packets"] as? Int == frames.count)
    } else {
        let liveFlows = records.filter { $0.type == "flow" }.map(\.object).sorted { ($0["flow"] as? Int ?? 0) < ($1["flow"] as? Int ?? 0) }
        // `analyze` writes flows as they close: flow 2 (port 2525, never answered) is still
        // open when the capture ends, so it comes after flow 3, which closed before.
        #expect(offlineFlows.map { $0["flow"] as? Int ?? -1 } == [0, 1, 3, 2])
        let offlineByIndex = offlineFlows.sorted { ($0["flow"] as? Int ?? 0) < ($1["flow"] as? Int ?? 0) }
        #expect(verdicts(offlineByIndex) == verdicts(liveFlows))
        let offlineSummary = offlineRecords.last?.object ?? [:]
        #expect(offlineSummary["diagnoses"] as? [String: Int] == diagnoses)
        #expect(offlineSummary["packets"] as? Int == frames.count)
    }

    // Everything the lab started is gone.
    lab.tearDown()
    #expect(try lab.leftoverNamespaces().isEmpty)
    #expect(lab.leftoverProcesses.isEmpty)
}

@Test func liveWithoutCaptureRightsNamesTheCapabilityAndInterface() throws {
    try VethLab.checkTools()
    // A copy any user may execute, so only the capture itself can be refused.
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("smtpscope-noperm-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let copy = folder.appendingPathComponent("smtpscope")
    try FileManager.default.copyItem(at: try CLIRunner.executable(), to: copy)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: copy.path)
    let (status, output) = try shell([
        "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
        copy.path, "live", "-i", "lo", "--duration", "1",
    ])
    #expect(status == 2)
    let lines = output.split(separator: "\n")
    #expect(lines.count == 1, "one line: \(output)")
    #expect(output.hasPrefix("smtpscope: lo: permission denied"))
    #expect(output.contains("CAP_NET_RAW"))
}

@Test func liveOnAMissingInterfaceSaysSo() throws {
    let run = try CLIRunner.run(["live", "-i", "smtpscope-no0", "--duration", "1"], timeout: 20)
    #expect(run.status == 2)
    #expect(run.stdout.isEmpty)
    #expect(run.stderr == "smtpscope: smtpscope-no0: no such capture interface (No such device exists); list them with `tcpdump -D`\n")
}

@Test func liveStopsAfterItsDurationWithASummary() throws {
    try VethLab.checkTools()
    let started = Date()
    let run = try CLIRunner.run(["live", "-i", "lo", "--port", "2", "--duration", "1", "--format", "jsonl"], timeout: 20)
    let elapsed = Date().timeIntervalSince(started)
    #expect(run.status == 0)
    #expect(elapsed >= 1 && elapsed < 10)
    let records = try decode(run.stdout.split(separator: "\n").map { TimedLine(time: 0, text: String($0)) })
    #expect(records.map(\.type) == ["summary"])
    #expect(records.first?.object["flows"] as? Int == 0)
    #expect(run.stderr.contains("filter 'tcp port 2'"))
}

// A hang guard, not a speed check: alone the test takes 1-3 s, but in the full parallel suite on a
// loaded 2-core machine it took up to 100 s (its shell-outs wait behind every other test's processes).
@Test(.timeLimit(.minutes(3)))
func liveStopsAfterCountPacketsAndDropsRootForTheFile() throws {
    let lab = try VethLab()
    defer { lab.tearDown() }
    // The -w file is created after root is dropped, so its folder must be writable by nobody.
    try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: lab.directory.path)
    let pcap = lab.directory.appendingPathComponent("count.pcap").path
    let live = try lab.start(in: lab.client, "smtpscope live --count", [
        try CLIRunner.executable().path, "live", "-i", "lo", "--port", "9", "--count", "4", "--duration", "20",
        "--format", "jsonl", "--user", "nobody", "-w", pcap,
    ])
    #expect(live.wait(for: 15) { $0.stderr.contains { $0.text.contains("listening on lo") } })
    // Each refused connection to 127.0.0.1:9 is a SYN and a RST: 4 packets from 2 attempts.
    for _ in 0..<2 {
        try must(["/usr/bin/ip", "netns", "exec", lab.client, VethLab.python, "-c",
                  "import socket\ntry: socket.create_connection(('127.0.0.1', 9), timeout=2)\nexcept OSError: pass"])
    }
    #expect(live.waitForExit(10), "live did not stop after 4 packets")
    if live.process.isRunning { live.stop(force: true) }
    let records = try decode(live.stdout)
    #expect(records.last?.object["packets"] as? Int == 4)
    // Two refused connections: each flow ends in a reset (a warning finding), so status 1.
    #expect(live.process.isRunning == false && live.process.terminationStatus == 1, "status \(live.process.terminationStatus): \(live.stderr.map(\.text))")
    #expect(records.filter { $0.type == "flow" }.compactMap { $0.object["end_reason"] as? String } == ["rst", "rst"])
    let owner = try FileManager.default.attributesOfItem(atPath: pcap)[.ownerAccountID] as? Int
    #expect(owner == 65534, "the -w file was created after dropping root to nobody")
    let (_, dump) = try shell(["/usr/bin/tcpdump", "-nn", "-r", pcap])
    #expect(dump.split(separator: "\n").filter { $0.contains(" IP ") }.count == 4)
}

// Helper programs of the live lab, written into its folder at run time.

let clientScript = #"""
import smtplib, socket, sys, time

SERVER = "192.0.2.2"

def stamp(event):
    print(f"{time.time():.6f} {event}", flush=True)

def message(mid, body):
    return (f"From: <a@example.org>\r\nTo: <b@example.net>\r\nSubject: {mid}\r\n"
            f"Message-ID: <{mid}@example.org>\r\n\r\n{body}\r\n")

def normal(port, mid):
    with smtplib.SMTP(SERVER, port, local_hostname="client.example", timeout=10) as s:
        s.sendmail("a@example.org", ["b@example.net"], message(mid, "hello from the lab"))
    stamp(f"sent {mid}")

def dialog(port, mid, split, wait_reply):
    s = socket.create_connection((SERVER, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = s.makefile("rb")
    def reply():
        while True:
            line = reader.readline()
            if not line:
                raise SystemExit(f"connection closed while waiting for a reply ({mid})")
            if line[3:4] != b"-":
                return int(line[:3])
    def command(text, want):
        s.sendall(text.encode() + b"\r\n")
        code = reply()
        if code != want:
            raise SystemExit(f"{text}: got {code}, want {want}")
    if reply() != 220:
        raise SystemExit("no banner")
    command("EHLO client.example", 250)
    command("MAIL FROM:<a@example.org>", 250)
    command("RCPT TO:<b@example.net>", 250)
    command("DATA", 354)
    body = message(mid, "line one\r\nline two").encode()
    if split:
        s.sendall(body)          # ends with CRLF
        time.sleep(0.3)
        s.sendall(b".\r\n")      # the terminator's last 3 bytes in a segment of their own
    else:
        s.sendall(body + b".\r\n")
    stamp(f"eod {mid}")
    if not wait_reply:
        s.settimeout(60)         # hold the connection open; the test ends this process
        try:
            reader.readline()
        except OSError:
            pass
        return
    if reply() != 250:
        raise SystemExit("end of data not accepted")
    command("QUIT", 221)
    s.close()
    stamp(f"sent {mid}")

kind = sys.argv[1]
if kind == "normal":
    normal(25, sys.argv[2])
elif kind == "split":
    dialog(25, sys.argv[2], split=True, wait_reply=True)
elif kind == "stall":
    dialog(2525, sys.argv[2], split=False, wait_reply=False)
"""#

let stallServerScript = #"""
# An SMTP server that takes the whole message and never answers the end of data.
import socket, sys, time

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((sys.argv[1], int(sys.argv[2])))
listener.listen(4)
listener.settimeout(120)
deadline = time.time() + 120
while time.time() < deadline:
    try:
        conn, _ = listener.accept()
    except OSError:
        break
    conn.settimeout(max(1, deadline - time.time()))
    try:
        conn.sendall(b"220 stall.example ESMTP\r\n")
        buffer, in_data = b"", False
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                break
            buffer += chunk
            if in_data:
                if b"\r\n.\r\n" in buffer:
                    buffer, in_data = b"", False   # swallowed: no 250 ever
                continue
            while b"\r\n" in buffer and not in_data:
                line, buffer = buffer.split(b"\r\n", 1)
                verb = line[:4].upper()
                if verb == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    in_data = True
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                else:
                    conn.sendall(b"250 ok\r\n")
    except OSError:
        pass
    conn.close()
"""#
