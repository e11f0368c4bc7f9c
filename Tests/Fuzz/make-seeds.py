#!/usr/bin/env python3
"""Writes the small seed corpora kept in git (Tests/Fuzz/seeds/<harness>/).

Frames are built here from a short SMTP dialog (documentation addresses);
pcap/pcapng seeds are written by text2pcap (Wireshark), not by hand.
Run: Tests/Fuzz/make-seeds.py   (rewrites the seeds folder)
"""
import os, shutil, struct, subprocess, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")

# Order of Harnesses/wire.swift `linkTypes`.
LINK_INDEX = {"null": 0, "ethernet": 1, "raw12": 2, "raw14": 3, "raw": 4, "loop": 5,
              "sll": 6, "ipv4": 7, "ipv6": 8, "sll2": 9}
LINK_DLT = {"null": 0, "ethernet": 1, "raw": 101, "loop": 108, "sll": 113, "sll2": 276}

def csum(data):
    if len(data) % 2: data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", options=b"", v6=False):
    options += b"\0" * (-len(options) % 4)
    off = (20 + len(options)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, 65535, 0, 0) + options
    seg = hdr + payload
    if v6:
        pseudo = src + dst + struct.pack("!IxxxB", len(seg), 6)
    else:
        pseudo = src + dst + struct.pack("!xBH", 6, len(seg))
    c = csum(pseudo + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]

def ipv4(src, dst, payload, ident=1, frag=0, proto=6):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, src, dst)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload

def ipv6(src, dst, payload, nxt=6, ext=b""):
    return struct.pack("!IHBB", 6 << 28, len(ext) + len(payload), nxt, 64) + src + dst + ext + payload

def link(kind, ip):
    v6 = ip[0] >> 4 == 6
    etype = 0x86DD if v6 else 0x0800
    if kind == "null": return struct.pack("<I", 24 if v6 else 2) + ip
    if kind == "loop": return struct.pack("!I", 24 if v6 else 2) + ip
    if kind == "ethernet": return bytes.fromhex("020000000002020000000001") + struct.pack("!H", etype) + ip
    if kind == "vlan": return bytes.fromhex("020000000002020000000001") + struct.pack("!HHH", 0x8100, 100, etype) + ip
    if kind == "sll": return struct.pack("!HHH8sH", 0, 1, 6, bytes(8), etype) + ip
    if kind == "sll2": return struct.pack("!HHIHBB8s", etype, 0, 1, 1, 0, 6, bytes(8)) + ip
    return ip  # raw, raw12, raw14, ipv4, ipv6

C4, S4 = bytes([192, 0, 2, 1]), bytes([198, 51, 100, 25])
C6 = bytes.fromhex("20010db8000000000000000000000001")
S6 = bytes.fromhex("20010db8000000000000000000000025")
SYN, ACK, PSH, FIN, RST = 0x02, 0x10, 0x08, 0x01, 0x04
SYN_OPTIONS = bytes.fromhex("020405b4") + bytes.fromhex("0402") + bytes.fromhex("080a0000000100000000") + bytes.fromhex("01030307")

