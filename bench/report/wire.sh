#!/usr/bin/env bash
# Over the wire (issue 9 item 4): the same kernel clients, wrk (`Connection: close`: a new
# connection per request) and ab (HTTP/1.0: the same), against sluice-listen on
# net_af_packet and then against nginx (the kernel's TCP) on the same veth end, same address.
#
#   wire.sh BUILD_DIR OUT_DIR SECONDS AB_REQUESTS CONCURRENCY      (root, under the e2e lock)
#
# Namespaces sluice-r-client / sluice-r-server (scripts/netns.sh, tag r-), DPDK file prefix
# sluice-r; everything is removed on exit, also on failure. The clients run on core 0, the
# servers on core 1 (sluice's worker lcore; nginx's single worker by taskset). Writes
# wrk-{sluice,nginx}.txt, ab-{sluice,nginx}.txt and costs.txt (key=value: sluice's
# BusyCycles and process CPU per connection, nginx's), cps-nginx.json and veth-offloads.txt
# into OUT_DIR. A client that fails fails the script (after both servers ran).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$1 out=$2 seconds=$3 ab_n=$4 conc=$5
tag=r-
ns_c=sluice-${tag}client
ns_s=sluice-${tag}server
if_s=sluice-${tag}srv
prefix=sluice-r
addr=198.18.0.2
ngx_dir=$(mktemp -d /tmp/sluice-r-nginx.XXXXXX)
listen_pid= nginx_pid=

cleanup() {
    [[ -n $listen_pid ]] && { kill "$listen_pid" 2>/dev/null || true; wait "$listen_pid" 2>/dev/null || true; }
    [[ -n $nginx_pid ]] && { kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; }
    "$src/scripts/netns.sh" down "$tag" >/dev/null 2>&1 || true
    rm -rf "/var/run/dpdk/$prefix" "$ngx_dir"
}
trap cleanup EXIT

counters() { "$build/app/sluice-stat" --prefix "$prefix" -a; }  # "Name value  # what" per line
counter() { counters | awk -v k="$1" '$1 == k { print $2 }'; }
# utime + stime of a process and its reaped children, in clock ticks.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
failed=  # clients that failed: the script goes on to the other server, then fails
clients() {  # NAME: wrk, then ab, against 198.18.0.2
    timeout $((seconds + 30)) taskset -c 0 ip netns exec "$ns_c" wrk -t1 -c"$conc" \
        -d"${seconds}s" --latency -H 'Connection: close' "http://$addr/" >"$out/wrk-$1.txt" 2>&1 ||
        { echo "wire.sh: wrk against $1 failed ($?), see wrk-$1.txt" >&2; failed+=" wrk-$1"; }
    timeout 180 taskset -c 0 ip netns exec "$ns_c" ab -r -s 5 -n "$ab_n" -c "$conc" \
        "http://$addr/" >"$out/ab-$1.txt" 2>&1 ||
        { echo "wire.sh: ab against $1 failed ($?), see ab-$1.txt" >&2; failed+=" ab-$1"; }
}
wait_http() {  # bounded: 15 s
    for _ in $(seq 75); do
        ip netns exec "$ns_c" curl -s -m 1 -o /dev/null "http://$addr/" && return 0
        sleep 0.2
    done
    return 1
}

"$src/scripts/netns.sh" up "$tag"
hz=$(getconf CLK_TCK)
# The offloads the veth really has (scripts/netns.sh turns them off for af_packet), for
# machine.txt.
ip netns exec "$ns_s" ethtool -k "$if_s" 2>&1 | grep -E '^(tx-checksumming|tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload):' \
    >"$out/veth-offloads.txt" || echo "ethtool -k $if_s failed" >"$out/veth-offloads.txt"

# --- sluice-listen serves 198.18.0.2 -------------------------------------------------------
ip netns exec "$ns_s" "$build/app/sluice-listen" --file-prefix=$prefix -- \
    --config "$here/listen-report.toml" --iface "$if_s" >"$out/sluice-listen.log" 2>&1 &
