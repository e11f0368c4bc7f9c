#!/usr/bin/env python3
"""Userspace impairing forwarder between two veths (stdlib only).

Bridges every frame between --dev-a and --dev-b with AF_PACKET raw sockets
(IP forwarding stays off in its namespace, so only this process moves
packets). TCP segments with payload on --port are, with seeded probabilities,
dropped, duplicated, or held back --reorder-ms so later frames overtake them;
every forwarded frame gets --delay-ms plus up to --jitter-ms. At most
--max-impair segments are impaired, the queue holds at most --max-queue
frames, and the process ends after --lifetime seconds. Every decision is a
JSON line in --log. (Same design as the lab's `mbox.py bridge`.)
"""
import argparse
import heapq
import json
import random
import select
import socket
import struct
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def tcp_info(frame):
    """(sport, dport, payload_len, seq) of an IPv4/IPv6 TCP frame, else None."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack("!H", frame[12:14])[0]
    if ethertype == 0x0800 and len(frame) >= 34:
        ihl = (frame[14] & 0x0F) * 4
        if frame[23] != 6:
            return None
        total = struct.unpack("!H", frame[16:18])[0]
        tcp = 14 + ihl
        ip_payload = total - ihl
    elif ethertype == 0x86DD and len(frame) >= 54:
        if frame[20] != 6:
            return None
        tcp = 54
        ip_payload = struct.unpack("!H", frame[18:20])[0]
    else:
        return None
    if len(frame) < tcp + 20:
        return None
    sport, dport, seq = struct.unpack("!HHI", frame[tcp:tcp + 8])
    data_offset = (frame[tcp + 12] >> 4) * 4
    return sport, dport, ip_payload - data_offset, seq


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dev-a", required=True)
    p.add_argument("--dev-b", required=True)
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--loss", type=float, default=0.0)
    p.add_argument("--dup", type=float, default=0.0)
    p.add_argument("--reorder", type=float, default=0.0)
    p.add_argument("--reorder-ms", type=float, default=30.0)
    p.add_argument("--delay-ms", type=float, default=1.0)
    p.add_argument("--jitter-ms", type=float, default=0.0)
    p.add_argument("--max-impair", type=int, default=200)
    p.add_argument("--max-queue", type=int, default=4000)
    p.add_argument("--lifetime", type=float, default=120)
    p.add_argument("--log", required=True)
    a = p.parse_args()

    log_file = open(a.log, "a", buffering=1)

    def log(**record):
        log_file.write(json.dumps({"t": round(time.time(), 6), **record}, sort_keys=True) + "\n")

    rng = random.Random(a.seed)
    socks = {}
    for dev in (a.dev_a, a.dev_b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((dev, 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        socks[dev] = s
    other = {a.dev_a: a.dev_b, a.dev_b: a.dev_a}
    by_fd = {s.fileno(): dev for dev, s in socks.items()}
    log(event="start", devs=[a.dev_a, a.dev_b], seed=a.seed, loss=a.loss, dup=a.dup, reorder=a.reorder,
        reorder_ms=a.reorder_ms, delay_ms=a.delay_ms, jitter_ms=a.jitter_ms, max_impair=a.max_impair)
    queue = []  # (due, order, dev, frame)
    order = 0
    impaired = 0
    forwarded = 0
    deadline = time.time() + a.lifetime
    while time.time() < deadline:
        timeout = 0.2
        if queue:
            timeout = max(0.0, min(timeout, queue[0][0] - time.time()))
        ready, _, _ = select.select(list(socks.values()), [], [], timeout)
        for s in ready:
            frame, address = s.recvfrom(65536)
            if address[2] == PACKET_OUTGOING:
                continue
            source = by_fd[s.fileno()]
            target = other[source]
            info = tcp_info(frame)
            due = time.time() + a.delay_ms / 1000.0 + rng.uniform(0, a.jitter_ms / 1000.0)
            what = "forward"
            if info is not None and info[2] > 0 and a.port in (info[0], info[1]) and impaired < a.max_impair:
                x = rng.random()
                if x < a.loss:
                    what = "drop"
                elif x < a.loss + a.dup:
                    what = "duplicate"
                elif x < a.loss + a.dup + a.reorder:
                    what = "reorder"
            if what != "forward":
                impaired += 1
                log(event=what, dev_in=source, sport=info[0], dport=info[1], seq=info[3], payload_len=info[2])
            if what == "drop":
                continue
            if what == "reorder":
                due += a.reorder_ms / 1000.0
            order += 1
            heapq.heappush(queue, (due, order, target, frame))
            if what == "duplicate":
                order += 1
                heapq.heappush(queue, (due + 0.0005, order, target, frame))
            if len(queue) > a.max_queue:
                log(event="queue_limit_dropped_oldest", size=len(queue))
                heapq.heappop(queue)
        now = time.time()
        while queue and queue[0][0] <= now:
            _, _, dev, frame = heapq.heappop(queue)
            try:
                socks[dev].send(frame)
                forwarded += 1
            except OSError as error:
                log(event="send_error", dev=dev, error=str(error))
    log(event="stop", forwarded=forwarded, impaired=impaired)


if __name__ == "__main__":
    main()
