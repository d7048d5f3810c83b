#!/usr/bin/env bash
# Installs what sluice needs to build, run and test, on Debian 12 (as root).
set -euo pipefail
if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps.sh: run as root (apt-get)" >&2
    exit 1
fi
pkgs=(
    build-essential g++ meson ninja-build pkg-config
    dpdk-dev libdpdk-dev                      # DPDK 22.11 and its PMDs (net_af_packet, ...)
    librte-net-af-xdp23 xdp-tools             # net_af_xdp: run-listen.sh --pmd af_xdp
    libgtest-dev libgmock-dev libbenchmark-dev
    libsodium-dev libtomlplusplus-dev libcli11-dev libssl-dev   # libssl-dev: SHA-256 in e2e
    nlohmann-json3-dev                        # JSON in sluice-stat, sluice-cps --json, lib/ctl
    clang libclang-rt-14-dev                  # sanitizers and libFuzzer
    iproute2 iputils-ping ethtool curl netcat-openbsd python3 python3-scapy
    procps                                    # pgrep, pkill (e2e tests)
    wrk apache2-utils nginx python3-matplotlib  # bench/report: clients, the kernel's server, plots
)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
