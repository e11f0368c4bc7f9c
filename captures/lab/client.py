#!/usr/bin/env python3
"""Precise SMTP client for the smtpscope lab (stdlib only).

Writes with TCP_NODELAY and pauses between pieces, so each write is its own
TCP segment: the end-of-data terminator can be written whole or in pieces
(--split 2 writes "\\r\\n" then ".\\r\\n"; --split 1,3 writes three pieces).
Supports PIPELINING, BDAT (CHUNKING), STARTTLS, near-miss end-of-data
sequences, MTA-like retries at a fixed interval, and leaving a connection
open. Everything it did is written to --out as JSON (the lab's truth).
"""
import argparse
import email.utils
import json
import socket
import ssl
import sys
import time

NEAR_MISS = {
    "lflf": b"\n.\n", "crcr": b"\r.\r", "crlf_r": b"\r.\n", "lfcr": b"\n.\r",
    "lfcrlf": b"\n.\r\n", "crlflf": b"\r\n.\n", "crcrlf": b"\r.\r\n", "crlfcr": b"\r\n.\r",
    "nullbefore": b"\r\n\x00.\r\n",
}


class Session:
    def __init__(self, a, attempt, rec):
        self.a = a
        self.rec = rec
        fam = socket.AF_INET6 if ":" in a.server else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(a.connect_timeout)
        self.sock.connect((a.server, a.port))
        self.sock.settimeout(None)
        ca, sa = self.sock.getsockname(), self.sock.getpeername()
        rec.update(client={"ip": ca[0], "port": ca[1]}, server={"ip": sa[0], "port": sa[1]},
                   start=time.time(), attempt=attempt)
        self.f = self.sock
        self.buf = b""
        self.tls = False

    def close(self):
        for x in (self.f, self.sock):
            try:
                x.close()
            except OSError:
                pass

    def send(self, data, note=None):
        self.f.sendall(data)
        self.rec.setdefault("writes", 0)
        self.rec["writes"] += 1

    def reply(self, timeout):
        """Read one (possibly multi-line) reply; None on timeout or close."""
        end = time.time() + timeout
        lines = []
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                lines.append(line.rstrip(b"\r").decode("latin-1"))
                if len(line) < 4 or line[3:4] != b"-":
                    return {"code": int(lines[-1][:3]) if lines[-1][:3].isdigit() else None,
                            "text": lines, "time": time.time()}
            left = end - time.time()
            if left <= 0:
                return None
            self.f.settimeout(left)
            try:
                chunk = self.f.recv(65536)
            except (socket.timeout, TimeoutError, ssl.SSLError):
                return None
            except OSError:
                return None
            finally:
                try:
                    self.f.settimeout(None)
                except OSError:
                    pass
            if not chunk:
                return None
            self.buf += chunk

    def cmd(self, line, timeout=None):
        self.send(line.encode() + b"\r\n")
        r = self.reply(timeout or self.a.reply_timeout)
        self.rec.setdefault("dialogue", []).append({"c": line, "s": r["text"] if r else None})
        return r

    def starttls(self):
        r = self.cmd("STARTTLS")
        if not r or r["code"] != 220:
            raise SystemExit(f"STARTTLS refused: {r}")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.f = ctx.wrap_socket(self.sock, server_hostname="mx.example.net")
        self.tls = True
        self.rec["tls"] = {"version": self.f.version(), "cipher": self.f.cipher()[0]}


def message_bytes(a, n):
    mid = f"<{a.tag}-{n}@lab.example.org>"
    hdr = (f"From: Lab Sender <{a.mail_from}>\r\nTo: <{a.rcpt[0]}>\r\n"
           f"Subject: smtpscope lab {a.tag} message {n}\r\n"
           f"Date: {email.utils.formatdate(a.date, localtime=False)}\r\n"
           f"Message-ID: {mid}\r\n\r\n").encode()
    body = b""
    i = 0
    while len(hdr) + len(body) < a.size:
        body += f"line {i:05d} of the smtpscope lab test message, padding text here\r\n".encode()
        i += 1
    return mid, hdr + body


