#!/bin/bash
# Instructions per connection, by bucket, for bench_conn's sluice cases under callgrind.
#
#   bench/conn/profile.sh [BUILD_DIR] [OUT_DIR] [CASE_REGEX]
#
# BUILD_DIR: a release build (default build-rel; -Db_lto=true works, -Dnative=true does not:
# valgrind cannot run AVX-512). The bench toggles collection around the measured span (first
# connect to every connection released, test/lossy/testbed.cpp), so set-up is not counted.
# Buckets are by function symbol (exclusive cost); code inlined into another function counts
# where it was inlined. "test bed" is the link shim and the test client, not sluice.
set -euo pipefail
build=${1:-build-rel}
out=${2:-$(mktemp -d /tmp/sluice-profile.XXXXXX)}
cases=${3:-'Sluice/20000/(1|64)/(0|1)'}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
"$build/bench/conn/bench_conn" --benchmark_list_tests | grep -E "^$cases/" | while read -r name; do
    tag=$(echo "$name" | tr '/' '_')
    valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$out/$tag.cg" \
        "$build/bench/conn/bench_conn" --benchmark_filter="^$name\$" --benchmark_min_time=0.001 \
        --benchmark_out="$out/$tag.json" --benchmark_out_format=json >"$out/$tag.log" 2>&1
    iters=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["benchmarks"][0]["iterations"])' "$out/$tag.json")
    conns=$((iters * $(echo "$name" | cut -d/ -f2)))
    echo "== $name ($conns connections, $(grep '^build:' "$out/$tag.log"))"
    callgrind_annotate --inclusive=no --threshold=100 "$out/$tag.cg" |
        python3 "$here/buckets.py" "$conns"
done
echo "raw callgrind output in $out"