listen_pid=$!
for _ in $(seq 150); do
    grep -q ": ready on " "$out/sluice-listen.log" && break
    kill -0 "$listen_pid" 2>/dev/null || { cat "$out/sluice-listen.log" >&2; exit 1; }
    sleep 0.2
done
wait_http || { echo "wire.sh: sluice-listen does not answer" >&2; exit 1; }
opens0=$(counter PassiveOpens) busy0=$(counter BusyCycles) idle0=$(counter IdleCycles)
cpu0=$(ticks "$listen_pid")
clients sluice
opens1=$(counter PassiveOpens) busy1=$(counter BusyCycles) idle1=$(counter IdleCycles)
cpu1=$(ticks "$listen_pid")
{
    echo "sluice_connections=$((opens1 - opens0))"
    echo "sluice_busy_cycles=$((busy1 - busy0))"
    echo "sluice_idle_cycles=$((idle1 - idle0))"
    echo "sluice_cpu_seconds=$(awk -v t=$((cpu1 - cpu0)) -v hz="$hz" 'BEGIN { print t / hz }')"
    for k in RetransSegs TcpOutRsts ListenDrops TcpConnPoolExhausted; do
        echo "sluice_$k=$(counter $k)"
    done
} >"$out/costs.txt"
kill "$listen_pid"
wait "$listen_pid" 2>/dev/null || true
listen_pid=

# --- nginx (the kernel's TCP) serves 198.18.0.2 on the same veth end ------------------------
ip -n "$ns_s" addr add "$addr/24" dev "$if_s"
mkdir -p "$ngx_dir/tmp"
timeout $((2 * seconds + 240)) taskset -c 1 ip netns exec "$ns_s" nginx -p "$ngx_dir" \
    -c "$here/nginx.conf" -e stderr >"$out/nginx.log" 2>&1 &
nginx_pid=$!
wait_http || { echo "wire.sh: nginx does not answer" >&2; cat "$out/nginx.log" >&2; exit 1; }
master=$(cat "$ngx_dir/nginx.pid")
worker=$(pgrep -P "$master" | head -1)
opens0=$(ip netns exec "$ns_s" nstat -az TcpPassiveOpens | awk '$1 == "TcpPassiveOpens" { print $2 }')
w0=$(ticks "$worker")
clients nginx
w1=$(ticks "$worker")
opens1=$(ip netns exec "$ns_s" nstat -az TcpPassiveOpens | awk '$1 == "TcpPassiveOpens" { print $2 }')
{
    echo "nginx_connections=$((opens1 - opens0))"
    echo "nginx_worker_cpu_seconds=$(awk -v t=$((w1 - w0)) -v hz="$hz" 'BEGIN { print t / hz }')"
    echo "nginx_version=$(nginx -v 2>&1 | sed 's/.*nginx\///')"
} >>"$out/costs.txt"

# --- sluice-cps against the same nginx ------------------------------------------------------
# The DPDK client beside wrk: sluice-cps takes the client's veth end through net_af_packet with
# an address the client kernel does not own (198.18.0.3: that kernel drops the SYN-ACKs as not
# its own instead of resetting them), on core 0, server-first close as wrk's `Connection:
# close`, and writes its JSON report to cps-nginx.json.
timeout $((seconds + 60)) ip netns exec "$ns_c" "$build/app/sluice-cps" \
    --file-prefix=sluice-r-cps -- --config "$src/config/cps.toml" --iface "sluice-${tag}cli" \
    --lcores 0 --address 198.18.0.3/24 --gateway none --target "$addr:80" \
    --concurrency "$conc" --duration "$seconds" --close server --progress off --json \
    >"$out/cps-nginx.json" 2>"$out/cps-nginx.log" ||
    { echo "wire.sh: sluice-cps failed ($?), see cps-nginx.log" >&2; failed+=" sluice-cps"; }
rm -rf /var/run/dpdk/sluice-r-cps

kill "$nginx_pid" 2>/dev/null || true
wait "$nginx_pid" 2>/dev/null || true
nginx_pid=
if [[ -n $failed ]]; then
    echo "wire.sh: failed:$failed" >&2
    exit 1
fi
