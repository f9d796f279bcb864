#!/bin/sh
# Installs the system packages the lab, the demo and the tests need (Debian/Ubuntu).
set -e
need=""
command -v ovs-vswitchd >/dev/null 2>&1 || need="$need openvswitch-switch"
command -v tcpdump >/dev/null 2>&1 || need="$need tcpdump"
command -v iperf3 >/dev/null 2>&1 || need="$need iperf3"
command -v ethtool >/dev/null 2>&1 || need="$need ethtool"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
[ -z "$need" ] && exit 0
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
echo "installing:$need"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
