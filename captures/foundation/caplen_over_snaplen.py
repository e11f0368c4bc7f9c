#!/usr/bin/python3
"""Copies a classic little-endian pcap file and lowers the snapshot length in its
file header to SNAPLEN, so that every record longer than that has a captured
length exceeding the file's snapshot length (a damaged header, for bad-input tests)."""
import struct, sys

src, dst, snaplen = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = bytearray(open(src, "rb").read())
assert struct.unpack_from("<I", data, 0)[0] in (0xA1B2C3D4, 0xA1B23C4D)
struct.pack_into("<I", data, 16, snaplen)
open(dst, "wb").write(data)
