#!/usr/bin/env bash
# The SYN flood, sluice against the Linux kernel (issue 6 item 7). Needs root.
#
#   scripts/flood-compare.sh [SECONDS]        (default 10, at least 10, at most 60)
#
# Builds what it needs, then runs the e2e test test/e2e/flood_test.cpp on the netns test bed
# (under the machine's e2e lock): spoofed SYNs from random sources inside 198.18.0.0/15
# (test/e2e/syn_flood.cpp, AF_PACKET, as fast as one core sends) flood 198.18.0.2:80 for
# SECONDS while a real client (test/e2e/conn_probe.cpp) opens 50 HTTP connections a second.
# First sluice-listen serves (net_af_packet, syncookies = auto, test/e2e/flood-test.toml),
# then the kernel (python3 http.server, net.ipv4.tcp_syncookies = 1) under the same flood.
# Prints both side by side: flood rate, legitimate success rate, connect time p50/p99/max,
# and each server's SYN-cookie counters. The test asserts sluice's side (>= 99.9 % success,
# flat connection count and RSS); it fails if they do not hold.
#
# SLUICE_FLOOD_KERNEL=0 skips the kernel run; SLUICE_FLOOD_KERNEL_SYNCOOKIES="1,0" runs the
# kernel once per net.ipv4.tcp_syncookies value (default "1"). BUILD=dir picks the build dir.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
build=${BUILD:-build}
if [[ $(id -u) -ne 0 ]]; then
    echo "flood-compare.sh: needs root (network namespaces, DPDK, raw sockets)" >&2
    exit 2
fi
[[ -d $build ]] || meson setup "$build" >/dev/null
ninja -C "$build" app/sluice-listen test/e2e/test_e2e_flood test/e2e/syn_flood \
    test/e2e/conn_probe >/dev/null
# One DPDK worker at a time on this machine: wait for the shared lock, bounded.
SLUICE_FLOOD_SECONDS=$seconds exec flock -w 900 /tmp/sluice-e2e.lock \
    scripts/e2e-run.sh "$build/test/e2e/test_e2e_flood"
