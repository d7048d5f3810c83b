#!/usr/bin/env bash
# Single-connection bulk throughput over the veth test bed (issue 5, item 6, veth half):
# a kernel client sending to sluice's discard (port 9) and echo (port 7) services, then, on
# the same veth pair in the same run, the same kernel client sending to a kernel sink and a
# kernel echo server (test/e2e/kstream) that own 198.18.0.2 instead of sluice. Prints the
# goodputs, the ratio sluice/kernel, and sluice's worker bytes per busy TSC cycle (from the
# BusyCycles counter: cycles in loop turns that received packets).
#
#   flock /tmp/sluice-e2e.lock bench/transfer/run.sh [BUILD_DIR] [BYTES]
#
# IMPAIR="--loss 0.02 --delay-ms 10" puts test/e2e/impair (an AF_PACKET relay in a third
# namespace, both directions, seeded) between client and server for both servers, so that
# sluice's and the kernel's loss recovery are compared on the same path. KERNEL_CC=cubic (or
# reno, bbr, ...) sets the kernel server's congestion control (per namespace); the default
# is the host's. sluice does NewReno with SACK (RFC 5681, 6582, 6675): under random loss
# compare it with reno or cubic, since BBR does not treat loss as congestion.
#
# Needs root. Uses its own namespaces (tag b-: sluice-b-client, sluice-b-server) and DPDK
# file prefix (sluice-b) and removes them on exit; run it under the e2e lock all the same
# (it starts a DPDK worker that spins on a core). Every transfer is bounded (kstream gives up
# after 120 s). Figures from a shared 2-core VM are noisy: compare ratios from one run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build}
bytes=${2:-200000000}
tag=b-
ns_c=sluice-${tag}client
ns_s=sluice-${tag}server
if_s=sluice-${tag}srv
prefix=sluice-b
sluice_addr=198.18.0.2
kstream=$build/test/e2e/kstream
impair=$build/test/e2e/impair
impair_args=${IMPAIR:-}
impair_pid=
listen=$build/app/sluice-listen
log=$(mktemp /tmp/sluice-bench-transfer.XXXXXX)
listen_pid=

if [[ $(id -u) -ne 0 ]]; then
    echo "run.sh: needs root (network namespaces, DPDK)" >&2
    exit 1
fi
for f in "$kstream" "$listen" "$build/app/sluice-stat"; do
    [[ -x $f ]] || { echo "run.sh: $f missing (ninja -C $build app/sluice-listen app/sluice-stat test/e2e/kstream)" >&2; exit 1; }
done

cleanup() {
    if [[ -n $impair_pid ]]; then
        kill "$impair_pid" 2>/dev/null || true
        wait "$impair_pid" 2>/dev/null || true
    fi
    if [[ -n $listen_pid ]]; then
        kill "$listen_pid" 2>/dev/null || true
        wait "$listen_pid" 2>/dev/null || true
    fi
    "$src/scripts/netns.sh" down "$tag" >/dev/null 2>&1 || true
    rm -rf "/var/run/dpdk/$prefix" "$log" "$log.impair"
}
trap cleanup EXIT

# sluice's counters, "Name value" per line.
counters() { "$build/app/sluice-stat" --prefix "$prefix" -a; }  # "Name value  # what" per line
counter() { counters | awk -v k="$1" '$1 == k { print $2 }'; }
field() { grep -o "$1=[^ ]*" | head -1 | cut -d= -f2; }

# One kernel-client transfer; prints its goodput in MB/s (payload bytes one way / seconds).
client() {  # MODE PORT
    local out
    out=$(ip netns exec "$ns_c" "$kstream" "$1" "$sluice_addr" "$2" "$bytes" 1 120) || {
        echo "run.sh: kstream $1 to port $2 failed: $out" >&2
        exit 1
    }
    echo "$out" | field goodput_MBps
}

