#!/usr/bin/env bash
# The netns test bed: two network namespaces joined by a veth pair.
#
#   scripts/netns.sh up [TAG]     create it (replacing a stale one of the same TAG)
#   scripts/netns.sh down [TAG]   remove it (no error if it is not there)
#
#   namespace sluice-${TAG}client : veth sluice-${TAG}cli, 198.18.0.1/24, the kernel peer
#   namespace sluice-${TAG}server : veth sluice-${TAG}srv, no address: sluice drives it
#                                   through DPDK's net_af_packet as 198.18.0.2
#
#   scripts/netns.sh up-fleet [TAG]  two sluice hosts: the client namespace has two veths,
#                                   [cli] <-> [srv] sluice-${TAG}server and [clb] <-> [srb]
#                                   sluice-${TAG}serverb; no addresses anywhere (the client
#                                   writes its frames itself, test/e2e/fleet_peer.py)
#   scripts/netns.sh up-relay [TAG]  the same two namespaces, but with a third between them:
#                                   sluice-${TAG}client [cli] <-> [mc] sluice-${TAG}mid [ms]
#                                   <-> [srv] sluice-${TAG}server; test/e2e/impair runs in
#                                   the middle one and forwards (and impairs) frames
#
# TAG (e.g. "t-") keeps a test's bed apart from a demo's. Addresses are from 198.18.0.0/15
# (RFC 2544 benchmarking range) only. Needs root.
#
#   scripts/netns.sh xdp-check [TAG]  after `up`: exit 0 if an XDP program attaches natively to
#                                   the server end (what net_af_xdp needs; AF_XDP in copy mode
#                                   on veth), else print why and exit 1. Leaves nothing behind.
#
# SLUICE_NETNS_IPV6=1: the client also gets 2001:2::1/64 (RFC 5180 benchmarking prefix) on its
# veth, for sluice as 2001:2::2. Off by default: an IPv6 interface sends router solicitations
# and MLD reports, which other tests would see as traffic.
set -euo pipefail

cmd=${1:-}
tag=${2:-}
ns_c="sluice-${tag}client"
ns_s="sluice-${tag}server"
if_c="sluice-${tag}cli"
if_s="sluice-${tag}srv"
ns_m="sluice-${tag}mid"
if_mc="sluice-${tag}mc"
if_ms="sluice-${tag}ms"
ns_b="sluice-${tag}serverb"
if_cb="sluice-${tag}clb"
if_sb="sluice-${tag}srb"
client_addr=${SLUICE_CLIENT_ADDR:-198.18.0.1/24}
client_addr6=${SLUICE_CLIENT_ADDR6:-2001:2::1/64}
ipv6=${SLUICE_NETNS_IPV6:-0}

