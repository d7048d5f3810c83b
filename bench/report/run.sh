#!/usr/bin/env bash
# sluice beside the Linux kernel, every comparison of issue 9 in one run, and a report a
# person can read: results/<UTC timestamp>/report.md with its tables and PNG plots, the
# machine and settings recorded beside the figures. Needs root (namespaces, DPDK, raw
# sockets, /proc/slabinfo).
#
#   bench/report/run.sh [--quick] [--build DIR] [--out DIR] [--skip PHASE,...] [--strict]
#                       [--publish]
#
# The build is a release build (default DIR: build-rel, configured with
# -Dbuildtype=release; a DIR of another build type is refused). Every benchmark that fails
# (a program that exits non-zero or reports an error, a client that fails) fails its phase,
# and a failed phase fails the run: exit 1, with the report written all the same. --strict
# is accepted for old callers (it is what the run always does now).
# --publish: also copies the run to bench/report/example/ (the committed example that
# README.md and docs/ cite, through bench/report/figures.py); refused on a tree with
# uncommitted changes, so the report names the commit it measured.
#
# Phases (each bounded by `timeout`; a phase that fails is reported as such, the others go on):
#   micro   every Google Benchmark program in BUILD/bench (bench_conn: stack cost per
#           connection, sluice vs kernel loopback; bench_syn: cycles per SYN; ...), JSON out
#   syn     kernel_syn.py: the kernel's cycles per SYN with syncookies, differential on veth
#   wire    wire.sh: wrk and ab against sluice-listen (net_af_packet) and against nginx
#   flood   test/e2e/flood_test.cpp: legitimate clients under a SYN flood, sluice and the
#           kernel with syncookies on and off
#   memory  mem_sluice (what a worker preallocates) and kernel_mem.py (slab growth) at
#           100,000 connections (--quick: 10,000)
# then render.py writes report.md and the plots.
#
# Time: about 5 minutes (--quick: about 3), plus the build. Phases that start DPDK or
# measure CPU take the machine's e2e lock (flock /tmp/sluice-e2e.lock) one at a time, so the
# run also waits for other e2e runs. Addresses only in 198.18.0.0/15, namespaces sluice-r-*
# and sluice-t-* (the flood test), all removed on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
quick=0 build=$src/build-rel out= skip=, publish=0
usage="usage: $0 [--quick] [--build DIR] [--out DIR] [--skip PHASE,...] [--strict] [--publish]"
while [[ $# -gt 0 ]]; do
    case $1 in
    --quick) quick=1 ;;
    --build) build=$2; shift ;;
    --out) out=$2; shift ;;
    --skip) skip=",$2,"; shift ;;
    --strict) ;;  # a failed phase always fails the run
    --publish) publish=1 ;;
    *) echo "$usage" >&2; exit 2 ;;
    esac
    shift
done
# A published report names the commit it measured: nothing uncommitted may be in it.
if [[ $publish == 1 ]]; then
    if [[ -n $(git -C "$src" status --porcelain --untracked-files=no) ]]; then
        echo "run.sh: --publish refused: the tree has uncommitted changes" \
            "(git status); commit them first" >&2
        exit 2
    fi
    [[ $skip == , ]] || { echo "run.sh: --publish runs every phase (no --skip)" >&2; exit 2; }
fi
build=$(mkdir -p "$build" && cd "$build" && pwd)
buildtype_of() {
    meson introspect --buildoptions "$1" | /usr/bin/python3 -c 'import json, sys
print({o["name"]: o["value"] for o in json.load(sys.stdin)}["buildtype"])'
}
check_release() {
    local t
    t=$(buildtype_of "$build")
    if [[ $t != release ]]; then
        echo "run.sh: $build is a $t build; the report measures a release build" \
            "(meson setup DIR -Dbuildtype=release)" >&2
        exit 2
    fi
}
[[ ! -f $build/build.ninja ]] || check_release
if [[ $(id -u) -ne 0 ]]; then
    . "$src/scripts/skip.sh"
    skip_or_fail "run.sh: needs root (network namespaces, DPDK, raw sockets, /proc/slabinfo)"
fi
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=${out:-$src/results/$stamp}
mkdir -p "$out"
out=$(cd "$out" && pwd)
lock=/tmp/sluice-e2e.lock
start=$(date +%s)

if [[ $quick == 1 ]]; then
    min_time=0.05 syn_s=2 wire_s=3 ab_n=2000 mem_n=10000 flood_s=10
