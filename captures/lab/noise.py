#!/usr/bin/env python3
"""Unrelated background traffic for the mixed capture (stdlib only):
  noise.py serve --dns IP --http IP   (receiver side: UDP 53 echo-ish, HTTP 80)
  noise.py talk  --dns IP --http IP   (sender side: a few queries and GETs)"""
import argparse, http.server, socket, struct, threading, time, urllib.request

p = argparse.ArgumentParser()
p.add_argument("role", choices=["serve", "talk"])
p.add_argument("--dns", required=True)
p.add_argument("--http", required=True)
p.add_argument("--lifetime", type=float, default=120)
p.add_argument("--count", type=int, default=4)
a = p.parse_args()

def dns_query(name, qid):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack("!HH", 1, 1)

if a.role == "serve":
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((a.dns, 53)); u.settimeout(0.5)
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"lab page\n" * 20
            self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    srv = http.server.HTTPServer((a.http, 80), H)
    srv.timeout = 0.5
    deadline = time.time() + a.lifetime
    def udp():
        while time.time() < deadline:
            try:
                d, peer = u.recvfrom(512)
            except socket.timeout:
                continue
            # answer NXDOMAIN: flags QR|RD|RA, rcode 3
            u.sendto(d[:2] + struct.pack("!H", 0x8183) + d[4:], peer)
    threading.Thread(target=udp, daemon=True).start()
    while time.time() < deadline:
        srv.handle_request()
else:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(1.0)
    for i in range(a.count):
        u.sendto(dns_query(f"host{i}.example.com", 0x1000 + i), (a.dns, 53))
        try:
            u.recvfrom(512)
        except socket.timeout:
            pass
        try:
            urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                f"http://{a.http}/page{i}.html", timeout=3).read()
        except OSError:
            pass
        time.sleep(0.3)
