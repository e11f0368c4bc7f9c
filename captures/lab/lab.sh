# shellcheck shell=bash
# Shared lab plumbing: namespaces, veths, tcpdump, private Postfix instances.
# Sourced by record-all.sh. Everything it starts is remembered by PID in
# $LAB_PIDS and stopped by lab_teardown (installed as an EXIT trap).

NS_SND=sscope-snd
NS_MB=sscope-mb
NS_RCV=sscope-rcv

SND4=192.0.2.10;   MB_OUT4=192.0.2.1;   MB_IN4=198.51.100.1;   RCV4=198.51.100.25
SND6=2001:db8:1::10; MB_OUT6=2001:db8:1::1; MB_IN6=2001:db8:2::1; RCV6=2001:db8:2::25

LAB_PIDS=()
LAB_TMP=${LAB_TMP:-}

log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Start a background command in a namespace; its PID goes into LAB_PIDS and
# into the variable named by $1.
bg_ns() {
    local __var=$1 ns=$2; shift 2
    ip netns exec "$ns" "$@" &
    local __pid=$!
    LAB_PIDS+=("$__pid")
    printf -v "$__var" '%s' "$__pid"
}

# Stop one PID we started: SIGINT/SIGTERM, wait up to $2 seconds, then SIGKILL.
stop_pid() {
    local pid=$1 limit=${2:-5} sig=${3:-TERM} i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -"$sig" "$pid" 2>/dev/null
    for ((i = 0; i < limit * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# Wait (bounded) until a command succeeds.
wait_until() {
    local limit=$1 i; shift
    for ((i = 0; i < limit * 10; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

veth_tune() {  # ns dev: wire-size segments and real checksums in captures
    in_ns "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 \
        || in_ns "$1" ethtool -K "$2" tso off gso off gro off >/dev/null
    in_ns "$1" ip link set "$2" up
}

lab_netns_down() {
    local ns
    for ns in "$NS_SND" "$NS_MB" "$NS_RCV"; do
        ip netns pids "$ns" 2>/dev/null | while read -r p; do
            # only processes inside our own namespaces
            kill -KILL "$p" 2>/dev/null
        done
        ip netns del "$ns" 2>/dev/null
    done
    return 0
}

lab_netns_up() {
    lab_netns_down
    local ns
    for ns in "$NS_SND" "$NS_MB" "$NS_RCV"; do
        ip netns add "$ns"
        in_ns "$ns" ip link set lo up
        in_ns "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
        in_ns "$ns" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
        in_ns "$ns" sysctl -qw net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0
    done
    ip -n "$NS_SND" link add name s0 type veth peer name m0 netns "$NS_MB"
    ip -n "$NS_RCV" link add name r0 type veth peer name m1 netns "$NS_MB"
    # MTU 1500 everywhere; IPv6 router solicitations off to keep captures quiet
    for d in "$NS_SND:s0" "$NS_MB:m0" "$NS_MB:m1" "$NS_RCV:r0"; do
        in_ns "${d%%:*}" sysctl -qw "net.ipv6.conf.${d##*:}.router_solicitations=0" 2>/dev/null
        veth_tune "${d%%:*}" "${d##*:}"
    done
    in_ns "$NS_MB" ip link set m0 promisc on
    in_ns "$NS_MB" ip link set m1 promisc on
    in_ns "$NS_SND" ip addr add "$SND4/24" dev s0
    in_ns "$NS_SND" ip addr add "$SND6/64" dev s0 nodad
    in_ns "$NS_MB" ip addr add "$MB_OUT4/24" dev m0
    in_ns "$NS_MB" ip addr add "$MB_OUT6/64" dev m0 nodad
    in_ns "$NS_MB" ip addr add "$MB_IN4/24" dev m1
    in_ns "$NS_MB" ip addr add "$MB_IN6/64" dev m1 nodad
    in_ns "$NS_RCV" ip addr add "$RCV4/24" dev r0
    in_ns "$NS_RCV" ip addr add "$RCV6/64" dev r0 nodad
    # The far prefix is "on link": only the bridge forwarder can carry those
    # frames (the middlebox kernel never routes). No default routes anywhere.
    in_ns "$NS_SND" ip route add 198.51.100.0/24 dev s0
    in_ns "$NS_SND" ip -6 route add 2001:db8:2::/64 dev s0
    in_ns "$NS_RCV" ip route add 192.0.2.0/24 dev r0
    in_ns "$NS_RCV" ip -6 route add 2001:db8:1::/64 dev r0
    for ns in "$NS_SND" "$NS_MB" "$NS_RCV"; do
        if in_ns "$ns" ip route show default | grep -q . || in_ns "$ns" ip -6 route show default | grep -q .; then
            die "default route present in $ns"
        fi
    done
}

# tcpdump in the middlebox namespace on one veth; PID into variable $1.
capture_start() {
    local __var=$1 dev=$2 file=$3 filter=${4:-tcp or udp}
    local __cpid
    bg_ns __cpid "$NS_MB" tcpdump -i "$dev" --immediate-mode -s 0 -U -Z root -w "$file" -n "$filter" 2>>"$LAB_TMP/tcpdump.log"
    wait_until 5 test -s "$file" || die "tcpdump on $dev did not start"
    printf -v "$__var" '%s' "$__cpid"
    sleep 0.3
}
capture_stop() { sleep 1; stop_pid "$1" 5 INT; }

# ---- Postfix private instances ------------------------------------------
# pf_instance NAME NS: config in $LAB_TMP/pf-NAME/etc, queue in .../spool,
# log file .../maillog. Extra main.cf lines on stdin.
pf_instance() {
    local name=$1 ns=$2 d="$LAB_TMP/pf-$1"
    mkdir -p "$d/etc" "$d/spool" "$d/data"
    chown postfix:postfix "$d/data"
    cp /etc/postfix/dynamicmaps.cf "$d/etc/" 2>/dev/null
    [ -d /etc/postfix/dynamicmaps.cf.d ] && cp -r /etc/postfix/dynamicmaps.cf.d "$d/etc/"
    {
        echo "compatibility_level = 3.6"
        echo "config_directory = $d/etc"
        echo "queue_directory = $d/spool"
        echo "data_directory = $d/data"
        echo "meta_directory = /etc/postfix"
        echo "maillog_file_prefixes = $d"
        echo "maillog_file = $d/maillog"
        echo "mail_owner = postfix"
        echo "setgid_group = postdrop"
        echo "smtputf8_enable = no"
        echo "biff = no"
        echo "alias_maps ="
        echo "alias_database ="
        echo "append_dot_mydomain = no"
        echo "smtpd_banner = \$myhostname ESMTP Postfix"
        cat
    } > "$d/etc/main.cf"
    cat > "$d/etc/master.cf" <<'MCF'
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
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
MCF
    touch "$d/maillog"
    echo "$ns" > "$d/netns"
    script -qec "ip netns exec $ns postfix -c $d/etc check" /dev/null >>"$LAB_TMP/postfix-$name.out" 2>&1
    script -qec "ip netns exec $ns postfix -c $d/etc start" /dev/null >>"$LAB_TMP/postfix-$name.out" 2>&1 \
        || { cat "$LAB_TMP/postfix-$name.out" >&2; die "postfix $name did not start"; }
    wait_until 10 test -s "$d/spool/pid/master.pid" || die "postfix $name: no master.pid"
}

pf_master_pid() { tr -d ' \n' < "$LAB_TMP/pf-$1/spool/pid/master.pid" 2>/dev/null; }

pf_stop() {
    local name=$1 d="$LAB_TMP/pf-$1" pid
    [ -d "$d" ] || return 0
    pid=$(pf_master_pid "$name")
    in_ns "$(cat "$d/netns")" postfix -c "$d/etc" stop >/dev/null 2>&1
    if [ -n "$pid" ]; then
        wait_until 10 sh -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null
    fi
    return 0
}

pf_reload_conf() {  # NAME key=value ...
    local name=$1; shift
    postconf -c "$LAB_TMP/pf-$name/etc" -e "$@"
    in_ns "$(cat "$LAB_TMP/pf-$name/netns")" postfix -c "$LAB_TMP/pf-$name/etc" reload >/dev/null 2>&1 \
        || log "postfix $name reload failed"
    sleep 2
}

lab_teardown() {
    local p
    for name in snd rcv; do pf_stop "$name"; done
    for p in "${LAB_PIDS[@]}"; do stop_pid "$p" 3; done
    LAB_PIDS=()
    lab_netns_down
}