def pieces(term, split):
    out, prev = [], 0
    for k in split:
        out.append(term[prev:k])
        prev = k
    out.append(term[prev:])
    return [p for p in out if p]


def send_terminator(s, body_tail, split, pause, after=b""):
    """Write the last body bytes and the terminator with the requested splits.
    body_tail already ends with CRLF; the terminator is CRLF . CRLF whose first
    CRLF is the body's last line end."""
    term = b"\r\n.\r\n"
    body = body_tail[:-2]
    if not split:
        s.send(body + term + after)
        return
    parts = pieces(term, split)
    s.send(body + parts[0])
    for p in parts[1:-1]:
        time.sleep(pause)
        s.send(p)
    time.sleep(pause)
    s.send(parts[-1] + after)


def envelope(a):
    return [f"MAIL FROM:<{a.mail_from}>"] + [f"RCPT TO:<{r}>" for r in a.rcpt]


def one_attempt(a, attempt, out):
    rec = {"messages": []}
    out["connections"].append(rec)
    try:
        s = Session(a, attempt, rec)
    except OSError as e:
        rec["error"] = f"connect: {e}"
        return False
    banner = s.reply(a.reply_timeout)
    rec["banner"] = banner["text"] if banner else None
    r = s.cmd(f"EHLO {a.helo}")
    rec["ehlo_reply"] = r["code"] if r else None
    ext = [l[4:].split()[0].upper() for l in (r["text"][1:] if r else []) if len(l) > 4]
    if not r or r["code"] != 250:
        r = s.cmd(f"HELO {a.helo}")
        rec["helo_reply"] = r["code"] if r else None
    if a.starttls:
        s.starttls()
        r = s.cmd(f"EHLO {a.helo}")
        ext = [l[4:].split()[0].upper() for l in r["text"][1:]]
    for extra in a.extra:
        r = s.cmd(extra)
        rec.setdefault("extra_replies", []).append({"command": extra, "reply": r["text"] if r else None})
    all_ok = True
    for n in range(1, a.messages + 1):
        mid, msg = message_bytes(a, n)
        m = {"message_id": mid, "mail_from": a.mail_from, "rcpt_to": list(a.rcpt), "size": len(msg),
             "split_after": list(a.split), "mode": "data"}
        rec["messages"].append(m)
        env = envelope(a)
        last = n == a.messages
        if a.bdat:
            m["mode"] = "bdat"
            for c in env:
                s.cmd(c)
            chunks = [msg[i:i + a.bdat] for i in range(0, len(msg), a.bdat)]
            m["bdat_chunks"] = [len(c) for c in chunks]
            for i, c in enumerate(chunks):
                tail = " LAST" if i == len(chunks) - 1 else ""
                s.send(f"BDAT {len(c)}{tail}\r\n".encode() + c)
                r = s.reply(a.eod_timeout)
                if r is None or r["code"] != 250:
                    break
            m["eod_reply"] = r
            all_ok &= bool(r and r["code"] == 250)
            continue
        if a.pipelining and "PIPELINING" in ext:
            m["mode"] = "data_pipelined"
            if n == 1:
                s.send(("\r\n".join(env + ["DATA"]) + "\r\n").encode())
            replies = [s.reply(a.reply_timeout) for _ in range(len(env) + 1)]
            m["envelope_replies"] = [r["code"] if r else None for r in replies]
            nxt = b"QUIT\r\n" if last else ("\r\n".join(envelope(a) + ["DATA"]) + "\r\n").encode()
            send_terminator(s, msg, a.split, a.pause, after=nxt)
            m["pipelined_after_terminator"] = nxt.decode().split("\r\n")[0]
            r = s.reply(a.eod_timeout)
            m["eod_reply"] = r
            all_ok &= bool(r and r["code"] == 250)
            if last:
                q = s.reply(a.reply_timeout)
                rec["end"] = "quit"
                rec["quit_reply"] = q["code"] if q else None
                s.close()
                rec["closed"] = time.time()
                return all_ok
            continue
        for c in env:
            s.cmd(c)
        r = s.cmd("DATA")
        if not r or r["code"] != 354:
            m["eod_reply"] = None
            m["data_reply"] = r["code"] if r else None
            all_ok = False
            continue
        if a.near_miss:
            seq = NEAR_MISS[a.near_miss]
            m["near_miss"] = {"name": a.near_miss, "bytes": seq.decode("latin-1")}
            s.send(msg[:-2] + seq + b"line after the near-miss sequence\r\n")
            r1 = s.reply(a.probe_timeout)
            m["near_miss"]["reply"] = r1
            if r1 is not None:
                m["eod_reply"] = r1
                m["near_miss"]["treated_as_end_of_data"] = r1["code"] in (250,)
                if r1["code"] == 250:
                    # the line after the sequence was then read as a command
                    r2 = s.reply(a.probe_timeout)
                    m["near_miss"]["reply_to_following_line"] = r2
                all_ok &= r1["code"] == 250
                if r1["code"] >= 400:
                    rec["end"] = "server_reply_" + str(r1["code"])
                    break
                continue
            m["near_miss"]["treated_as_end_of_data"] = False
            msg_end = b"\r\n"   # finish the message with a real terminator
            send_terminator(s, msg_end, a.split, a.pause)
        else:
            send_terminator(s, msg, a.split, a.pause)
        m["terminator_sent"] = time.time()
        r = s.reply(a.eod_timeout)
        m["eod_reply"] = r
        if r is None:
            all_ok = False
            rec["end"] = "client_timeout_close"
            s.close()
            rec["closed"] = time.time()
            return False
        all_ok &= r["code"] == 250
    if a.hold_open:
        rec["end"] = "held_open"
        write(out, a)
        time.sleep(a.hold_open)
        return all_ok
    if rec.get("end", "").startswith("server_reply"):
        s.close()
        rec["closed"] = time.time()
        return all_ok
    r = s.cmd("QUIT")
    rec["end"] = "quit"
    rec["quit_reply"] = r["code"] if r else None
    s.close()
    rec["closed"] = time.time()
    return all_ok


