#!/usr/bin/env bash
# Records the foundation captures for real: two network namespaces joined by a
# veth pair (192.0.2.0/24, 2001:db8::/64), aiosmtpd as server, swaks as client,
# tcpdump recording. Then derives the converted variants with editcap/mergecap
# and stores tshark's view of each as the independent expectation.
# Needs root, tcpdump, tshark, editcap, mergecap, swaks, python3-aiosmtpd.
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3
CLI=smtpscope-rec-cli SRV=smtpscope-rec-srv
cleanup() {
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
  ip netns del "$CLI" 2>/dev/null || true
  ip netns del "$SRV" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$CLI"; ip netns add "$SRV"
ip link add rec-veth0 netns "$CLI" type veth peer name rec-veth1 netns "$SRV"
ip -n "$CLI" addr add 192.0.2.1/24 dev rec-veth0
ip -n "$SRV" addr add 192.0.2.2/24 dev rec-veth1
ip -n "$CLI" addr add 2001:db8::1/64 dev rec-veth0 nodad
ip -n "$SRV" addr add 2001:db8::2/64 dev rec-veth1 nodad
for ns in "$CLI" "$SRV"; do ip -n "$ns" link set lo up; done
ip -n "$CLI" link set rec-veth0 up; ip -n "$SRV" link set rec-veth1 up
sleep 1

# Servers: IPv4 port 25, IPv6 port 587, loopback (client namespace) port 2525.
ip netns exec "$SRV" timeout 60 $PY -m aiosmtpd -n -c aiosmtpd.handlers.Sink -l 192.0.2.2:25 &
ip netns exec "$SRV" timeout 60 $PY -m aiosmtpd -n -c aiosmtpd.handlers.Sink -l 2001:db8::2:587 &
ip netns exec "$CLI" timeout 60 $PY -m aiosmtpd -n -c aiosmtpd.handlers.Sink -l 127.0.0.1:2525 &
sleep 2

record() { # name, tcpdump args..., then runs the client given in $CLIENT
  local name=$1; shift
  ip netns exec "$CLI" timeout 20 tcpdump -U -n "$@" -w "$name" 2>/dev/null & local dump=$!
  sleep 1
  ip netns exec "$CLI" timeout 15 bash -c "$CLIENT" >/dev/null
  sleep 1; kill -INT "$dump"; wait "$dump" || true
}
swaks_to() { echo "swaks --server $1 --port $2 --from alice@example.com --to bob@example.org --helo client.example.com --header 'Subject: foundation' --body 'Hello from the smtpscope lab.' $3"; }

CLIENT=$(swaks_to 192.0.2.2 25 -4)     record smtp-v4-eth.pcap -i rec-veth0 -s 0 tcp
CLIENT=$(swaks_to 2001:db8::2 587 -6)  record smtp-v6-eth.pcap -i rec-veth0 -s 0 tcp
CLIENT=$(swaks_to 192.0.2.2 25 -4)     record smtp-v4-snap80.pcap -i rec-veth0 -s 80 tcp
CLIENT=$(swaks_to 127.0.0.1 2525 -4)   record smtp-lo.pcap -i lo -s 0 tcp
CLIENT=$(swaks_to 192.0.2.2 25 -4)     record smtp-any-sll2.pcap -i any -s 0 tcp
CLIENT=$(swaks_to 2001:db8::2 587 -6)  record smtp-any-sll.pcap -i any -y LINUX_SLL -s 0 tcp

# Converted variants.
editcap -F pcapng smtp-v4-eth.pcap smtp-v4-eth.pcapng
editcap -F nsecpcap smtp-v6-eth.pcap smtp-v6-eth-nsec.pcap
$PY byteswap_pcap.py smtp-v4-eth.pcap smtp-v4-eth-bigendian.pcap
mergecap -F pcapng -w smtp-mixed-links.pcapng smtp-v4-eth.pcap smtp-any-sll2.pcap

# Bad inputs.
printf 'HELO this is not a capture\r\n' > not-a-capture.pcap
: > empty.pcap
head -c $(( $(stat -c %s smtp-v4-eth.pcap) - 30 )) smtp-v4-eth.pcap > cut-mid-record.pcap
$PY caplen_over_snaplen.py smtp-v4-eth.pcap caplen-over-snaplen.pcap 96

for f in *.pcap *.pcapng; do
  tshark -r "$f" -T fields -e frame.number -e tcp.len > "$f.tshark.tsv" 2>/dev/null || true
done