if [[ ${#if_c} -gt 15 ]]; then
    echo "netns.sh: tag '$tag' makes interface names longer than 15 characters" >&2
    exit 2
fi

down() {
    local ns i
    # A namespace whose last process is just exiting (the relay) can refuse deletion for a
    # moment: retry, bounded.
    for ns in "$ns_c" "$ns_s" "$ns_m" "$ns_b"; do
        for i in 1 2 3 4 5 6 7 8 9 10; do
            [[ -e /run/netns/$ns ]] || break
            ip netns del "$ns" 2>/dev/null || sleep 0.1
        done
    done
    ip link del "$if_c" 2>/dev/null || true
    ip link del "$if_mc" 2>/dev/null || true
    ip link del "$if_ms" 2>/dev/null || true
    ip link del "$if_cb" 2>/dev/null || true
}

# Offloads off on a veth end: veth hands checksum-less (CHECKSUM_PARTIAL) and TSO-sized frames
# across; af_packet would see them as they are. Make the kernel finish every frame instead.
no_offload() {  # NS IFACE
    if command -v ethtool >/dev/null; then
        ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || true
    else
        echo "netns.sh: ethtool missing; checksum offload stays on the veth" >&2
    fi
}

case "$cmd" in
up)
    down
    ip netns add "$ns_c"
    ip netns add "$ns_s"
    ip link add "$if_c" type veth peer name "$if_s"
    ip link set "$if_c" netns "$ns_c"
    ip link set "$if_s" netns "$ns_s"
    ip -n "$ns_c" link set lo up
    ip -n "$ns_s" link set lo up
    # The server end carries no address: the kernel there must not answer ARP, ICMP or TCP
    # for 198.18.0.2, sluice does. No IPv6 either, so no router solicitations reach sluice.
    ip netns exec "$ns_s" sysctl -qw "net.ipv6.conf.${if_s}.disable_ipv6=1"
    if [[ $ipv6 == 1 ]]; then
        # No duplicate address detection: the link-local address is usable at once too.
        ip netns exec "$ns_c" sysctl -qw "net.ipv6.conf.${if_c}.accept_dad=0"
        ip netns exec "$ns_c" sysctl -qw "net.ipv6.conf.${if_c}.disable_ipv6=0"
    else
        ip netns exec "$ns_c" sysctl -qw "net.ipv6.conf.${if_c}.disable_ipv6=1"
    fi
    # veth hands checksum-less (CHECKSUM_PARTIAL) and TSO-sized frames across; af_packet would
    # see them as they are. Make the kernel finish every frame in software instead.
    if command -v ethtool >/dev/null; then
        ip netns exec "$ns_c" ethtool -K "$if_c" tx off tso off gso off gro off >/dev/null 2>&1 || true
        ip netns exec "$ns_s" ethtool -K "$if_s" tx off tso off gso off gro off >/dev/null 2>&1 || true
    else
        echo "netns.sh: ethtool missing; checksum offload stays on the veth" >&2
    fi
    ip -n "$ns_c" addr add "$client_addr" dev "$if_c"
    # nodad: the address is usable at once (sluice does not probe for duplicates).
    [[ $ipv6 == 1 ]] && ip -n "$ns_c" -6 addr add "$client_addr6" dev "$if_c" nodad
    ip -n "$ns_c" link set "$if_c" up
    ip -n "$ns_s" link set "$if_s" up
    ;;
up-relay)
    down
    ip netns add "$ns_c"
    ip netns add "$ns_s"
    ip netns add "$ns_m"
    ip link add "$if_c" type veth peer name "$if_mc"
    ip link add "$if_ms" type veth peer name "$if_s"
    ip link set "$if_c" netns "$ns_c"
    ip link set "$if_mc" netns "$ns_m"
    ip link set "$if_ms" netns "$ns_m"
    ip link set "$if_s" netns "$ns_s"
    for ns in "$ns_c" "$ns_s" "$ns_m"; do ip -n "$ns" link set lo up; done
    # No addresses and no IPv6 in the middle: its kernel must not answer or forward anything,
    # the relay alone moves frames.
    ip netns exec "$ns_c" sysctl -qw "net.ipv6.conf.${if_c}.disable_ipv6=1"
    ip netns exec "$ns_s" sysctl -qw "net.ipv6.conf.${if_s}.disable_ipv6=1"
    ip netns exec "$ns_m" sysctl -qw "net.ipv6.conf.${if_mc}.disable_ipv6=1"
    ip netns exec "$ns_m" sysctl -qw "net.ipv6.conf.${if_ms}.disable_ipv6=1"
    no_offload "$ns_c" "$if_c"
    no_offload "$ns_m" "$if_mc"
    no_offload "$ns_m" "$if_ms"
    no_offload "$ns_s" "$if_s"
    ip -n "$ns_c" addr add "$client_addr" dev "$if_c"
    ip -n "$ns_c" link set "$if_c" up
    ip -n "$ns_m" link set "$if_mc" up
    ip -n "$ns_m" link set "$if_ms" up
    ip -n "$ns_s" link set "$if_s" up
    ;;
up-fleet)
    down
    ip netns add "$ns_c"
    ip netns add "$ns_s"
    ip netns add "$ns_b"
    ip link add "$if_c" type veth peer name "$if_s"
    ip link add "$if_cb" type veth peer name "$if_sb"
    ip link set "$if_c" netns "$ns_c"
    ip link set "$if_cb" netns "$ns_c"
    ip link set "$if_s" netns "$ns_s"
    ip link set "$if_sb" netns "$ns_b"
    for ns in "$ns_c" "$ns_s" "$ns_b"; do ip -n "$ns" link set lo up; done
    # No addresses and no IPv6: no kernel answers or solicits anything on these links.
    for pair in "$ns_c $if_c" "$ns_c $if_cb" "$ns_s $if_s" "$ns_b $if_sb"; do
        set -- $pair
        ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
        no_offload "$1" "$2"
        ip -n "$1" link set "$2" up
    done
    ;;
down)
    down
    ;;
xdp-check)
    # The DPDK PMD (Debian: librte-net-af-xdp23), then a pass-all program from xdp-tools
    # attached in native mode and removed again.
    if [[ $(ldconfig -p | grep -c librte_net_af_xdp) == 0 ]]; then  # not grep -q: pipefail
        echo "netns.sh: DPDK's net_af_xdp PMD is not installed (librte-net-af-xdp23)" >&2
        exit 1
    fi
    pass_prog=$(ls /usr/lib/*/bpf/xdpfilt_alw_all.o /usr/lib/bpf/xdpfilt_alw_all.o 2>/dev/null | head -1 || true)
    if ! command -v xdp-loader >/dev/null || [[ -z $pass_prog ]]; then
        echo "netns.sh: xdp-tools missing: cannot check that XDP loads on $if_s" >&2
        exit 1
    fi
    if ! out=$(ip netns exec "$ns_s" xdp-loader load -m native "$if_s" "$pass_prog" 2>&1); then
        echo "netns.sh: an XDP program does not attach to $if_s: $(tail -1 <<<"$out")" >&2
        exit 1
    fi
    ip netns exec "$ns_s" xdp-loader unload "$if_s" --all >/dev/null 2>&1 || true
    ;;
*)
    echo "usage: $0 up|up-relay|up-fleet|down|xdp-check [TAG]" >&2
    exit 2
    ;;
esac
