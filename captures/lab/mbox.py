#!/usr/bin/env python3
"""Middlebox for the smtpscope lab (stdlib only).

Two jobs, one per sub-command:

  proxy   TCP proxy on the middlebox's sender-facing addresses, port 25, to the
          receiver. --mode mailguard models the Cisco PIX "Mailguard"/ASA
          "inspect esmtp" fixup (masked banner, EHLO answered 500 by the proxy,
          commands other than the 7 RFC 821 minimum ones turned into X's of the
          same length, a terminator split across reads swallowed);
          --mode transparent forwards bytes unchanged. Outside and inside are
          two TCP connections, as with the real PIX.
  bridge  Packet-level forwarder between two veths (AF_PACKET raw sockets),
          with seeded, bounded impairments (delay, loss, duplication,
          reordering) on TCP segments that carry payload. IP forwarding stays
          off in the namespace, so only this process moves packets.

Every decision goes to a JSON-lines log. Every loop is bounded by --lifetime.
"""
import argparse
import heapq
import json
import random
import select
import socket
import struct
import sys
import threading
import time

TERM = b"\r\n.\r\n"
ALLOWED = {b"HELO", b"MAIL", b"RCPT", b"DATA", b"RSET", b"NOOP", b"QUIT"}
MAX_LINE = 4096


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    def __call__(self, **rec):
        rec = {"t": round(time.time(), 6), **rec}
        with self.lock:
            self.f.write(json.dumps(rec, sort_keys=True) + "\n")


# ---------------------------------------------------------------- proxy ----

def mask_banner(line: bytes) -> bytes:
    """Keep the reply code and separator; every other character becomes '*'
    except '2' and '0' (Cisco: "except for the '2', '0', '0' characters")."""
    body = line.rstrip(b"\r\n")
    eol = line[len(body):]
    head, rest = body[:4], body[4:]
    masked = bytes(c if c in b"20" else ord("*") for c in rest)
    return head + masked + eol



