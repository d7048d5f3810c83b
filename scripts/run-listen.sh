#!/usr/bin/env bash
# Sets up and runs sluice-listen on the netns test bed: no physical NIC needed.
#
#   sudo scripts/run-listen.sh [sluice-listen app options]
#
# Installs the dependencies, builds, creates the namespaces sluice-client and sluice-server
# joined by a veth pair, and runs sluice-listen in sluice-server on net_af_packet as
# 198.18.0.2 and 2001:2::2 (the client is 198.18.0.1 and 2001:2::1). Ctrl-C stops it and
# removes everything it created.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build >/dev/null

cleanup() { scripts/netns.sh down; }
trap cleanup EXIT
SLUICE_NETNS_IPV6=1 scripts/netns.sh up

cat <<MSG
sluice-listen is starting as 198.18.0.2 and 2001:2::2 in namespace sluice-server. Try, in
another terminal:
    ip netns exec sluice-client ping -c 3 198.18.0.2
    ip netns exec sluice-client curl http://198.18.0.2/        (HTTP on port 80)
    echo hi | ip netns exec sluice-client nc -q 1 198.18.0.2 7  (echo; 9 is discard)
    ip netns exec sluice-client ip neigh show 198.18.0.2
    ip netns exec sluice-client ping -6 -c 3 2001:2::2          (IPv6: the same services)
    ip netns exec sluice-client curl -g 'http://[2001:2::2]/'
Counters while it runs: dpdk-telemetry.py -f sluice, then /sluice/stats
Ctrl-C stops it and removes the namespaces.
MSG
# Not exec: the trap must run after sluice-listen exits. Ctrl-C reaches both; bash waits.
ip netns exec sluice-server build/app/sluice-listen --file-prefix=sluice -- \
    --config config/listen.toml "$@" || true
