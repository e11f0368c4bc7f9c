#!/bin/bash
# Derives capture-loss.pcap from receiver-side.pcap and writes tshark's
# reassembled streams (`-z follow,tcp,raw,N`) next to each capture as
# NAME.streamN.follow: the expectation ReassemblyTests compare against.
# LOSS_FRAMES: per stream, in one direction (client->server for even streams,
# server->client for odd ones), the first data frame past relative seq 10000
# whose bytes no other frame carries; removing it leaves bytes the receiver
# acknowledged missing from the capture (capture loss, as tshark reports it).
if [ -z "${LOSS_FRAMES:-}" ]; then
LOSS_FRAMES=$(tshark -r receiver-side.pcap -T fields -e frame.number -e tcp.stream -e tcp.dstport -e tcp.seq -e tcp.len 2>/dev/null | python3 -c '
import sys
rows = [tuple(int(x) for x in line.split()) for line in sys.stdin if line.split() and int(line.split()[4]) > 0]
picked = []
for stream in sorted({r[1] for r in rows}):
    to_server = stream % 2 == 0
    mine = [r for r in rows if r[1] == stream and (r[2] == 25) == to_server]
    for frame, _, _, seq, length in mine:
        alone = all(o[0] == frame or o[3] + o[4] <= seq or o[3] >= seq + length for o in mine)
        if seq > 10000 and alone:
            picked.append(str(frame))
            break
print(" ".join(picked))')
fi
echo "removing frames $LOSS_FRAMES"
editcap -F pcap receiver-side.pcap capture-loss.pcap $LOSS_FRAMES
rm -f ./*.follow
for capture in receiver-side sender-side capture-loss; do
    streams=$(tshark -r $capture.pcap -T fields -e tcp.stream 2>/dev/null | sort -nu)
    for n in $streams; do
        tshark -r $capture.pcap -q -z follow,tcp,raw,$n 2>/dev/null > $capture.stream$n.follow
    done
done
ls -l ./*.pcap ./*.follow
