#!/usr/bin/env bash
# sluice beside the Linux kernel, every comparison of issue 9 in one run, and a report a
# person can read: results/<UTC timestamp>/report.md with its tables and PNG plots, the
# machine and settings recorded beside the figures. Needs root (namespaces, DPDK, raw
# sockets, /proc/slabinfo).
#
#   bench/report/run.sh [--quick] [--build DIR] [--out DIR] [--skip PHASE,...] [--strict]
#
# --strict: exit 1 if any phase failed (the report is written all the same).
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
quick=0 build=$src/build out= skip=, strict=0
while [[ $# -gt 0 ]]; do
    case $1 in
    --quick) quick=1 ;;
    --build) build=$2; shift ;;
    --out) out=$2; shift ;;
    --skip) skip=",$2,"; shift ;;
    --strict) strict=1 ;;
    *) echo "usage: $0 [--quick] [--build DIR] [--out DIR] [--skip PHASE,...] [--strict]" >&2
       exit 2 ;;
    esac
    shift
done
if [[ $(id -u) -ne 0 ]]; then
    echo "run.sh: needs root (network namespaces, DPDK, raw sockets, /proc/slabinfo)" >&2
    [[ $strict == 1 ]] && exit 77  # meson test: skipped
    exit 2
fi
build=$(cd "$(dirname "$build")" && pwd)/$(basename "$build")
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
[[ -f $build/build.ninja ]] || meson setup "$build" >/dev/null
ninja -C "$build" app/sluice-listen test/e2e/test_e2e_flood test/e2e/syn_flood \
    test/e2e/conn_probe bench/report/mem_sluice \
    $(cd "$build" && ninja -t targets all 2>/dev/null | grep -o '^bench/[a-z_]*/bench_[a-z_]*' | sort -u) \
    >"$out/build.log"

# --- the machine and the settings, beside the figures -------------------------------------
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
    echo "buildtype=$(meson introspect --buildoptions "$build" 2>/dev/null |
        /usr/bin/python3 -c 'import json,sys; print({o["name"]: o["value"] for o in json.load(sys.stdin)}["buildtype"])' 2>/dev/null || echo unknown)"
    echo "commit=$(git -C "$src" rev-parse --short HEAD)$(git -C "$src" diff --quiet HEAD || echo -dirty)"
    echo "pmd_wire=net_af_packet (veth, qpairs=1, framecnt=4096; checksum offload, TSO, GSO, GRO off)"
    echo "pmd_memory=net_ring (in-memory, no NIC)"
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
    # timeout runs programs, not functions: the phase functions go to a child bash.
    timeout -k 10 "$limit" bash -c "$(declare -f micro syn wire flood memory); $*" \
        >"$out/$name.log" 2>&1 || rc=$?
    echo "$name $([[ $rc == 0 ]] && echo ok || echo "failed($rc)") $(( $(date +%s) - t0 ))" \
        >>"$out/phases.txt"
    [[ $rc == 0 ]] || { echo "   $name failed ($rc), see $out/$name.log"; tail -5 "$out/$name.log"; }
    return 0
}

micro() {
    local b name
    mkdir -p "$out/micro"
    for b in "$build"/bench/*/bench_*; do
        [[ -x $b && -f $b ]] || continue
        name=$(basename "$b")
        echo "-- $name"
        # On core 1, away from the shell and the clients; DPDK programs init an EAL.
        (cd "$out/micro" && flock -w 600 "$lock" timeout 300 taskset -c 1 "$b" \
            --benchmark_min_time="$min_time" --benchmark_out="$name.json" \
            --benchmark_out_format=json >"$name.txt" 2>&1) || echo "$name failed: $?"
    done
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

phase micro 1500 micro
phase syn 300 syn
phase wire 900 wire
phase flood 900 flood
phase memory 900 memory
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
echo "seconds=$(( $(date +%s) - start ))" >>"$out/machine.txt"

echo "== report"
/usr/bin/python3 "$here/render.py" "$out"
echo "report: $out/report.md ($(( $(date +%s) - start )) s)"
if [[ $strict == 1 ]] && grep -q failed "$out/phases.txt"; then
    echo "run.sh: some phases failed: $(grep failed "$out/phases.txt" | tr '\n' ' ')" >&2
    exit 1
fi