class SegmentTap:
    """Sees the client's TCP segments on the sender-facing veth, as a PIX sees
    packets, and remembers where each segment began and ended in the client's
    byte stream (offset 0 = first byte after the SYN). The stream proxy asks it
    whether a terminator crossed a segment boundary."""

    def __init__(self, dev, port, log):
        self.port = port
        self.log = log
        self.lock = threading.Lock()
        self.isn = {}
        self.bounds = {}
        self.high = {}
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((dev, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            frame, addr = self.sock.recvfrom(65536)
            if addr[2] == PACKET_OUTGOING:
                continue
            h = tcp_header(frame)
            if h is None or h["dport"] != self.port:
                continue
            key = (h["src"], h["sport"])
            with self.lock:
                if h["flags"] & 0x02:      # SYN
                    self.isn[key] = h["seq"]
                    self.bounds[key] = []
                    self.high[key] = 0
                    continue
                if key not in self.isn or h["len"] <= 0:
                    continue
                off = (h["seq"] - self.isn[key] - 1) & 0xFFFFFFFF
                b = self.bounds[key]
                b.extend((off, off + h["len"]))
                del b[:-256]
                self.high[key] = max(self.high[key], off + h["len"])

    def splits(self, key, term_off, wait=0.3):
        """Segment boundaries strictly inside [term_off, term_off+5), as split
        positions 1..4; None if the tap never saw those bytes."""
        end = time.time() + wait
        while True:
            with self.lock:
                if self.high.get(key, 0) >= term_off + 5:
                    return sorted({b - term_off for b in self.bounds[key] if term_off < b < term_off + 5})
            if time.time() >= end:
                return None
            time.sleep(0.005)


def tcp_header(frame):
    """Minimal IPv4/IPv6 TCP header view of an Ethernet frame, or None."""
    if len(frame) < 14:
        return None
    et = struct.unpack("!H", frame[12:14])[0]
    if et == 0x0800 and len(frame) >= 34:
        ihl = (frame[14] & 0x0F) * 4
        if frame[23] != 6:
            return None
        iplen = struct.unpack("!H", frame[16:18])[0] - ihl
        src = socket.inet_ntop(socket.AF_INET, frame[26:30])
        t = 14 + ihl
    elif et == 0x86DD and len(frame) >= 54:
        if frame[20] != 6:
            return None
        iplen = struct.unpack("!H", frame[18:20])[0]
        src = socket.inet_ntop(socket.AF_INET6, frame[22:38])
        t = 54
    else:
        return None
    if len(frame) < t + 20:
        return None
    sport, dport, seq = struct.unpack("!HHI", frame[t:t + 8])
    doff = (frame[t + 12] >> 4) * 4
    return {"src": src, "sport": sport, "dport": dport, "seq": seq, "flags": frame[t + 13],
            "len": iplen - doff}


class Conn:
    def __init__(self, n, client, client_addr, upstream, mode, log, read_size, tap):
        self.n = n
        self.client = client
        self.client_addr = client_addr
        self.up = upstream
        self.mode = mode
        self.log = log
        self.read_size = read_size
        self.tap = tap
        self.key = (client_addr[0], client_addr[1])
        self.in_data = False
        self.data_pending = False   # DATA forwarded, waiting for 354
        self.swallowing = False
        self.banner_done = False
        self.c_off = 0              # bytes read from the client so far
        self.data_start = 0
        self.boundaries = []        # client-stream offsets where reads ended (in DATA)
        self.tail = b""
        self.lock = threading.Lock()
        self.done = threading.Event()

    # server -> client
    def s2c(self, deadline):
        buf = b""
        try:
            while time.time() < deadline:
                r, _, _ = select.select([self.up], [], [], 1.0)
                if not r:
                    continue
                chunk = self.up.recv(65536)
                if not chunk:
                    break
                if self.mode == "transparent":
                    self.client.sendall(chunk)
                    continue
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    line += b"\n"
                    out = line
                    if not self.banner_done:
                        out = mask_banner(line)
                        self.log(conn=self.n, event="banner_masked", original=line.decode("latin-1"),
                                 sent=out.decode("latin-1"))
                        if line[3:4] != b"-":
                            self.banner_done = True
                    elif line[:3] == b"354" and self.data_pending:
                        with self.lock:
                            self.in_data = True
                            self.data_pending = False
                            self.data_start = self.c_off
                            self.boundaries = []
                            self.tail = b""
                        self.log(conn=self.n, event="data_mode", client_offset=self.c_off)
                    elif line[:3] in (b"250", b"451", b"452", b"550", b"552", b"554") and not self.in_data:
                        self.log(conn=self.n, event="reply", line=line.decode("latin-1").rstrip())
                    self.client.sendall(out)
                if len(buf) > MAX_LINE:
                    self.client.sendall(buf)
                    buf = b""
        except OSError as e:
            self.log(conn=self.n, event="error", where="s2c", error=str(e))
        finally:
            self.log(conn=self.n, event="server_closed")
            try:
                self.client.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            self.done.set()

    # client -> server
    def c2s(self, deadline):
        cmd = b""
        try:
            while time.time() < deadline and not self.done.is_set():
                r, _, _ = select.select([self.client], [], [], 1.0)
                if not r:
                    continue
                chunk = self.client.recv(self.read_size)
                if not chunk:
                    break
                start = self.c_off
                self.c_off += len(chunk)
                if self.mode == "transparent":
                    self.watch_terminator(chunk, start, swallow=False)
                    self.up.sendall(chunk)
                    continue
                if self.swallowing:
                    self.log(conn=self.n, event="dropped_after_swallow", client_offset=start, length=len(chunk))
                    continue
                if self.in_data:
                    fwd = self.watch_terminator(chunk, start, swallow=True)
                    if fwd:
                        self.up.sendall(fwd)
                    continue
                cmd += chunk
                while b"\n" in cmd and not self.in_data:
                    line, cmd = cmd.split(b"\n", 1)
                    line += b"\n"
                    self.command(line)
                    if self.data_pending:
                        # wait (bounded) for the 354 so the body is treated as data
                        for _ in range(300):
                            if self.in_data or not self.data_pending or self.done.is_set():
                                break
                            time.sleep(0.01)
                if self.in_data and cmd:
                    rest, cmd = cmd, b""
                    fwd = self.watch_terminator(rest, self.c_off - len(rest), swallow=True)
                    if fwd:
                        self.up.sendall(fwd)
                if len(cmd) > MAX_LINE:
                    self.log(conn=self.n, event="line_too_long_dropped", length=len(cmd))
                    cmd = b""
        except OSError as e:
            self.log(conn=self.n, event="error", where="c2s", error=str(e))
        finally:
            self.log(conn=self.n, event="client_closed", client_offset=self.c_off)
            try:
                self.up.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def command(self, line):
        verb = line.split(b" ", 1)[0].strip().upper()
        if verb == b"EHLO":
            reply = b"500 5.5.1 Command unrecognized\r\n"
            self.client.sendall(reply)
            self.log(conn=self.n, event="ehlo_rejected", command=line.decode("latin-1").rstrip(),
                     reply=reply.decode().rstrip())
            return
        if verb in ALLOWED:
            if verb == b"DATA":
                self.data_pending = True   # before sending: the 354 can beat us back
            self.up.sendall(line)
            self.log(conn=self.n, event="command", command=line.decode("latin-1").rstrip())
            return
        body = line.rstrip(b"\r\n")
        masked = b"X" * len(body) + line[len(body):]
        self.up.sendall(masked)
        self.log(conn=self.n, event="command_masked", original=line.decode("latin-1").rstrip(),
                 sent=masked.decode().rstrip())

    def watch_terminator(self, chunk, start, swallow):
        """Find the end-of-data terminator in this read. Returns the bytes to
        forward (mailguard mode)."""
        with self.lock:
            combined = self.tail + chunk
            i = combined.find(TERM)
            if i < 0:
                self.boundaries.append(start + len(chunk))
                self.boundaries = self.boundaries[-8:]
                self.tail = combined[-4:]
                return chunk
            term_off = start - len(self.tail) + i
            read_splits = [b - term_off for b in self.boundaries if term_off < b < term_off + 5]
            self.in_data = False
            self.tail = b""
            seg_splits = self.tap.splits(self.key, term_off) if self.tap else None
            splits = seg_splits if seg_splits is not None else read_splits
            info = dict(conn=self.n, client_offset=term_off, data_bytes=term_off + 5 - self.data_start,
                        split_after=splits, segment_split_after=seg_splits, read_split_after=read_splits)
            if not splits or not swallow:
                self.log(event="terminator_passed", **info)
                return chunk
            # Mailguard defect (MS KB Q295725): a terminator split across
            # segments is not passed to the server. The bytes of the segment
            # that completes it (and anything after) are dropped; earlier
            # segments were already passed on.
            cut = min(max(term_off + max(splits) - start, 0), len(chunk))
            self.swallowing = True
            self.log(event="swallowed_split_terminator", forwarded_bytes=cut, dropped_bytes=len(chunk) - cut,
                     dropped=chunk[cut:].decode("latin-1"), **info)
            return chunk[:cut]


def proxy_main(a):
    log = Log(a.log)
    deadline = time.time() + a.lifetime
    listeners = []
    for host in a.listen:
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, a.port))
        s.listen(16)
        listeners.append((s, fam))
    tap = SegmentTap(a.tap_dev, a.port, log) if a.tap_dev else None
    log(event="proxy_start", mode=a.mode, tap=a.tap_dev, listen=a.listen, upstream4=a.upstream4, upstream6=a.upstream6)
    n = 0
    threads = []
    while time.time() < deadline and n < a.max_conns:
        r, _, _ = select.select([s for s, _ in listeners], [], [], 1.0)
        for s in r:
            fam = dict(listeners)[s]
            c, addr = s.accept()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            n += 1
            target = a.upstream6 if fam == socket.AF_INET6 else a.upstream4
            up = socket.create_connection((target, a.port), timeout=10)
            up.settimeout(None)
            up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            log(conn=n, event="accept", client=f"{addr[0]}:{addr[1]}",
                inside=f"{up.getsockname()[0]}:{up.getsockname()[1]}", server=f"{target}:{a.port}")
            conn = Conn(n, c, addr, up, a.mode, log, a.read_size, tap)
            for fn in (conn.s2c, conn.c2s):
                t = threading.Thread(target=fn, args=(deadline,), daemon=True)
                t.start()
                threads.append(t)
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.time()))
    log(event="proxy_stop", connections=n)


