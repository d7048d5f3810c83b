#!/usr/bin/env bash
# sluice against sluice over net_memif: no kernel on the wire (issue 22 item 1).
#
#   sudo bench/memif/run.sh [--seconds S] [--close "client server rst"] [--sources N]
#                           [--concurrency C] [--flood-seconds F] [--out DIR]
#                           [--listen-lcores 1] [--cps-lcores 0]
#
# sluice-listen (bench/report/listen-report.toml: HTTP on port 80, 198.18.0.2, lcore 1, EAL
# prefix sluice-m-listen) is the memif server; sluice-cps (config/cps.toml, 198.18.0.1 with N
# source addresses from 198.18.0.10, lcore 0, prefix sluice-m-cps) the memif client, one core
# each, joined by an abstract unix socket: no namespaces, no NIC, no hugepages. For each
# --close mode it prints connections/s, connect and transaction latency (p50/p99) and busy
# cycles per connection on each side (the BusyCycles counters, TSC cycles of loop turns that
# did work); then a SYN flood from sluice-cps (--syn-flood, as fast as it can, spoofed
# sources in 198.18.128.0/17) and the SYNs per second sluice-listen answered on its one core,
# with its busy cycles per SYN. Each phase holds /tmp/sluice-e2e.lock on its own.
# --listen-lcores 0-1 --cps-lcores 0-1: two workers each side, one memif queue pair per worker
# (software steering: memif does not hash); on a 2-core machine the four spin on two cores.
#
# Raw output in DIR (default results/<UTC time>-memif/): listen-<phase>.log, cps-<phase>.json
# (sluice-cps --json), cps-<phase>.err (its start-up bounds and local waits),
# listen-<phase>-{before,after}.txt (sluice-stat), machine.txt (load average before and
# after: on a shared VM compare the rows of one run, not runs), summary.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$src/build
seconds=10 closes="client server rst" sources=64 conc=128 flood_s=3 l_lcores=1 c_lcores=0
out=$src/results/$(date -u +%Y%m%dT%H%M%SZ)-memif
while [[ $# -gt 0 ]]; do
    case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --close) closes=$2; shift 2 ;;
    --sources) sources=$2; shift 2 ;;
    --concurrency) conc=$2; shift 2 ;;
    --flood-seconds) flood_s=$2; shift 2 ;;
    --listen-lcores) l_lcores=$2; shift 2 ;;
    --cps-lcores) c_lcores=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) sed -n '4,6p' "$0" >&2; exit 2 ;;
    esac