else
    min_time=0.3 syn_s=5 wire_s=10 ab_n=10000 mem_n=100000 flood_s=10
fi
conc=32
export here src build out lock min_time syn_s wire_s ab_n conc flood_s mem_n

echo "== dependencies and build"
"$src/scripts/install-deps.sh"
[[ -f $build/build.ninja ]] || meson setup "$build" "$src" -Dbuildtype=release >/dev/null
check_release
buildtype=release
# Every Google Benchmark program in bench/ (README.md: the report runs them all).
benches=$(cd "$build" && ninja -t targets all 2>/dev/null |
    grep -o '^bench/[a-z_]*/bench_[a-z_]*' | sort -u)
echo "$benches" >"$out/benchmarks.txt"
ninja -C "$build" -j2 app/sluice-listen app/sluice-stat app/sluice-cps test/e2e/test_e2e_flood \
    test/e2e/syn_flood test/e2e/conn_probe bench/report/mem_sluice $benches >"$out/build.log"

# --- the machine and the settings, beside the figures -------------------------------------
# The PMDs and their settings are read from the configs the phases use, not written here.
toml() {  # FILE KEY.PATH: a value of a TOML file
    /usr/bin/python3 -c 'import sys, tomllib
v = tomllib.load(open(sys.argv[1], "rb"))
for k in sys.argv[2].split("."):
    v = v.get(k, "") if isinstance(v, dict) else ""
print(v)' "$1" "$2"
}
pmd_of() {  # CONFIG: "device vdev_args, lcores L, buffers S/R" as the config gives them
    echo "$(toml "$1" port.device) $(toml "$1" port.vdev_args), lcores $(toml "$1" cpu.lcores)," \
        "send/recv buffers $(toml "$1" tcp.send_buffer)/$(toml "$1" tcp.recv_buffer)" \
        "(${1#"$src"/})"
}
{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "mode=$([[ $quick == 1 ]] && echo quick || echo full)"
    echo "cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "cores=$(nproc)"
    echo "memory_gib=$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)"
    echo "kernel=$(uname -r)"
    echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "dpdk=$(pkg-config --modversion libdpdk 2>/dev/null || echo unknown)"
    echo "compiler=$(c++ --version | head -1)"
    echo "buildtype=$buildtype"
    echo "commit=$(git -C "$src" rev-parse --short HEAD)$(git -C "$src" diff --quiet HEAD || echo -dirty)"
    echo "pmd_wire=$(pmd_of "$here/listen-report.toml")"
    echo "pmd_flood=$(pmd_of "$src/test/e2e/flood-test.toml")"
    # The in-memory benchmarks' port: whichever sources create one (the lossy test bed is
    # bench_tcp_bulk's).
    echo "pmd_memory=net_ring (rte_eth_from_rings) in $(cd "$src" &&
        grep -rl --include='*.cpp' --include='*.hpp' rte_eth_from_rings bench test/lossy |
        sort | tr '\n' ' ')"
    echo "wrk=$(wrk -v 2>&1 | head -1 | awk '{ print $2 }')"
    echo "ab=$(ab -V | head -1 | awk '{ print $5 }')"
    echo "nginx=$(nginx -v 2>&1 | sed 's/.*nginx\///')"
    echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "concurrency=$conc"
    echo "wire_seconds=$wire_s"
    echo "ab_requests=$ab_n"
    echo "flood_seconds=$flood_s"
    echo "memory_connections=$mem_n"
    echo "syn_seconds=$syn_s"
} >"$out/machine.txt"
: >"$out/phases.txt"

# phase NAME TIMEOUT_S CMD...: runs it (bounded), records status and seconds.
phase() {
    local name=$1 limit=$2 t0 rc=0
    shift 2
    if [[ $skip == *",$name,"* ]]; then
        echo "$name skipped 0" >>"$out/phases.txt"
        return 0
    fi
    echo "== $name"
    t0=$(date +%s)
    # Other work shares the machine: its load beside each phase's figures.
    echo "loadavg_$name=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
    # timeout runs programs, not functions: the phase functions go to a child bash, where
    # any failing command fails the phase.
    timeout -k 10 "$limit" bash -c "set -eo pipefail; $(declare -f micro syn wire flood memory); $*" \
        >"$out/$name.log" 2>&1 || rc=$?
    echo "$name $([[ $rc == 0 ]] && echo ok || echo "failed($rc)") $(( $(date +%s) - t0 ))" \
        >>"$out/phases.txt"
    [[ $rc == 0 ]] || { echo "   $name failed ($rc), see $out/$name.log"; tail -5 "$out/$name.log"; }
    return 0
}

