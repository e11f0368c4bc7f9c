#!/usr/bin/env python3
"""Turns what captures/ holds into seeds for one harness, with real tools:
pcap/pcapng files as they are (harness pcap), their frames from `tcpdump -xx`
(harness wire), their TCP streams from `tshark -z follow` (harness smtp).

extract-seeds.py HARNESS CAPTURES_DIR OUT_DIR MAX_LEN
"""
import hashlib, os, re, subprocess, sys

harness, captures, out, max_len = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
LINK_INDEX = {"NULL": 0, "EN10MB": 1, "RAW": 4, "LOOP": 5, "LINUX_SLL": 6, "IPV4": 7, "IPV6": 8, "LINUX_SLL2": 9}
MAX_FILES = 300

def captures_files():
    for dirpath, _, names in os.walk(captures):
        if "regressions" in dirpath.split(os.sep):
            continue
        for name in sorted(names):
            if name.endswith((".pcap", ".pcapng", ".cap")):
                yield os.path.join(dirpath, name)

def save(data):
    data = data[:max_len]
    with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)

def run(args):
    return subprocess.run(args, capture_output=True, text=True, timeout=60).stdout

count = 0
for path in captures_files():
    if count >= MAX_FILES:
        break
    if harness == "pcap":
        if os.path.getsize(path) <= max_len:
            save(open(path, "rb").read()); count += 1
    elif harness == "wire":
        text = run(["tcpdump", "-r", path, "-nn", "-xx", "-c", "200"])
        header = subprocess.run(["tcpdump", "-r", path, "-c", "1"], capture_output=True, text=True).stderr
        m = re.search(r"link-type (\S+)", header)
        index = LINK_INDEX.get(m.group(1) if m else "", None)
        if index is None:
            continue
        frame = b""
        for line in text.splitlines() + [""]:
            m = re.match(r"\s+0x[0-9a-f]+:\s+((?:[0-9a-f]{2,4}\s?)+)", line)
            if m:
                frame += bytes.fromhex(m.group(1).replace(" ", ""))
            elif frame:
                save(bytes([index, 32]) + frame); count += 1; frame = b""
    elif harness == "smtp":
        # One tshark pass per file, the first four TCP streams.
        args = ["tshark", "-r", path, "-q"]
        for stream in range(4):
            args += ["-z", "follow,tcp,raw,%d" % stream]
        seeds = []
        for line in run(args).splitlines():
            if line.startswith("Follow: tcp,raw"):
                seeds.append(b"\0")  # default limits
                continue
            m = re.match(r"^(\t?)([0-9a-f]+)$", line)
            if m and seeds:
                chunk = bytes.fromhex(m.group(2))
                while chunk:
                    part, chunk = chunk[:255], chunk[255:]
                    seeds[-1] += bytes([1 if m.group(1) else 0, len(part)]) + part
        for seed in seeds:
            if len(seed) > 1:
                save(seed); count += 1