done
if ((sources < 1 || sources > 200)); then echo "memif: --sources 1..200" >&2; exit 2; fi
mkdir -p "$out"
lock=/tmp/sluice-e2e.lock
sock=sluice-m-$$  # abstract socket name
last=$((10 + sources - 1))
{
    echo "date=$(date -u +%FT%TZ) commit=$(git -C "$src" rev-parse --short HEAD)"
    echo "kernel=$(uname -r) cpus=$(nproc) seconds=$seconds sources=$sources concurrency=$conc" \
        "listen_lcores=$l_lcores cps_lcores=$c_lcores"
    echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"
: >"$out/summary.txt"

listen_pid=
cleanup() {
    [[ -n $listen_pid ]] && { kill "$listen_pid" 2>/dev/null || true; wait "$listen_pid" 2>/dev/null || true; }
    rm -rf /var/run/dpdk/sluice-m-listen /var/run/dpdk/sluice-m-cps
}
trap cleanup EXIT

stat_listen() { "$build/app/sluice-stat" --prefix sluice-m-listen -a; }
counter() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
delta() {  # NAME PHASE
    echo $(($(counter "$1" "$out/listen-$2-after.txt") - $(counter "$1" "$out/listen-$2-before.txt")))
}

start_listen() {  # PHASE
    "$build/app/sluice-listen" --file-prefix=sluice-m-listen -- \
        --config "$src/bench/report/listen-report.toml" --lcores "$l_lcores" --device net_memif0 \
        --vdev-args "role=server,id=0,socket=$sock" >"$out/listen-$1.log" 2>&1 &
    listen_pid=$!
    for _ in $(seq 150); do
        grep -q ": ready on " "$out/listen-$1.log" && return 0
        kill -0 "$listen_pid" 2>/dev/null || break
        sleep 0.2
    done
    echo "memif: sluice-listen did not start (listen-$1.log)" >&2
    return 1
}
stop_listen() {
    kill "$listen_pid" 2>/dev/null || true
    wait "$listen_pid" 2>/dev/null || true
    listen_pid=
}
cps() {  # PHASE, then sluice-cps options
    local phase=$1
    shift
    timeout $((seconds + flood_s + 60)) "$build/app/sluice-cps" --file-prefix=sluice-m-cps -- \
        --config "$src/config/cps.toml" --lcores "$c_lcores" --device net_memif0 \
        --vdev-args "role=client,id=0,socket=$sock" --address 198.18.0.1/24 --gateway none \
        --target 198.18.0.2:80 --progress off --json "$@" \
        >"$out/cps-$phase.json" 2>"$out/cps-$phase.err" || true
}

phase_close() {  # CLOSE
    local mode=$1
    start_listen "$mode" || return 0
    stat_listen >"$out/listen-$mode-before.txt"
    cps "$mode" --close "$mode" --duration "$seconds" --concurrency "$conc" \
        --source "198.18.0.10-198.18.0.$last"
    stat_listen >"$out/listen-$mode-after.txt"
    stop_listen
    python3 - "$out" "$mode" "$(delta BusyCycles "$mode")" "$(delta PassiveOpens "$mode")" \
        >>"$out/summary.txt" <<'PY'
import json, sys
out, mode, busy, opens = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
try:
    r = json.load(open(f"{out}/cps-{mode}.json"))
except (OSError, ValueError):
    print(f"close={mode} not measured (see cps-{mode}.err)")
    sys.exit(0)
lat = r["latency_us"]
c = r.get("counters", {})
conns = max(r["completed"], 1)
print(f"close={mode} cps={r['cps']:.0f} completed={r['completed']} errors={r['errors_total']} "
      f"connect_p50_us={lat['connect']['p50']:.1f} connect_p99_us={lat['connect']['p99']:.1f} "
      f"transaction_p50_us={lat['transaction']['p50']:.1f} "
      f"transaction_p99_us={lat['transaction']['p99']:.1f} "
      f"client_busy_cycles_per_conn={c.get('BusyCycles', 0) // conns} "
      f"server_busy_cycles_per_conn={busy // max(opens, 1)} server_passive_opens={opens}")
PY
    grep -E "bounds:|local waits|bounded by" "$out/cps-$mode.err" | sed "s/^/  [$mode] /" \
        >>"$out/summary.txt" || true
}

phase_flood() {
    start_listen flood || return 0
    stat_listen >"$out/listen-flood-before.txt"
    cps flood --syn-flood --flood-prefix 198.18.128.0/17 --flood-rate 0 --flood-count 0 \
        --flood-duration "$flood_s"
    stat_listen >"$out/listen-flood-after.txt"
    stop_listen
    local syns acks busy
    syns=$(delta TcpInSegs flood)
    acks=$(delta SyncookiesSent flood)
    busy=$(delta BusyCycles flood)
    python3 - "$out" "$flood_s" "$syns" "$acks" "$busy" >>"$out/summary.txt" <<'PY'
import json, sys
out, secs, syns, acks, busy = sys.argv[1], float(sys.argv[2]), *map(int, sys.argv[3:])
try:
    r = json.load(open(f"{out}/cps-flood.json"))
    sent, s = r["sent"], r["seconds"] or secs
except (OSError, ValueError, KeyError):
    sent, s = 0, secs
print(f"syn_flood sent={sent} sent_per_s={sent / s:.0f} server_received={syns} "
      f"server_answered_per_s={acks / s:.0f} server_busy_cycles_per_syn={busy // max(syns, 1)}")
PY
}

export -f start_listen stop_listen stat_listen counter delta cps phase_close phase_flood
export build src out seconds flood_s conc sources last sock l_lcores c_lcores
for mode in $closes; do
    timeout $((seconds + 150)) flock "$lock" bash -c "phase_close $mode" || true
done
timeout $((flood_s + 150)) flock "$lock" bash -c phase_flood || true
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
cat "$out/machine.txt" "$out/summary.txt"
echo "raw output: $out"
