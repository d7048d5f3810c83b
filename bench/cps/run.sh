#!/usr/bin/env bash
# Connections per second against one kernel HTTP server (nginx, one worker, in the client
# namespace at 198.18.0.1:80), from ab (the kernel's TCP client) and from sluice-cps (DPDK on
# the other veth end), in the same run on the same veth. Needs root and the e2e lock (a DPDK
# worker spins):
#
#   sudo flock /tmp/sluice-e2e.lock bench/cps/run.sh [BUILD_DIR] [SECONDS] [CONCURRENCY]
#
# ab runs in the server namespace from 198.18.0.4, an address the kernel takes on the DPDK
# end (sluice-cps stays 198.18.0.2; each ignores the other's frames), with HTTP/1.0 and no
# keep-alive (a new connection per request, server closes first). sluice-cps is run twice:
# client-first close (HTTP/1.1, our FIN first) and server-first (Connection: close, as ab).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
secs=${2:-10}
conc=${3:-32}
tag=b-
ns_c=sluice-${tag}client
ns_s=sluice-${tag}server
dir=$(mktemp -d /tmp/sluice-b-nginx-XXXXXX)
cleanup() {
    [[ -f $dir/nginx.pid ]] && ip netns exec "$ns_c" kill -QUIT "$(cat "$dir/nginx.pid")" 2>/dev/null || true
    sleep 0.3
    pkill -f "file-prefix=sluice-b" 2>/dev/null || true
    pkill -KILL -f "$dir" 2>/dev/null || true
    "$root/scripts/netns.sh" down "$tag" >/dev/null 2>&1
    rm -rf "$dir" /var/run/dpdk/sluice-b
}
trap cleanup EXIT
"$root/scripts/netns.sh" up "$tag" >/dev/null
cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server { listen 198.18.0.1:80 backlog=4096; location / { return 200 "hello from nginx\n"; } }
}
CONF
ip netns exec "$ns_c" nginx -c "$dir/nginx.conf" -p "$dir"
# Linux as the client needs its port range and TIME-WAIT reuse like any load generator.
ip netns exec "$ns_s" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
ip -n "$ns_s" addr add 198.18.0.4/24 dev sluice-${tag}srv
sleep 0.5

echo "== ab (kernel client), ${secs} s, concurrency $conc"
ip netns exec "$ns_s" ab -q -t "$secs" -n 10000000 -c "$conc" http://198.18.0.1/ 2>&1 |
    grep -E "Complete requests|Failed requests|Requests per second|  50%|  99%"
ip -n "$ns_s" addr del 198.18.0.4/24 dev sluice-${tag}srv
sleep 1

for close in client server; do
    echo "== sluice-cps, close $close, ${secs} s, concurrency $conc"
    ip netns exec "$ns_s" "$build/app/sluice-cps" --file-prefix=sluice-b -- \
        --config "$root/config/cps.toml" --iface sluice-${tag}srv --target 198.18.0.1:80 \
        --duration "$secs" --concurrency "$conc" --close "$close" --progress off \
        --source 198.18.0.10-198.18.0.40 2>&1 | grep -v "^EAL\|^TELEMETRY"
    sleep 1
done
