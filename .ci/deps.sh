#!/usr/bin/env bash
# Installs what building and testing smtpscope needs on a fresh Debian 12 with Swift.
# Idempotent: installs only what is missing. Needs root (or sudo) when something is missing.
set -euo pipefail
need=()
# Installed means "install ok installed" (dpkg -s also succeeds for removed packages that left config files).
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
installed libpcap-dev || need+=(libpcap-dev)
installed pkg-config || need+=(pkg-config)
# The live-capture tests build a veth pair between network namespaces, run a real SMTP
# server (aiosmtpd) and compare with tcpdump's view; setpriv drops CAP_NET_RAW.
for pkg in iproute2 ethtool tcpdump python3 python3-aiosmtpd util-linux; do
  installed "$pkg" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
