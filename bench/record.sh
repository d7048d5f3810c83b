#!/usr/bin/env bash
# Runs a benchmark command and writes its output to OUT with what it ran on at the top (the
# date, the commit, the build type of BUILD_DIR, the CPU, the load before and after), so
# that a committed example output says where its figures came from. Fails, writing
# nothing, when the command fails. README.md and docs/ show such files through
# bench/report/figures.py's include blocks.
#
#   bench/record.sh OUT BUILD_DIR CMD...
#   e.g. sudo flock /tmp/sluice-e2e.lock bench/record.sh bench/cps/example/run.txt build-rel \
#            bench/cps/run.sh build-rel 10 32
set -euo pipefail
out=$1 build=$2
shift 2
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
load0=$(cut -d' ' -f1-3 /proc/loadavg)
"$@" >"$tmp" 2>&1 || { rc=$?; cat "$tmp" >&2; echo "record.sh: $* failed ($rc)" >&2; exit 1; }
buildtype=$(meson introspect --buildoptions "$build" | /usr/bin/python3 -c 'import json, sys
print({o["name"]: o["value"] for o in json.load(sys.stdin)}["buildtype"])')
mkdir -p "$(dirname "$out")"
{
    echo "# $*"
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$src" rev-parse --short HEAD)$(
        git -C "$src" diff --quiet HEAD || echo -dirty), $buildtype build,"\
        "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores,"\
        "load average $load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after"
    cat "$tmp"
} >"$out"
echo "record.sh: wrote $out"