def write(out, a):
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--helo", default="client.example.org")
    p.add_argument("--mail-from", default="alice@example.org")
    p.add_argument("--rcpt", nargs="+", default=["bob@example.net"])
    p.add_argument("--tag", required=True, help="Message-ID prefix")
    p.add_argument("--messages", type=int, default=1)
    p.add_argument("--size", type=int, default=600, help="approximate message size in bytes")
    p.add_argument("--split", default="", help="comma-separated split positions 1..4 in CRLF.CRLF")
    p.add_argument("--pause", type=float, default=0.25)
    p.add_argument("--pipelining", action="store_true")
    p.add_argument("--bdat", type=int, default=0, help="BDAT chunk size (0: use DATA)")
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--near-miss", choices=sorted(NEAR_MISS))
    p.add_argument("--probe-timeout", type=float, default=3)
    p.add_argument("--reply-timeout", type=float, default=10)
    p.add_argument("--eod-timeout", type=float, default=10)
    p.add_argument("--connect-timeout", type=float, default=5)
    p.add_argument("--attempts", type=int, default=1)
    p.add_argument("--interval", type=float, default=15)
    p.add_argument("--extra", action="append", default=[], help="extra command sent after EHLO/HELO")
    p.add_argument("--hold-open", type=float, default=0)
    p.add_argument("--date", type=float, default=1764000000.0, help="Date: header (epoch)")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    a.split = [int(x) for x in a.split.split(",") if x]
    assert all(1 <= k <= 4 for k in a.split) and a.split == sorted(set(a.split))
    out = {"tool": "client.py", "argv": sys.argv[1:], "connections": []}
    for attempt in range(1, max(1, min(a.attempts, 10)) + 1):
        ok = one_attempt(a, attempt, out)
        write(out, a)
        if ok or attempt >= a.attempts:
            break
        time.sleep(a.interval)
    write(out, a)


if __name__ == "__main__":
    main()
