#!/usr/bin/env bash
# Sets up and runs sluice-listen on the netns test bed: no physical NIC needed.
#
#   sudo scripts/run-listen.sh [--pmd af_packet|af_xdp] [sluice-listen app options]
#
# Installs the dependencies, builds, creates the namespaces sluice-client and sluice-server
# joined by a veth pair, and runs sluice-listen in sluice-server as 198.18.0.2 and 2001:2::2
# (the client is 198.18.0.1 and 2001:2::1). Ctrl-C stops it and removes everything it created.
#
# --pmd picks how DPDK drives the veth end: af_packet (net_af_packet, the default: works
# everywhere) or af_xdp (net_af_xdp: an XDP program hands frames to an AF_XDP socket, no
# AF_PACKET copy on sluice's core). If XDP cannot load here (no PMD, no xdp-tools, a kernel
# that refuses the program), it says why and runs on af_packet instead.
set -euo pipefail
cd "$(dirname "$0")/.."
pmd=af_packet
if [[ ${1:-} == --pmd ]]; then
    pmd=${2:-}
    shift 2 || { echo "run-listen.sh: --pmd needs af_packet or af_xdp" >&2; exit 2; }
fi
case "$pmd" in
af_packet | af_xdp) ;;
*) echo "run-listen.sh: --pmd $pmd: use af_packet or af_xdp" >&2; exit 2 ;;
esac
scripts/install-deps.sh
scripts/build.sh build >/dev/null

cleanup() { scripts/netns.sh down; }
trap cleanup EXIT
SLUICE_NETNS_IPV6=1 scripts/netns.sh up

pmd_args=()
if [[ $pmd == af_xdp ]]; then
    if scripts/netns.sh xdp-check; then
        pmd_args=(--device net_af_xdp0 --vdev-args iface=sluice-srv)
    else
        echo "run-listen.sh: AF_XDP is not usable here (above); falling back to af_packet" >&2
        pmd=af_packet
    fi
fi

cat <<MSG
sluice-listen is starting on $pmd as 198.18.0.2 and 2001:2::2 in namespace sluice-server. Try, in
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
    --config config/listen.toml "${pmd_args[@]}" "$@" || true
