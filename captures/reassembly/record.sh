#!/bin/bash
# Records the reassembly captures: bulk port-25 traffic in both directions
# through impair.py (loss, duplication, reordering) between two network
# namespaces, captured with tcpdump on both ends, plus tshark's reassembled
# streams as the expectation. Run as root from the package root:
#   captures/reassembly/record.sh
# Writes captures/reassembly/{receiver-side,sender-side}.pcap, a capture-loss
# variant (frames removed with editcap) and *.streamN.follow, impair.log.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
SEED=${SEED:-7}
NS_S=rasm-snd NS_M=rasm-mb NS_R=rasm-rcv
TMP=$(mktemp -d /tmp/rasm-rec.XXXXXX)
PIDS=()

cleanup() {
    set +e
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for _ in $(seq 1 20); do
        alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    for ns in $NS_S $NS_M $NS_R; do ip netns del $ns 2>/dev/null; done
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

for ns in $NS_S $NS_M $NS_R; do ip netns add $ns; done
ip -n $NS_S link add s0 type veth peer name m0 netns $NS_M
ip -n $NS_R link add r0 type veth peer name m1 netns $NS_M
for pair in "$NS_S s0" "$NS_M m0" "$NS_M m1" "$NS_R r0"; do
    set -- $pair
    ip netns exec $1 ethtool -K $2 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    ip -n $1 link set $2 up
    ip -n $1 link set lo up
done
ip netns exec $NS_M sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
ip netns exec $NS_M sysctl -qw net.ipv6.conf.m0.disable_ipv6=1 net.ipv6.conf.m1.disable_ipv6=1
# Client 203.0.113.10 / 2001:db8:31::10, server 198.51.100.25 / 2001:db8:32::25; each reaches the
# other's prefix on-link, so frames cross only through impair.py. No default route anywhere.
ip -n $NS_S addr add 203.0.113.10/24 dev s0
ip -n $NS_S addr add 2001:db8:31::10/64 dev s0 nodad
ip -n $NS_S route add 198.51.100.0/24 dev s0
ip -n $NS_S route add 2001:db8:32::/64 dev s0
ip -n $NS_R addr add 198.51.100.25/24 dev r0
ip -n $NS_R addr add 2001:db8:32::25/64 dev r0 nodad
ip -n $NS_R route add 203.0.113.0/24 dev r0
ip -n $NS_R route add 2001:db8:31::/64 dev r0

timeout 90 ip netns exec $NS_M python3 "$HERE/impair.py" --dev-a m0 --dev-b m1 --seed "$SEED" \
    --loss 0.04 --dup 0.03 --reorder 0.04 --reorder-ms 20 --delay-ms 1 --jitter-ms 0.5 \
    --max-impair 120 --lifetime 80 --log "$TMP/impair.log" &
PIDS+=($!)
timeout 90 ip netns exec $NS_R tcpdump -i r0 -s 0 -U --immediate-mode -w "$TMP/receiver-side.pcap" tcp port 25 2>/dev/null &
PIDS+=($!)
timeout 90 ip netns exec $NS_S tcpdump -i s0 -s 0 -U --immediate-mode -w "$TMP/sender-side.pcap" tcp port 25 2>/dev/null &
PIDS+=($!)
sleep 1.5

timeout 70 ip netns exec $NS_R python3 "$HERE/traffic.py" server --listen 198.51.100.25 2001:db8:32::25 \
    --conns 3 --seed 100 --bytes 40000 --timeout 60 > "$TMP/server.out" &
SERVER=$!
PIDS+=($SERVER)
sleep 0.5
timeout 65 ip netns exec $NS_S python3 "$HERE/traffic.py" client --connect 198.51.100.25 --seed 1 --bytes 100000 --timeout 60
timeout 65 ip netns exec $NS_S python3 "$HERE/traffic.py" client --connect 2001:db8:32::25 --seed 2 --bytes 80000 --timeout 60
timeout 65 ip netns exec $NS_S python3 "$HERE/traffic.py" client --connect 198.51.100.25 --seed 3 --bytes 60000 --timeout 60
wait $SERVER || true
cat "$TMP/server.out"
sleep 1
# Stop the captures (SIGINT flushes), then the forwarder.
for pid in "${PIDS[@]:1:2}"; do kill -INT "$pid" 2>/dev/null || true; done
sleep 1
kill -TERM "${PIDS[0]}" 2>/dev/null || true
sleep 0.5

cp "$TMP/receiver-side.pcap" "$TMP/sender-side.pcap" "$OUT/"
cp "$TMP/impair.log" "$OUT/impair.log"
