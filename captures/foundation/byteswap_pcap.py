#!/usr/bin/python3
"""Rewrites a little-endian classic pcap file as big-endian: swaps the byte
order of the file header and of every record header, leaves packet bytes alone.
editcap cannot change byte order, so this is how the big-endian capture is made."""
import struct, sys

src, dst = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
magic, vmaj, vmin, zone, sigfigs, snaplen, network = struct.unpack_from("<IHHiIII", data, 0)
assert magic in (0xA1B2C3D4, 0xA1B23C4D), "expects a little-endian classic pcap"
out = bytearray(struct.pack(">IHHiIII", magic, vmaj, vmin, zone, sigfigs, snaplen, network))
pos = 24
while pos + 16 <= len(data):
    sec, frac, caplen, wirelen = struct.unpack_from("<IIII", data, pos)
    out += struct.pack(">IIII", sec, frac, caplen, wirelen)
    out += data[pos + 16 : pos + 16 + caplen]
    pos += 16 + caplen
assert pos == len(data), "trailing bytes"
open(dst, "wb").write(out)
