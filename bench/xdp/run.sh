#!/usr/bin/env bash
# sluice-listen on net_af_packet, then on net_af_xdp, then nginx (the kernel's TCP), on the same
# veth end and address, measured by the same kernel client in one run (issue 22 item 3).
#
#   sudo bench/xdp/run.sh [--seconds S] [--out DIR]        (build/ must hold the apps)
#
# wrk -t1 -c32 -H 'Connection: close' (a new connection per request) from sluice-x-client on
# core 0; the server on core 1 (sluice's worker lcore; nginx's one worker by taskset). Each
# server's phase holds /tmp/sluice-e2e.lock on its own. Writes into DIR (default
# results/<UTC time>-xdp/): wrk-<server>.txt, sluice-<pmd>.log, counters-<pmd>.txt (sluice-stat
# before and after), machine.txt (load average before and after: figures from a loaded VM
# are noisy, compare the rows of one run) and summary.txt (key=value per server).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$src/build
seconds=10
out=$src/results/$(date -u +%Y%m%dT%H%M%SZ)-xdp
while [[ $# -gt 0 ]]; do
    case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--out DIR]" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
tag=x-
ns_c=sluice-${tag}client
ns_s=sluice-${tag}server
if_s=sluice-${tag}srv
prefix=sluice-x
addr=198.18.0.2
lock=/tmp/sluice-e2e.lock

{
    echo "date=$(date -u +%FT%TZ) commit=$(git -C "$src" rev-parse --short HEAD)"
    echo "kernel=$(uname -r) cpus=$(nproc)"
    echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"

stat_all() { "$build/app/sluice-stat" --prefix "$prefix" -a; }
counter() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
wait_http() {  # bounded: 15 s
    for _ in $(seq 75); do
        ip netns exec "$ns_c" curl -s -m 1 -o /dev/null "http://$addr/" && return 0
        sleep 0.2
    done
    return 1
}
load_wrk() {  # NAME
    timeout $((seconds + 30)) taskset -c 0 ip netns exec "$ns_c" wrk -t1 -c32 -d"${seconds}s" \
        --latency -H 'Connection: close' "http://$addr/" >"$out/wrk-$1.txt" 2>&1 || true
}
summary() {  # NAME: requests/s and p99 from wrk
    local rps p99
    rps=$(awk '/^Requests\/sec/ { print $2 }' "$out/wrk-$1.txt")
    p99=$(awk '$1 == "99%" { print $2 }' "$out/wrk-$1.txt")
    echo "$1_rps=${rps:-none} $1_p99=${p99:-none}" >>"$out/summary.txt"
}

finish() {  # PID DIR: stop the server, remove the bed and DIR
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    "$src/scripts/netns.sh" down "$tag"
    rm -rf "$2"
}

sluice_phase() {  # PMD
    local pmd=$1 pid args=()
    [[ $pmd == af_xdp ]] && args=(--device net_af_xdp0 --vdev-args "iface=$if_s${SLUICE_XDP_ARGS:+,$SLUICE_XDP_ARGS}")
    "$src/scripts/netns.sh" up "$tag"
    if [[ $pmd == af_xdp ]] && ! "$src/scripts/netns.sh" xdp-check "$tag"; then
        echo "$pmd=not measured (XDP does not load)" >>"$out/summary.txt"
        "$src/scripts/netns.sh" down "$tag"
        return 0
    fi
    # rx_descriptors: listen-report.toml's af_packet ring is framecnt=4096; the same depth.
    ip netns exec "$ns_s" "$build/app/sluice-listen" --file-prefix=$prefix -- \
        --config "$src/bench/report/listen-report.toml" --iface "$if_s" "${args[@]}" \
        >"$out/sluice-$pmd.log" 2>&1 &
    pid=$!
    if wait_http; then
        stat_all >"$out/counters-$pmd-before.txt"
        load_wrk "sluice-$pmd"
        stat_all >"$out/counters-$pmd-after.txt"
        local c b
        c=$(($(counter PassiveOpens "$out/counters-$pmd-after.txt") - \
            $(counter PassiveOpens "$out/counters-$pmd-before.txt")))
        b=$(($(counter BusyCycles "$out/counters-$pmd-after.txt") - \
            $(counter BusyCycles "$out/counters-$pmd-before.txt")))
        summary "sluice-$pmd"
        echo "sluice-${pmd}_connections=$c sluice-${pmd}_busy_cycles_per_conn=$((c > 0 ? b / c : 0))" \
            >>"$out/summary.txt"
    else
        echo "sluice-$pmd=not measured (no answer; see sluice-$pmd.log)" >>"$out/summary.txt"
    fi
    finish "$pid" "/var/run/dpdk/$prefix"
}

nginx_phase() {
    local dir pid
    dir=$(mktemp -d /tmp/sluice-x-nginx.XXXXXX)
    mkdir -p "$dir/tmp"
    "$src/scripts/netns.sh" up "$tag"
    ip -n "$ns_s" addr add "$addr/24" dev "$if_s"
    timeout $((seconds + 60)) taskset -c 1 ip netns exec "$ns_s" nginx -p "$dir" \
        -c "$src/bench/report/nginx.conf" -e stderr >"$out/nginx.log" 2>&1 &
    pid=$!
    if wait_http; then
        load_wrk nginx
        summary nginx
    else
        echo "nginx=not measured (see nginx.log)" >>"$out/summary.txt"
    fi
    finish "$pid" "$dir"
}

: >"$out/summary.txt"
export -f finish sluice_phase nginx_phase stat_all counter wait_http load_wrk summary
export src build seconds out tag ns_c ns_s if_s prefix addr SLUICE_XDP_ARGS
for pmd in af_packet af_xdp; do
    timeout $((seconds + 120)) flock "$lock" bash -c "sluice_phase $pmd"
done
timeout $((seconds + 120)) flock "$lock" bash -c nginx_phase
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
cat "$out/machine.txt" "$out/summary.txt"
echo "raw output: $out"
