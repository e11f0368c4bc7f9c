#!/usr/bin/env python3
"""Seeded bulk traffic on port 25 in both directions (stdlib only).

  server --listen ADDR ...   accepts --conns connections; on each, sends its
                             share of bytes while reading the peer's until EOF
  client --connect ADDR ...  one connection: sends its share while reading

Payloads are SMTP-ish lines of seeded random text; each side writes in random
chunk sizes with short pauses so segments vary. Each side sends its bytes,
then shuts down writing, then reads to EOF. Everything runs under --timeout.
"""
import argparse
import random
import socket
import threading
import time


def payload(seed, size):
    rng = random.Random(seed)
    words = [b"MAIL", b"RCPT", b"DATA", b"Subject:", b"hello", b"relay", b"queue", b"250", b"OK", b"."]
    out = bytearray()
    while len(out) < size:
        line = b" ".join(rng.choice(words) + str(rng.randrange(10**6)).encode() for _ in range(rng.randrange(1, 12)))
        out += line + b"\r\n"
    return bytes(out[:size])


def exchange(sock, seed, send_bytes, deadline):
    rng = random.Random(seed * 7 + 1)
    data = payload(seed, send_bytes)
    received = [0]

    def reader():
        while time.time() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                return
            received[0] += len(chunk)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    position = 0
    while position < len(data) and time.time() < deadline:
        size = rng.choice([1, 5, 100, 536, 1000, 1448, 3000, 8192, 20000])
        sock.sendall(data[position:position + size])
        position += size
        if rng.random() < 0.1:
            time.sleep(rng.uniform(0.001, 0.02))
    sock.shutdown(socket.SHUT_WR)
    thread.join(max(0.0, deadline - time.time()))
    return received[0]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--listen", nargs="+", required=True)
    s.add_argument("--conns", type=int, required=True)
    c = sub.add_parser("client")
    c.add_argument("--connect", required=True)
    for q in (s, c):
        q.add_argument("--seed", type=int, required=True)
        q.add_argument("--bytes", type=int, required=True)
        q.add_argument("--timeout", type=float, default=60)
    a = p.parse_args()
    deadline = time.time() + a.timeout
    if a.cmd == "client":
        sock = socket.create_connection((a.connect, 25), timeout=a.timeout)
        got = exchange(sock, a.seed, a.bytes, deadline)
        print(f"client {a.connect} sent {a.bytes} received {got}")
        sock.close()
        return
    listeners = []
    for address in a.listen:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        ls = socket.socket(family, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((address, 25))
        ls.listen(8)
        ls.settimeout(1)
        listeners.append(ls)
    threads = []
    accepted = 0
    while accepted < a.conns and time.time() < deadline:
        for ls in listeners:
            try:
                conn, peer = ls.accept()
            except socket.timeout:
                continue
            conn.settimeout(a.timeout)
            seed = a.seed + accepted
            accepted += 1
            t = threading.Thread(target=lambda c=conn, sd=seed, pr=peer: print(
                f"server {pr[0]} sent {a.bytes} received {exchange(c, sd, a.bytes, deadline)}", flush=True) or c.close())
            t.start()
            threads.append(t)
    for t in threads:
        t.join(max(0.0, deadline - time.time()))


if __name__ == "__main__":
    main()
