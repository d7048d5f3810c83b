#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/) with clang in build-fuzz/ and runs each for a
# bounded time: scripts/fuzz.sh [seconds per harness, default 30] [harness...]
#   scripts/fuzz.sh            # what the test command runs
#   scripts/fuzz.sh 3600       # a longer campaign, one hour per harness
#   scripts/fuzz.sh --build    # configure and build only (then: meson test -C build-fuzz
#                              #   --no-rebuild --suite fuzz)
# New corpus entries go to build-fuzz/fuzz/corpus/<harness>/ (not committed); crashes to
# build-fuzz/fuzz/artifacts/<harness>/. Exits non-zero if any harness found a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
build_only=false
if [[ ${1:-} == --build ]]; then
    build_only=true
    shift
fi
secs=${1:-30}
shift || true
harnesses=("$@")
[[ ${#harnesses[@]} -gt 0 ]] || harnesses=(fuzz_wire fuzz_tcp_options fuzz_tcp_connection fuzz_tcp_listener)
dir=build-fuzz

if [[ ! -f $dir/build.ninja ]]; then
    # Libraries get coverage instrumentation (fuzzer-no-link) and ASan+UBSan; only the
    # harness executables link libFuzzer (fuzz/meson.build). invariants: lib/tcp aborts on
    # a broken TCB at once. b_lundef=false: sanitizer runtimes resolve at load time.
    CC=clang CXX=clang++ meson setup "$dir" -Dfuzzing=true -Dtests=disabled \
        -Dbenchmarks=disabled -Dinvariants=true -Db_sanitize=address,undefined \
        -Db_lundef=false \
        -Dcpp_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined'
fi
# Two cores are shared: build only the harnesses, the replay of fuzz/regressions/ and what
# they link.
targets=("${harnesses[@]/#/fuzz/}" fuzz/fuzz_regressions)
ninja -C "$dir" -j2 "${targets[@]}"
$build_only && exit 0

declare -A max_len=([fuzz_wire]=2048 [fuzz_tcp_options]=64 [fuzz_tcp_connection]=4096
                   [fuzz_tcp_listener]=4096)
status=0
for h in "${harnesses[@]}"; do
    echo "== $h for ${secs} s"
    work=$dir/fuzz/corpus/$h
    art=$dir/fuzz/artifacts/$h
    mkdir -p "$work" "$art"
    set +e
    UBSAN_OPTIONS=print_stacktrace=1 "$dir/fuzz/$h" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -max_len="${max_len[$h]:-4096}" -print_final_stats=1 \
        -artifact_prefix="$art/" "$work" "fuzz/corpus/$h" 2>&1 | tee "$dir/fuzz/$h.log" |
        grep --line-buffered -E '^#[0-9]+ *(INITED|DONE)|^stat::|==fuzz check|ERROR|SUMMARY|written'
    rc=${PIPESTATUS[0]}
    set -e
    if [[ $rc -ne 0 ]]; then
        echo "!! $h failed (exit $rc): crash in $art, log $dir/fuzz/$h.log"
        status=1
    fi
done
exit $status
