#!/usr/bin/env python3
"""An SMTP server that accepts DATA and then never answers end-of-data
(stdlib only). Models a hung receiver: nothing split, nobody swallowing."""
import argparse, json, socket, threading, time

p = argparse.ArgumentParser()
p.add_argument("--listen", required=True)
p.add_argument("--port", type=int, default=25)
p.add_argument("--lifetime", type=float, default=120)
p.add_argument("--log", required=True)
a = p.parse_args()
logf = open(a.log, "a", buffering=1)
lock = threading.Lock()

def log(**r):
    with lock:
        logf.write(json.dumps({"t": round(time.time(), 6), **r}, sort_keys=True) + "\n")

def serve(c, addr, n, deadline):
    c.settimeout(1.0)
    c.sendall(b"220 hung.example.net ESMTP lab server that stalls after DATA\r\n")
    buf, in_data, got = b"", False, 0
    while time.time() < deadline:
        try:
            chunk = c.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not chunk:
            break
        if in_data:
            got += len(chunk)
            if b"\r\n.\r\n" in (buf[-4:] + chunk):
                log(conn=n, event="end_of_data_received_not_answering", data_bytes=got)
            buf = (buf + chunk)[-8:]
            continue
        buf += chunk
        while b"\n" in buf and not in_data:
            line, buf = buf.split(b"\n", 1)
            verb = line.strip().split(b" ")[0].upper()
            log(conn=n, event="command", line=line.decode("latin-1").rstrip())
            if verb in (b"EHLO", b"HELO"):
                c.sendall(b"250 hung.example.net\r\n")
            elif verb == b"DATA":
                c.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                in_data, got = True, len(buf)
            elif verb == b"QUIT":
                c.sendall(b"221 Bye\r\n")
                c.close()
                return
            else:
                c.sendall(b"250 Ok\r\n")
    log(conn=n, event="closed")
    c.close()

s = socket.socket(socket.AF_INET6 if ":" in a.listen else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((a.listen, a.port)); s.listen(8); s.settimeout(1.0)
deadline = time.time() + a.lifetime
n = 0
while time.time() < deadline and n < 20:
    try:
        c, addr = s.accept()
    except socket.timeout:
        continue
    n += 1
    log(conn=n, event="accept", client=f"{addr[0]}:{addr[1]}")
    threading.Thread(target=serve, args=(c, addr, n, deadline), daemon=True).start()