micro() {
    local b name rc failed=
    mkdir -p "$out/micro"
    for b in $(cat "$out/benchmarks.txt"); do
        name=$(basename "$b")
        echo "-- $name"
        rc=0
        # On core 1, away from the shell and the clients; DPDK programs init an EAL.
        (cd "$out/micro" && flock -w 600 "$lock" timeout 300 taskset -c 1 "$build/$b" \
            --benchmark_min_time="$min_time" --benchmark_out="$name.json" \
            --benchmark_out_format=json >"$name.txt" 2>&1) || rc=$?
        # A program that ran but reported a benchmark's error (state.SkipWithError) or
        # wrote no benchmarks failed too.
        if [[ $rc == 0 ]] && ! /usr/bin/python3 -c 'import json, sys
b = json.load(open(sys.argv[1])).get("benchmarks", [])
bad = [x["name"] for x in b if x.get("error_occurred")]
sys.exit("no benchmarks" if not b else "errors: " + " ".join(bad) if bad else 0)' \
            "$out/micro/$name.json"; then
            rc=1
        fi
        if [[ $rc != 0 ]]; then
            echo "$name failed ($rc):"; tail -5 "$out/micro/$name.txt"
            failed+=" $name"
        fi
    done
    [[ -z $failed ]] || { echo "micro: failed:$failed"; return 1; }
}

syn() {
    local ghz
    ghz=$(awk '/^TSC:/ { print $2 }' "$out/micro/bench_syn.txt" 2>/dev/null || true)
    flock -w 600 "$lock" /usr/bin/python3 "$here/kernel_syn.py" --build "$build" \
        --seconds "$syn_s" --tsc-ghz "${ghz:-0}" --out "$out/kernel_syn.json"
}

wire() {
    mkdir -p "$out/wire"
    flock -w 600 "$lock" "$here/wire.sh" "$build" "$out/wire" "$wire_s" "$ab_n" "$conc"
}

flood() {
    SLUICE_FLOOD_SECONDS=$flood_s SLUICE_FLOOD_KERNEL_SYNCOOKIES=1,0 \
        flock -w 600 "$lock" "$src/scripts/e2e-run.sh" "$build/test/e2e/test_e2e_flood"
}

memory() {
    flock -w 600 "$lock" "$build/bench/report/mem_sluice" "$mem_n" 32768 32768 \
        >"$out/mem_sluice.json"
    flock -w 600 "$lock" /usr/bin/python3 "$here/kernel_mem.py" --connections "$mem_n" \
        --out "$out/kernel_mem.json"
}

phase micro 1800 micro
phase syn 300 syn
phase wire 900 wire
phase flood 900 flood
phase memory 900 memory
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
# What sluice-listen said it ran on in the wire phase (driver, workers, RSS, checksums), and
# the veth's offloads as ethtool read them there.
echo "wire_sluice_started=$(grep -o 'ready on .*' "$out/wire/sluice-listen.log" 2>/dev/null |
    head -1)" >>"$out/machine.txt"
echo "wire_veth_offloads=$(tr '\n' ' ' <"$out/wire/veth-offloads.txt" 2>/dev/null)" \
    >>"$out/machine.txt"
echo "seconds=$(( $(date +%s) - start ))" >>"$out/machine.txt"

echo "== report"
/usr/bin/python3 "$here/render.py" "$out"
echo "report: $out/report.md ($(( $(date +%s) - start )) s)"
if grep -q failed "$out/phases.txt"; then
    echo "run.sh: some phases failed: $(grep failed "$out/phases.txt" | tr '\n' ' ')" >&2
    [[ $publish == 1 ]] && echo "run.sh: not published" >&2
    exit 1
fi
if [[ $publish == 1 ]]; then
    ex=$here/example
    rm -rf "$ex"
    mkdir -p "$ex"
    # The build log is the build's, not the run's; everything else is the run.
    (cd "$out" && tar --exclude=build.log -cf - .) | (cd "$ex" && tar -xf -)
    /usr/bin/python3 "$here/figures.py"
    echo "published to $ex; README.md and docs/ rewritten from it (commit both)"
fi
