#!/usr/bin/env bash
# Records the Postfix captures for real: a private Postfix 3.7 instance (`postfix -c DIR`, own
# config, queue and data directories, no chroot) listening on 192.0.2.25:25 inside network
# namespace smtpscope-pf-srv, clients (swaks, python smtplib, a raw-socket python client) in
# smtpscope-pf-cli (192.0.2.10), joined by a veth pair; tcpdump records in the client namespace.
# Stores tshark's SMTP view next to each capture as the independent expectation.
# Needs root, postfix, swaks, python3, openssl, tcpdump, tshark.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
CLI=smtpscope-pf-cli SRV=smtpscope-pf-srv
SERVER=192.0.2.25 CLIENT_IP=192.0.2.10
WORK=$(mktemp -d /tmp/smtpscope-postfix.XXXXXX)
DUMP=""
cleanup() {
  if [ -n "$DUMP" ]; then kill "$DUMP" 2>/dev/null || true; fi
  if [ -f "$WORK/queue/pid/master.pid" ]; then
    ip netns exec "$SRV" postfix -c "$WORK/etc" stop >/dev/null 2>&1 || true
    pid=$(tr -dc 0-9 < "$WORK/queue/pid/master.pid" || true)
    for _ in $(seq 50); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  fi
  ip netns del "$CLI" 2>/dev/null || true
  ip netns del "$SRV" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Network: two namespaces, documentation addresses only.
ip netns add "$CLI"; ip netns add "$SRV"
ip link add pf-veth0 netns "$CLI" type veth peer name pf-veth1 netns "$SRV"
ip -n "$CLI" addr add $CLIENT_IP/24 dev pf-veth0
ip -n "$SRV" addr add $SERVER/24 dev pf-veth1
for ns in "$CLI" "$SRV"; do ip -n "$ns" link set lo up; done
ip -n "$CLI" link set pf-veth0 up; ip -n "$SRV" link set pf-veth1 up
# Segments as written: no offloads merging or cutting them.
ip netns exec "$CLI" ethtool -K pf-veth0 tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec "$SRV" ethtool -K pf-veth1 tso off gso off gro off >/dev/null 2>&1 || true

# Private Postfix instance.
chmod 755 "$WORK"
mkdir -p "$WORK/etc" "$WORK/queue" "$WORK/data"
chown postfix "$WORK/data"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mx.example.org \
  -keyout "$WORK/etc/key.pem" -out "$WORK/etc/cert.pem" 2>/dev/null
cat > "$WORK/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $WORK/queue
data_directory = $WORK/data
maillog_file = $WORK/maillog
maillog_file_prefixes = $WORK
myhostname = mx.example.org
mydomain = example.org
mydestination =
inet_interfaces = $SERVER
inet_protocols = ipv4
mynetworks = 192.0.2.0/24
smtpd_peername_lookup = no
smtpd_banner = \$myhostname ESMTP smtpscope lab
smtpd_recipient_restrictions = check_recipient_access inline:{ {reject@example.org=REJECT no such user here} }, permit_mynetworks, reject
relay_domains = example.org
default_transport = discard:lab
relay_transport = discard:lab
smtpd_tls_security_level = may
smtpd_tls_cert_file = $WORK/etc/cert.pem
smtpd_tls_key_file = $WORK/etc/key.pem
smtpd_tls_received_header = no
smtp_dns_support_level = disabled
CF
cat > "$WORK/etc/master.cf" <<CF
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CF
ip netns exec "$SRV" postfix -c "$WORK/etc" start
up=no
for _ in $(seq 50); do
  # Ready when the banner arrives; the probe then says QUIT (so no late banner meets a closed socket).
  if ip netns exec "$CLI" timeout 5 bash -c "exec 3<>/dev/tcp/$SERVER/25 && read -t 4 -r banner <&3 && printf 'QUIT\r\n' >&3 && read -t 2 -r bye <&3" 2>/dev/null; then up=yes; break; fi
  sleep 0.2
done
if [ $up != yes ]; then echo "postfix did not come up:" >&2; cat "$WORK/maillog" >&2 || true; exit 1; fi

record() { # name, then the client command (run in the client namespace)
  local name=$1; shift
  ip netns exec "$CLI" timeout 30 tcpdump -U -n -i pf-veth0 -s 0 -w "$HERE/$name" tcp port 25 2>/dev/null &
  DUMP=$!
  sleep 1
  ip netns exec "$CLI" timeout 20 "$@" > "$WORK/client.log" 2>&1 || { echo "client failed: $*" >&2; cat "$WORK/client.log" "$WORK/maillog" >&2; exit 1; }
  sleep 1; kill -INT "$DUMP"; wait "$DUMP" || true; DUMP=""
}
SWAKS="swaks --server $SERVER --port 25 --from alice@example.com --to bob@example.org --helo swaks.lab.example.com"

record postfix-swaks-pipeline.pcap $SWAKS --pipeline --header 'Subject: swaks pipelined' --body 'Hello from swaks, pipelined.'
record postfix-swaks-starttls.pcap $SWAKS -tls --header 'Subject: swaks tls' --body 'Hello over TLS.'
record postfix-smtplib.pcap python3 "$HERE/smtplib_client.py" $SERVER 25
record postfix-raw-pipelining.pcap python3 "$HERE/raw_client.py" $SERVER 25 "$HERE/postfix-raw-pipelining.pcap.sent.json" pipelining
record postfix-raw-splits.pcap python3 "$HERE/raw_client.py" $SERVER 25 "$HERE/postfix-raw-splits.pcap.sent.json" splits

# All five connections in one file, in time order (for the flow list).
mergecap -F pcap -w postfix-merged.pcap postfix-swaks-pipeline.pcap postfix-swaks-starttls.pcap postfix-smtplib.pcap \
  postfix-raw-pipelining.pcap postfix-raw-splits.pcap

for f in postfix-*.pcap; do
  tshark -r "$f" -T fields -e frame.number -e tcp.len -e tcp.stream -e tcp.srcport > "$f.tshark.tsv" 2>/dev/null
  tshark -r "$f" -Y smtp -T fields -e frame.number -e tcp.stream -e smtp.req.command -e smtp.req.parameter \
    -e smtp.response.code -e imf.message_id > "$f.smtp.tsv" 2>/dev/null
done
# The number of TCP streams on SMTP ports tshark sees in every shipped capture (for `transcript --list`).
for f in ../foundation/*.pcap ../foundation/*.pcapng ../smtp/postfix-*.pcap; do
  n=$(tshark -r "$f" -Y 'tcp.port in {25, 587, 2525}' -T fields -e tcp.stream 2>/dev/null | sort -u | grep -c . || true)
  printf '%s\t%s\n' "${f#../}" "$n"
done > streams.tsv
