#!/usr/bin/env bash
# Regenerate every lab capture in captures/ from nothing (root, Debian 12).
#   sudo captures/lab/record-all.sh            # all scenarios (~6-8 minutes)
#   sudo captures/lab/record-all.sh kb-postfix-retries mixed   # a subset
# Builds three namespaces (sender, middlebox, receiver), runs private Postfix
# instances, the middlebox (mbox.py) and the Python client, records with
# tcpdump in the middlebox namespace, writes captures/<scenario>/ with a
# truth.json, then removes every namespace and process it made.
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$HERE/.." && pwd)
cd "$HERE"
. ./lab.sh
[ "$(id -u)" = 0 ] || die "run as root"
for t in tcpdump tshark editcap capinfos postfix postconf ethtool openssl python3; do
    command -v "$t" >/dev/null || die "missing $t"
done
LAB_TMP=$(mktemp -d /tmp/sscope-lab.XXXXXX)
chmod 755 "$LAB_TMP"
trap 'lab_teardown; [ -n "${KEEP_TMP:-}" ] || rm -rf "$LAB_TMP"' EXIT
trap 'exit 130' INT TERM
WANT=("$@")
want() { [ ${#WANT[@]} -eq 0 ] && return 0; local w; for w in "${WANT[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }
PY=python3
export PYTHONDONTWRITEBYTECODE=1
RUN_START=$(date +%s)

# ---- fixed parts of the lab ----------------------------------------------
lab_netns_up
in_ns "$NS_RCV" ip addr add 198.51.100.26/24 dev r0        # the silent server
in_ns "$NS_RCV" ip addr add 198.51.100.53/24 dev r0        # DNS-like noise
in_ns "$NS_RCV" ip addr add 198.51.100.80/24 dev r0        # HTTP-like noise
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=mx.example.net \
    -keyout "$LAB_TMP/key.pem" -out "$LAB_TMP/cert.pem" 2>/dev/null || die "openssl"
chmod 644 "$LAB_TMP/key.pem"
pf_instance rcv "$NS_RCV" <<CF
myhostname = mx.example.net
inet_interfaces = $RCV4, [$RCV6]
inet_protocols = all
mynetworks = 192.0.2.0/24, 198.51.100.0/24, [2001:db8::]/32, 127.0.0.0/8
smtpd_peername_lookup = no
mydestination =
relay_domains = example.net
relay_transport = discard:
smtpd_tls_security_level = may
smtpd_tls_cert_file = $LAB_TMP/cert.pem
smtpd_tls_key_file = $LAB_TMP/key.pem
smtpd_forbid_bare_newline = no
CF
printf '/^Received:/ IGNORE\n' > "$LAB_TMP/header_checks"
pf_instance snd "$NS_SND" <<CF
myhostname = mta.example.org
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
mydestination =
relayhost = [$MB_OUT4]
header_checks = regexp:$LAB_TMP/header_checks
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 10s
smtp_data_done_timeout = 10s
smtp_connection_cache_on_demand = no
CF

# ---- helpers ----------------------------------------------------------------
MB_PID=""
mb_bridge() {   # extra mbox.py bridge args
    mb_stop
    bg_ns MB_PID "$NS_MB" $PY mbox.py bridge --log "$LAB_TMP/mbox.jsonl" --lifetime 900 "$@"
    sleep 0.5
}
mb_proxy() {    # mailguard | transparent
    mb_stop
    bg_ns MB_PID "$NS_MB" $PY mbox.py proxy --mode "$1" --listen "$MB_OUT4" "$MB_OUT6" \
        --upstream4 "$RCV4" --upstream6 "$RCV6" --log "$LAB_TMP/mbox.jsonl" --lifetime 900
    wait_until 5 in_ns "$NS_MB" sh -c "ss -ltn | grep -q '$MB_OUT4:25'" || die "proxy did not listen"
}
mb_stop() { [ -n "$MB_PID" ] && stop_pid "$MB_PID" 3; MB_PID=""; }

SC_DIR=""; SC_T0=0; CAP_O=""; CAP_I=""; RCV_OFF=0; SND_OFF=0
scenario_begin() {   # name sides(outside|both)
    SC_DIR="$OUT/$1"; rm -rf "$SC_DIR"; mkdir -p "$SC_DIR"
    log "scenario $1"
    SC_T0=$(date +%s.%N)
    RCV_OFF=$(stat -c %s "$LAB_TMP/pf-rcv/maillog"); SND_OFF=$(stat -c %s "$LAB_TMP/pf-snd/maillog")
    CAP_O=""; CAP_I=""
    if [ "$2" = both ]; then
        capture_start CAP_O m0 "$SC_DIR/outside.pcap"
        capture_start CAP_I m1 "$SC_DIR/inside.pcap"
    else
        capture_start CAP_O m0 "$SC_DIR/$3"
    fi
}
scenario_end() {
    [ -n "$CAP_O" ] && capture_stop "$CAP_O"
    [ -n "$CAP_I" ] && capture_stop "$CAP_I"
    tail -c +$((RCV_OFF + 1)) "$LAB_TMP/pf-rcv/maillog" > "$LAB_TMP/rcv.log"
    tail -c +$((SND_OFF + 1)) "$LAB_TMP/pf-snd/maillog" > "$LAB_TMP/snd.log"
}
truth() {   # scenario what [truth.py args]
    local name=$1 what=$2; shift 2
    $PY truth.py --dir "$OUT/$name" --scenario "$name" --what "$what" --since "$SC_T0" \
        --jsonl "middlebox_log=$LAB_TMP/mbox.jsonl" --lines "receiver_postfix_log=$LAB_TMP/rcv.log" "$@" \
        || die "truth.py failed for $name"
}
client() {   # out-json client.py args (runs in the sender namespace, bounded)
    local out=$1; shift
    in_ns "$NS_SND" timeout 120 $PY client.py --out "$out" "$@" || log "client exited $? ($out)"
}
C=$LAB_TMP/clients; mkdir -p "$C"

# ---- scenarios --------------------------------------------------------------
if want clean-delivery; then
    mb_bridge
    scenario_begin clean-delivery outside clean-delivery.pcap
    client "$C/clean.json" --server "$RCV4" --tag clean --size 1200
    scenario_end
    truth clean-delivery "One message, EHLO, unsplit terminator, 250, QUIT. Direct path (middlebox only bridges frames)." \
        --capture clean-delivery.pcap:outside --client "$C/clean.json"
fi

if want pipelining; then
    mb_bridge
    scenario_begin pipelining outside pipelining.pcap
    client "$C/pipe.json" --server "$RCV4" --tag pipe --messages 3 --pipelining --rcpt bob@example.net carol@example.net --size 2500
    scenario_end
    truth pipelining "Three messages in one connection with PIPELINING: MAIL/RCPT/RCPT/DATA in one write; each terminator written together with the next message's MAIL/RCPT/RCPT/DATA (the last with QUIT). All three get 250." \
        --capture pipelining.pcap:outside --client "$C/pipe.json"
fi

if want split-transparent; then
    mb_proxy transparent
    scenario_begin split-transparent outside split-transparent.pcap
    for k in 1 2 3 4 1,2,3,4; do
        client "$C/st-$k.json" --server "$MB_OUT4" --tag "st-${k//,/}" --split "$k" --size 900
    done
    scenario_end
    truth split-transparent "Five connections through the middlebox in transparent proxy mode; terminator written in pieces (TCP_NODELAY, 0.25 s pauses) split after byte 1, 2, 3, 4 and after every byte. The transparent middlebox passes it; each gets 250. Outside capture (sender side)." \
        --capture split-transparent.pcap:outside $(for k in 1 2 3 4 1,2,3,4; do echo --client "$C/st-$k.json"; done)
fi

if want kb-postfix-retries; then
    mb_proxy mailguard
    # advertise MSS 1036 so the sender's segments carry 1024 bytes: Postfix
    # writes the body in 4096-byte blocks, so a body of 8192 bytes ends on a
    # segment boundary and ".\r\n" goes out alone (split after byte 2).
    in_ns "$NS_MB" ip route change 192.0.2.0/24 dev m0 proto kernel scope link src "$MB_OUT4" advmss 1036
    scenario_begin kb-postfix-retries both
    in_ns "$NS_SND" timeout 30 $PY inject.py --size 8192 --tag kb-postfix --out "$C/kb-inject.json" || die "inject"
    wait_until 120 sh -c "[ \$(tail -c +$((SND_OFF + 1)) $LAB_TMP/pf-snd/maillog | grep -c 'while sending end of data') -ge 3 ]" \
        || log "kb: fewer than 3 attempts seen"
    sleep 1
    scenario_end
    in_ns "$NS_MB" ip route change 192.0.2.0/24 dev m0 proto kernel scope link src "$MB_OUT4"
    truth kb-postfix-retries "MS KB Q295725 reproduced with real MTAs: the sending Postfix relays one 8192-byte message through the Mailguard middlebox to the receiving Postfix. Masked banner makes Postfix enable its PIX workarounds (HELO instead of EHLO); the body fills two 4096-byte output blocks, so the final '.CRLF' leaves in its own segment; the middlebox swallows the split terminator, no 250 returns, Postfix times out after smtp_data_done_timeout=10s and retries at a steady interval (three attempts recorded). outside.pcap = sender side, inside.pcap = receiver side of the same run." \
        --capture outside.pcap:outside --capture inside.pcap:inside --json "injected=$C/kb-inject.json" \
        --lines "sender_postfix_log=$LAB_TMP/snd.log" \
        --set 'sender_postfix_settings={"queue_run_delay":"10s","minimal_backoff_time":"10s","maximal_backoff_time":"10s","smtp_data_done_timeout":"10s","relayhost":"[192.0.2.1]","middlebox_advmss":1036}'
    in_ns "$NS_SND" postsuper -c "$LAB_TMP/pf-snd/etc" -d ALL >/dev/null 2>&1
fi

if want mailguard-splits; then
    mb_proxy mailguard
    scenario_begin mailguard-splits both
    for k in 1 2 3 4; do
        client "$C/mg-$k.json" --server "$MB_OUT4" --tag "mg-split$k" --split "$k" --eod-timeout 6 --size 900
    done
    scenario_end
    truth mailguard-splits "Four connections through the Mailguard middlebox, terminator split after byte 1, 2, 3, 4 (one per connection). Each time the middlebox swallows the segment completing the terminator; the receiver never sees end of data; the client waits 6 s for a reply and closes without QUIT. Outside and inside of the same run." \
        --capture outside.pcap:outside --capture inside.pcap:inside $(for k in 1 2 3 4; do echo --client "$C/mg-$k.json"; done)
fi

if want mailguard-unsplit; then
    mb_proxy mailguard
    scenario_begin mailguard-unsplit both
    client "$C/mgu.json" --server "$MB_OUT4" --tag mg-unsplit --size 1500 --extra "VRFY bob@example.net"
    scenario_end
    truth mailguard-unsplit "One connection through the Mailguard middlebox, terminator in one write: masked banner, EHLO answered 500 by the middlebox, HELO, VRFY turned into XXXX... (same length) and refused by the server, message delivered (250), QUIT. Outside and inside." \
        --capture outside.pcap:outside --capture inside.pcap:inside --client "$C/mgu.json"
fi

if want impaired-split; then
    mb_bridge --seed 7 --loss 0.08 --dup 0.08 --reorder 0.10 --delay-ms 2 --jitter-ms 3 --max-impair 30
    scenario_begin impaired-split both
    client "$C/imp.json" --server "$RCV4" --tag impaired --split 2 --size 30000 --eod-timeout 20
    client "$C/imp2.json" --server "$RCV4" --tag impaired-multi --split 1,3 --size 12000 --eod-timeout 20
    scenario_end
    truth impaired-split "Two connections through the packet-level impairing bridge (seeded: loss 8%, duplication 8%, reordering 10% of data segments, 2-5 ms delay; decisions in middlebox_log). Terminators split after byte 2 and after bytes 1 and 3. TCP repairs the losses; both messages get 250. outside = before impairment, inside = after." \
        --capture outside.pcap:outside --capture inside.pcap:inside --client "$C/imp.json" --client "$C/imp2.json"
fi

near_miss_run() {   # scenario smtpd_forbid_bare_newline(no|normalize|reject)
    local name=$1 forbid=$2 seqs="lflf crcr crlf_r lfcr lfcrlf crlflf crcrlf crlfcr nullbefore" s
    if [ "$forbid" != no ]; then
        pf_reload_conf rcv "smtpd_forbid_bare_newline = $forbid" "smtpd_forbid_bare_newline_exclusions ="
    fi
    mb_bridge
    scenario_begin "$name" outside "$name.pcap"
    for s in $seqs; do
        client "$C/$name-$s.json" --server "$RCV4" --tag "$name-$s" --near-miss "$s" --probe-timeout 2 --size 700
    done
    scenario_end
    [ "$forbid" != no ] && pf_reload_conf rcv "smtpd_forbid_bare_newline = no" "smtpd_forbid_bare_newline_exclusions = \$mynetworks"
    truth "$name" "Nine connections to the receiving Postfix 3.7.11 (smtpd_forbid_bare_newline = $forbid$([ "$forbid" != no ] && echo ', exclusions empty')). Each sends a message whose last line ends with a non-standard end-of-data sequence (near_miss in each client record), then a further line, waits 2 s for a reply; if none, ends the message with a real CRLF.CRLF. What Postfix replied is recorded per message (near_miss.reply, eod_reply)." \
        --capture "$name.pcap:outside" $(for s in $seqs; do echo --client "$C/$name-$s.json"; done) \
        --set "smtpd_forbid_bare_newline=\"$forbid\""
}
want near-miss-default && near_miss_run near-miss-default no
want near-miss-normalize && near_miss_run near-miss-normalize normalize
want near-miss-reject && near_miss_run near-miss-reject reject

if want starttls; then
    mb_bridge
    scenario_begin starttls outside starttls.pcap
    client "$C/tls.json" --server "$RCV4" --tag starttls --starttls --split 2 --size 1500
    scenario_end
    truth starttls "EHLO, STARTTLS (self-signed certificate), TLS 1.3, EHLO, one message with the terminator written split after byte 2 inside TLS (invisible on the wire), 250, QUIT." \
        --capture starttls.pcap:outside --client "$C/tls.json"
fi

if want bdat; then
    mb_bridge
    scenario_begin bdat outside bdat.pcap
    client "$C/bdat.json" --server "$RCV4" --tag bdat --bdat 1000 --size 3200 --messages 2
    scenario_end
    truth bdat "CHUNKING: two messages each sent as BDAT chunks of 1000 bytes, the last 'BDAT n LAST'; no DATA and no CRLF.CRLF terminator; every chunk answered 250." \
        --capture bdat.pcap:outside --client "$C/bdat.json"
fi

if want ipv6; then
    mb_bridge
    scenario_begin ipv6 outside ipv6.pcap
    client "$C/v6a.json" --server "$RCV6" --tag ipv6 --size 1200
    client "$C/v6b.json" --server "$RCV6" --tag ipv6-split3 --split 3 --size 1200
    scenario_end
    truth ipv6 "Two IPv6 connections 2001:db8:1::10 -> [2001:db8:2::25]:25: one unsplit, one with the terminator split after byte 3; both 250." \
        --capture ipv6.pcap:outside --client "$C/v6a.json" --client "$C/v6b.json"
fi

if want unanswered; then
    mb_bridge
    bg_ns SIL "$NS_RCV" $PY silent_server.py --listen 198.51.100.26 --log "$LAB_TMP/silent.jsonl" --lifetime 120
    wait_until 5 in_ns "$NS_RCV" sh -c "ss -ltn | grep -q '198.51.100.26:25'" || die "silent server"
    scenario_begin unanswered outside unanswered.pcap
    client "$C/silent.json" --server 198.51.100.26 --tag unanswered --size 1500 --eod-timeout 8 --attempts 2 --interval 5
    scenario_end
    stop_pid "$SIL" 3
    truth unanswered "A server (silent_server.py) that reads the whole message including an UNSPLIT terminator and never answers. The client waits 8 s, closes without QUIT, retries once 5 s later, same result. Not a split: must not be blamed on one." \
        --capture unanswered.pcap:outside --client "$C/silent.json" --jsonl "server_log=$LAB_TMP/silent.jsonl"
fi

if want open-at-end; then
    mb_bridge
    scenario_begin open-at-end outside open-at-end.pcap
    in_ns "$NS_SND" timeout 60 $PY client.py --out "$C/open.json" --server "$RCV4" --tag open-at-end --size 1000 --hold-open 40 &
    OPEN_PID=$!; LAB_PIDS+=("$OPEN_PID")
    wait_until 20 grep -q held_open "$C/open.json"
    sleep 1
    scenario_end
    stop_pid "$OPEN_PID" 3
    truth open-at-end "One message delivered (250), then the client keeps the connection open (no QUIT, no FIN); the capture stops while it is still open." \
        --capture open-at-end.pcap:outside --client "$C/open.json"
fi

if want variants && [ -f "$OUT/kb-postfix-retries/outside.pcap" ]; then
    V="$OUT/variants"; rm -rf "$V"; mkdir -p "$V"
    SRC="$OUT/kb-postfix-retries/outside.pcap"
    editcap -F pcapng "$SRC" "$V/kb-outside.pcapng"
    editcap -s 96 "$SRC" "$V/kb-outside-snaplen96.pcap"
    size=$(stat -c %s "$SRC")
    # cut in the middle of a record: 30 bytes into the record that starts
    # after byte 60% of the file (found with the pcap record headers)
    cut=$($PY - "$SRC" <<'PYEOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
off, target = 24, len(d) * 6 // 10
while off + 16 <= len(d):
    incl = struct.unpack("<I", d[off + 8:off + 12])[0]
    if off >= target:
        print(off + 16 + 30); break
    off += 16 + incl
PYEOF
)
    head -c "$cut" "$SRC" > "$V/kb-outside-cut-mid-record.pcap"
    SC_T0=$(date +%s.%N)
    : > "$LAB_TMP/rcv.log"
    $PY truth.py --dir "$V" --scenario variants --what "Derived from kb-postfix-retries/outside.pcap: pcapng (editcap -F pcapng), every frame cut to 96 bytes (editcap -s 96), and the file cut 30 bytes into the record header+data that begins after 60% of the file ($cut of $size bytes kept)." \
        --capture kb-outside.pcapng:outside --capture kb-outside-snaplen96.pcap:outside \
        --set "source=\"kb-postfix-retries/outside.pcap\"" --set "cut_mid_record={\"file\":\"kb-outside-cut-mid-record.pcap\",\"bytes_kept\":$cut,\"source_bytes\":$size}" \
        || die "truth variants"
fi

if want mixed; then
    mb_bridge
    bg_ns NZ "$NS_RCV" $PY noise.py serve --dns 198.51.100.53 --http 198.51.100.80 --lifetime 120
    sleep 0.5
    bg_ns SIL2 "$NS_RCV" $PY silent_server.py --listen 198.51.100.26 --log "$LAB_TMP/silent2.jsonl" --lifetime 120
    sleep 0.5
    scenario_begin mixed outside mixed.pcap
    in_ns "$NS_SND" timeout 60 $PY noise.py talk --dns 198.51.100.53 --http 198.51.100.80 --count 6 &
    NT=$!; LAB_PIDS+=("$NT")
    client "$C/mx1.json" --server "$RCV4" --tag mixed-clean --size 900
    client "$C/mx2.json" --server "$RCV6" --tag mixed-split2 --split 2 --size 5000
    client "$C/mx3.json" --server "$RCV4" --tag mixed-pipe --pipelining --messages 2 --size 1500
    client "$C/mx4.json" --server 198.51.100.26 --tag mixed-unanswered --size 800 --eod-timeout 5
    client "$C/mx5.json" --server "$RCV4" --tag mixed-bdat --bdat 700 --size 1500
    wait_until 30 sh -c "! kill -0 $NT" ; stop_pid "$NT" 2
    scenario_end
    stop_pid "$NZ" 3; stop_pid "$SIL2" 3
    truth mixed "One capture mixing: DNS-like UDP queries/answers and HTTP GETs on documentation addresses (not SMTP), a clean IPv4 delivery, an IPv6 delivery with the terminator split after byte 2 (250), two pipelined messages, one message to the silent server (unanswered, unsplit), one BDAT message." \
        --capture mixed.pcap:outside --client "$C/mx1.json" --client "$C/mx2.json" --client "$C/mx3.json" \
        --client "$C/mx4.json" --client "$C/mx5.json" --jsonl "server_log=$LAB_TMP/silent2.jsonl"
fi

mb_stop
$PY check_truth.py || die "a scenario did not do what it should (see check_truth output)"
log "done in $(( $(date +%s) - RUN_START )) s; corpus size: $(du -sh --exclude=lab "$OUT" | cut -f1)"
