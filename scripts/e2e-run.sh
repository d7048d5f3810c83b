#!/usr/bin/env bash
# Runs one end-to-end test binary and removes what the test bed made afterwards (the sluice
# process, the namespaces, DPDK's runtime directory), even if the binary crashed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cleanup() {
    pkill -f "file-prefix=sluice-t" 2>/dev/null || true
    pkill -f "sluice-t-nginx" 2>/dev/null || true    # cps_test.cpp's kernel HTTP server
    "$here/netns.sh" down t- >/dev/null 2>&1
    rm -rf /var/run/dpdk/sluice-t /var/run/dpdk/sluice-t-b   # fleet_test.cpp's second host
}
# shellcheck source=skip.sh
. "$here/skip.sh"
if [[ $(id -u) -ne 0 ]]; then
    skip_or_fail "e2e tests need root (network namespaces, DPDK): $*"
fi
trap cleanup EXIT
"$@"