DIALOG = [  # (from client?, payload)
    (False, b"220 mx.example.net ESMTP\r\n"),
    (True, b"EHLO client.example.org\r\n"),
    (False, b"250-mx.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n"),
    (True, b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"),
    (False, b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
    (True, b"Message-ID: <1@example.org>\r\nSubject: hi\r\n\r\nbody\r\n"),
    (True, b"\r\n."),
    (True, b"\r\n"),
    (False, b"250 2.0.0 Ok: queued as 4ABC\r\n"),
    (True, b"QUIT\r\n"),
    (False, b"221 2.0.0 Bye\r\n"),
]

def dialog_packets(v6=False, sport=40000):
    """IP packets of one whole SMTP connection (handshake, dialog, FIN both ways)."""
    c, s = (C6, S6) if v6 else (C4, S4)
    ip = (lambda a, b, p: ipv6(a, b, p)) if v6 else (lambda a, b, p: ipv4(a, b, p))
    cseq, sseq = 1000, 5000
    out = []
    def send(client, flags, payload=b"", options=b""):
        nonlocal cseq, sseq
        if client:
            out.append(ip(c, s, tcp(c, s, sport, 25, cseq, sseq, flags, payload, options, v6)))
            cseq += len(payload) + (1 if flags & (SYN | FIN) else 0)
        else:
            out.append(ip(s, c, tcp(s, c, 25, sport, sseq, cseq, flags, payload, options, v6)))
            sseq += len(payload) + (1 if flags & (SYN | FIN) else 0)
    send(True, SYN, options=SYN_OPTIONS)
    send(False, SYN | ACK, options=SYN_OPTIONS)
    send(True, ACK)
    for client, payload in DIALOG:
        send(client, PSH | ACK, payload)
    send(True, FIN | ACK)
    send(False, FIN | ACK)
    send(True, ACK)
    return out

def write(harness, name, data):
    d = os.path.join(SEEDS, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def text2pcap(frames, dlt, pcapng=False):
    with tempfile.TemporaryDirectory() as tmp:
        text = os.path.join(tmp, "in.txt")
        with open(text, "w") as f:
            for i, frame in enumerate(frames):
                f.write("00:00:%02d.%06d\n" % (i // 10, (i % 10) * 100000))
                f.write("0000 " + " ".join("%02x" % b for b in frame) + "\n\n")
        out = os.path.join(tmp, "out")
        args = ["text2pcap", "-q", "-l", str(dlt), "-t", "%H:%M:%S."]
        args += ["-F", "pcapng" if pcapng else "pcap"]
        subprocess.run(args + [text, out], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return open(out, "rb").read()

def main():
    shutil.rmtree(SEEDS, ignore_errors=True)
    v4 = dialog_packets()
    v6 = dialog_packets(v6=True)

    # wire: one frame per link type (selector byte, mode 0 = single frame).
    data4, data6, syn4 = v4[9], v6[9], v4[0]
    for kind, index in LINK_INDEX.items():
        if kind != "ipv6": write("wire", "%s-v4" % kind, bytes([index, 32]) + link(kind, data4))
        if kind not in ("ipv4",): write("wire", "%s-v6" % kind, bytes([index, 32]) + link(kind, data6))
    write("wire", "ethernet-syn-options", bytes([1, 32]) + link("ethernet", syn4))
    write("wire", "ethernet-vlan", bytes([1, 32]) + link("vlan", data4))
    ext = bytes([6, 0]) + bytes([1, 4, 0, 0, 0, 0])  # hop-by-hop, 8 bytes, next = TCP
    seg6 = v6[8][40:]  # 50 payload bytes: enough to fragment
    write("wire", "ethernet-v6-hopbyhop", bytes([1, 32]) + link("ethernet", ipv6(C6, S6, seg6, nxt=0, ext=ext)))
    # Fragments (mode 0x80: length-prefixed frames through one decoder).
    seg4 = v4[8][20:]
    f1 = ipv4(C4, S4, seg4[:24], ident=7, frag=0x2000)
    f2 = ipv4(C4, S4, seg4[24:], ident=7, frag=3)
    frames = [link("ethernet", f1), link("ethernet", f2)]
    write("wire", "ethernet-v4-fragments", bytes([1, 0x80]) + b"".join(struct.pack("!H", len(f)) + f for f in frames))
    fh1 = struct.pack("!BBHI", 6, 0, 0x0001, 99)  # offset 0, more
    fh2 = struct.pack("!BBHI", 6, 0, 3 << 3, 99)  # offset 24, last
    g1 = ipv6(C6, S6, seg6[:24], nxt=44, ext=fh1)
    g2 = ipv6(C6, S6, seg6[24:], nxt=44, ext=fh2)
    frames = [link("raw", g1), link("raw", g2)]
    write("wire", "raw-v6-fragments", bytes([4, 0x80]) + b"".join(struct.pack("!H", len(f)) + f for f in frames))

    # pcap: whole dialogs in several link types, pcap and pcapng.
    write("pcap", "dialog-ethernet-v4.pcap", text2pcap([link("ethernet", p) for p in v4], 1))
    write("pcap", "dialog-sll2-v6.pcapng", text2pcap([link("sll2", p) for p in v6], 276, pcapng=True))
    write("pcap", "dialog-raw-v4.pcap", text2pcap(v4, 101))
    write("pcap", "dialog-null-v6.pcap", text2pcap([link("null", p) for p in v6], 0))
    mixed = [link("sll", p) for p in v4[:8]]  # midstream cut + out of order
    write("pcap", "dialog-sll-reordered.pcap", text2pcap(mixed[:3] + mixed[5:8] + mixed[3:5], 113))

    # reassembly: records as Harnesses/reassembly.swift reads them.
    def rec(control, flags, delta, ack, payload=b""):
        return bytes([control, flags]) + struct.pack("!hb", delta, ack) + bytes([len(payload)]) + payload
    r = bytes([0])
    r += rec(0, SYN, 0, 0) + rec(1, SYN | ACK, 0, 0) + rec(0, ACK, 0, 0)
    for client, payload in DIALOG:
        r += rec(0 if client else 1, PSH | ACK, 0, 0, payload)
    r += rec(0, FIN | ACK, 0, 0) + rec(1, FIN | ACK, 0, 0)
    write("reassembly", "dialog", r)
    o = bytes([0x0F])  # small limits
    o += rec(0, SYN, 0, 0) + rec(1, SYN | ACK, 0, 0)
    o += rec(0, PSH | ACK, 10, 0, b"later bytes") + rec(0, PSH | ACK, -21, 0, b"first ten!")
    o += rec(0, PSH | ACK, -11, 0, b"LATER BYTES") + rec(2, SYN, 0, 0) + rec(2, PSH | ACK, 300, 0, b"x" * 40)
    o += rec(0x10 * 9, ACK, 0, 0)
    write("reassembly", "reorder-two-flows", o)

    # smtp: as Harnesses/smtp.swift reads them: [limits] then [op][len][bytes] records.
    s = b"\0"  # default limits
    for client, payload in DIALOG:
        s += bytes([0 if client else 1, len(payload)]) + payload
    write("smtp", "dialog", s)
    smuggle = [(False, b"220 x\r\n"), (True, b"EHLO a\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
               (False, b"250 x\r\n250 ok\r\n250 ok\r\n354 go\r\n"), (True, b"a\r\n\n.\n"),
               (True, b"MAIL FROM:<c@x>\r\n\r\n.\r\n"), (False, b"250 ok\r\n"),
               (True, b"BDAT 5 LAST\r\nhello"), (False, b"250 ok\r\n"), (True, b"STARTTLS\r\n"),
               (False, b"220 go\r\n"), (True, b"\x16\x03\x01\x00\x05hello")]
    s = b"\x41"  # short lines, small held buffer
    for client, payload in smuggle:
        s += bytes([0 if client else 1, len(payload)]) + payload
    s += bytes([4, 20]) + bytes([7, 0])  # client gap of 20, server end
    write("smtp", "smuggling-bdat-starttls", s)

if __name__ == "__main__":
    main()
