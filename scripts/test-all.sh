#!/usr/bin/env bash
# Installs, builds and runs every test: unit suites, the header check, the end-to-end suites
# on the netns test bed, the unit suites again under ASan+UBSan, then the fuzz harnesses
# (clang, libFuzzer) for a bounded time. Needs root (apt-get,
# network namespaces, DPDK). This is what CI runs.
#
#   scripts/test-all.sh [--require-all]
#
# --require-all (implied by CI=true): a skipped test is a failure (a GTEST_SKIP inside a
# program, a script's exit 77), and the summary names each one (issue 20 item 5).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
case ${1:-} in
--require-all) export SLUICE_REQUIRE_ALL=1 ;;
"") ;;
*) echo "usage: $0 [--require-all]" >&2; exit 2 ;;
esac
. scripts/skip.sh
# no_skips BUILD_DIR: under --require-all, fails naming every test meson counted as skipped
# in the last `meson test` of BUILD_DIR (its testlog.json has one JSON object per line).
no_skips() {
    require_all || return 0
    local skipped
    skipped=$(/usr/bin/python3 -c 'import json, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    if t.get("result") == "SKIP":
        print(t["name"])' "$1/meson-logs/testlog.json")
    if [[ -n $skipped ]]; then
        echo "!! skipped, which counts as failed under --require-all / CI=true:" $skipped >&2
        exit 1
    fi
}
scripts/install-deps.sh

echo "== build (debugoptimized)"
scripts/build.sh build
echo "== unit tests"
meson test -C build --suite unit --print-errorlogs
no_skips build
echo "== end-to-end tests (netns test bed, one at a time)"
meson test -C build --suite e2e --num-processes 1 --print-errorlogs
no_skips build

echo "== build with ASan+UBSan"
# b_lundef=false: sanitizer runtimes resolve symbols at load time. werror=false: with the
# sanitizers GCC 12 warns falsely inside libstdc++ (<regex>, -Wmaybe-uninitialized); the
# build above already holds the code to -Werror.
# Only the unit-test programs are built: nothing else runs in this stage.
scripts/build-suite.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbenchmarks=disabled -Dwerror=false
echo "== unit tests under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --no-rebuild --suite unit --print-errorlogs
no_skips build-asan

echo "== fuzzing: each libFuzzer harness for 20 s, then the replay of seeds and crashes"
scripts/fuzz.sh --build
meson test -C build-fuzz --no-rebuild --suite fuzz --print-errorlogs
no_skips build-fuzz

echo "== all tests passed in $(( $(date +%s) - start )) s"
