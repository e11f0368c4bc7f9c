#!/usr/bin/env bash
# Installs what building and testing smtpscope needs on a fresh Debian 12 with Swift.
# Idempotent: installs only what is missing. Needs root (or sudo) when something is missing.
set -euo pipefail
need=()
dpkg -s libpcap-dev >/dev/null 2>&1 || need+=(libpcap-dev)
dpkg -s pkg-config >/dev/null 2>&1 || need+=(pkg-config)
# The live-capture tests build a veth pair between network namespaces, run a real SMTP
# server (aiosmtpd) and compare with tcpdump's view; setpriv drops CAP_NET_RAW.
for pkg in iproute2 ethtool tcpdump python3 python3-aiosmtpd util-linux; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