if [[ -n $impair_args ]]; then
    [[ -x $impair ]] || { echo "run.sh: $impair missing (ninja -C $build test/e2e/impair)" >&2; exit 1; }
    "$src/scripts/netns.sh" up-relay "$tag"
    # shellcheck disable=SC2086 # IMPAIR is a list of options
    ip netns exec "sluice-${tag}mid" "$impair" --a "sluice-${tag}mc" --b "sluice-${tag}ms" \
        $impair_args --seed 7 --seconds 900 >"$log.impair" 2>&1 &
    impair_pid=$!
    for _ in $(seq 50); do grep -q "impair: ready" "$log.impair" && break; sleep 0.1; done
    grep -q "impair: ready" "$log.impair" || { cat "$log.impair" >&2; exit 1; }
else
    "$src/scripts/netns.sh" up "$tag"
fi

# --- sluice serves 198.18.0.2 -------------------------------------------------------------
ip netns exec "$ns_s" "$listen" --file-prefix=$prefix -- --config "$here/listen-bench.toml" \
    --iface "$if_s" >"$log" 2>&1 &
listen_pid=$!
for _ in $(seq 150); do
    grep -q ": ready on " "$log" && break
    kill -0 "$listen_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.2
done
grep -q ": ready on " "$log" || { echo "run.sh: sluice-listen not ready" >&2; cat "$log" >&2; exit 1; }

busy0=$(counter BusyCycles)
sluice_discard=$(client send 9)
busy1=$(counter BusyCycles)
sluice_echo=$(client echo 7)
busy2=$(counter BusyCycles)
retrans=$(counter RetransSegs)
kill "$listen_pid"
wait "$listen_pid" 2>/dev/null || true
listen_pid=

# --- the kernel serves 198.18.0.2 on the same veth end ------------------------------------
ip -n "$ns_s" addr add "$sluice_addr/24" dev "$if_s"
[[ -z ${KERNEL_CC:-} ]] || ip netns exec "$ns_s" sysctl -qw net.ipv4.tcp_congestion_control="$KERNEL_CC"
kernel_cc=$(ip netns exec "$ns_s" sysctl -n net.ipv4.tcp_congestion_control)
kernel_run() {  # MODE(sink|serve) CLIENT_MODE PORT
    local out=$log.k pid
    if [[ $1 == sink ]]; then
        ip netns exec "$ns_s" "$kstream" sink "$sluice_addr" "$3" 1 130 >"$out" 2>&1 &
    else
        ip netns exec "$ns_s" "$kstream" serve "$sluice_addr" "$3" 130 >"$out" 2>&1 &
    fi
    pid=$!
    for _ in $(seq 50); do grep -q listening "$out" && break; sleep 0.1; done
    client "$2" "$3"
    wait "$pid" || { echo "run.sh: kernel $1 failed: $(cat "$out")" >&2; exit 1; }
    rm -f "$out"
}
kernel_discard=$(kernel_run sink send 9)
kernel_echo=$(kernel_run serve echo 7)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
per_cycle() { awk -v n="$bytes" -v c="$1" 'BEGIN { printf "%.3f", (c > 0 ? n / c : 0) }'; }
echo "single-connection bulk transfer over veth (net_af_packet for sluice), $bytes bytes" \
    "${impair_args:+through impair $impair_args}"
printf "%-32s %10s %10s %8s\n" "" "sluice" "kernel ($kernel_cc)" "ratio"
printf "%-32s %10s %10s %8s\n" "client -> discard/sink MB/s" "$sluice_discard" "$kernel_discard" \
    "$(ratio "$sluice_discard" "$kernel_discard")"
printf "%-32s %10s %10s %8s\n" "client -> echo MB/s (each way)" "$sluice_echo" "$kernel_echo" \
    "$(ratio "$sluice_echo" "$kernel_echo")"
echo "sluice worker: discard $(per_cycle $((busy1 - busy0))) bytes/busy cycle," \
    "echo $(per_cycle $((busy2 - busy1))) bytes in/busy cycle; RetransSegs $retrans"