# --------------------------------------------------------------- bridge ----

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def tcp_info(frame):
    """(proto, sport, dport, payload_len, seq) for IPv4/IPv6 TCP, else None."""
    if len(frame) < 14:
        return None
    et = struct.unpack("!H", frame[12:14])[0]
    if et == 0x0800 and len(frame) >= 34:
        ihl = (frame[14] & 0x0F) * 4
        if frame[23] != 6:
            return None
        tot = struct.unpack("!H", frame[16:18])[0]
        t = 14 + ihl
        iplen = tot - ihl
    elif et == 0x86DD and len(frame) >= 54:
        if frame[20] != 6:
            return None
        t = 54
        iplen = struct.unpack("!H", frame[18:20])[0]
    else:
        return None
    if len(frame) < t + 20:
        return None
    sport, dport, seq = struct.unpack("!HHI", frame[t:t + 8])
    doff = (frame[t + 12] >> 4) * 4
    return sport, dport, iplen - doff, seq


def bridge_main(a):
    log = Log(a.log)
    rng = random.Random(a.seed)
    socks = {}
    for dev in (a.dev_a, a.dev_b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((dev, 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        socks[dev] = s
    other = {a.dev_a: a.dev_b, a.dev_b: a.dev_a}
    by_fd = {s.fileno(): dev for dev, s in socks.items()}
    log(event="bridge_start", devs=[a.dev_a, a.dev_b], seed=a.seed, loss=a.loss, dup=a.dup,
        reorder=a.reorder, reorder_ms=a.reorder_ms, delay_ms=a.delay_ms, jitter_ms=a.jitter_ms, max_impair=a.max_impair)
    queue = []   # (due, seq, dev, frame)
    seqn = 0
    impaired = 0
    forwarded = 0
    deadline = time.time() + a.lifetime
    while time.time() < deadline:
        now = time.time()
        timeout = 0.2
        if queue:
            timeout = max(0.0, min(timeout, queue[0][0] - now))
        r, _, _ = select.select(list(socks.values()), [], [], timeout)
        for s in r:
            frame, addr = s.recvfrom(65536)
            if addr[2] == PACKET_OUTGOING:
                continue
            src = by_fd[s.fileno()]
            dst = other[src]
            info = tcp_info(frame)
            delay = a.delay_ms / 1000.0 + rng.uniform(0, a.jitter_ms / 1000.0)
            due = time.time() + delay
            victim = (info is not None and info[2] > 0 and a.port in (info[0], info[1])
                      and impaired < a.max_impair)
            what = "forward"
            if victim:
                x = rng.random()
                if x < a.loss:
                    what = "drop"
                elif x < a.loss + a.dup:
                    what = "duplicate"
                elif x < a.loss + a.dup + a.reorder:
                    what = "reorder_delay"
            if what != "forward":
                impaired += 1
                log(event=what, dev_in=src, dev_out=dst, sport=info[0], dport=info[1],
                    seq=info[3], payload_len=info[2],
                    **({"extra_delay_ms": a.reorder_ms} if what == "reorder_delay" else {}))
            if what == "drop":
                continue
            if what == "reorder_delay":
                # held back so frames sent after it overtake it on the wire
                due += a.reorder_ms / 1000.0
            seqn += 1
            heapq.heappush(queue, (due, seqn, dst, frame))
            if what == "duplicate":
                seqn += 1
                heapq.heappush(queue, (due + 0.001, seqn, dst, frame))
            if len(queue) > a.max_queue:
                log(event="queue_limit_dropped_oldest", size=len(queue))
                heapq.heappop(queue)
        now = time.time()
        while queue and queue[0][0] <= now:
            _, _, dev, frame = heapq.heappop(queue)
            try:
                socks[dev].send(frame)
                forwarded += 1
            except OSError as e:
                log(event="send_error", dev=dev, error=str(e))
    log(event="bridge_stop", forwarded=forwarded, impaired=impaired)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("proxy")
    pp.add_argument("--mode", choices=["mailguard", "transparent"], required=True)
    pp.add_argument("--listen", nargs="+", required=True)
    pp.add_argument("--port", type=int, default=25)
    pp.add_argument("--upstream4", required=True)
    pp.add_argument("--upstream6", required=True)
    pp.add_argument("--read-size", type=int, default=65536)
    pp.add_argument("--tap-dev", default="m0", help="veth whose frames give segment boundaries ('' = use read boundaries)")
    pp.add_argument("--max-conns", type=int, default=50)
    pp.add_argument("--lifetime", type=float, default=600)
    pp.add_argument("--log", required=True)
    bp = sub.add_parser("bridge")
    bp.add_argument("--dev-a", default="m0")
    bp.add_argument("--dev-b", default="m1")
    bp.add_argument("--port", type=int, default=25)
    bp.add_argument("--seed", type=int, default=1)
    bp.add_argument("--loss", type=float, default=0.0)
    bp.add_argument("--dup", type=float, default=0.0)
    bp.add_argument("--reorder", type=float, default=0.0)
    bp.add_argument("--delay-ms", type=float, default=0.0)
    bp.add_argument("--jitter-ms", type=float, default=0.0)
    bp.add_argument("--reorder-ms", type=float, default=50.0, help="extra delay of a reordered frame")
    bp.add_argument("--max-impair", type=int, default=20)
    bp.add_argument("--max-queue", type=int, default=2000)
    bp.add_argument("--lifetime", type=float, default=600)
    bp.add_argument("--log", required=True)
    a = p.parse_args()
    if a.cmd == "proxy":
        proxy_main(a)
    else:
        bridge_main(a)


if __name__ == "__main__":
    main()
