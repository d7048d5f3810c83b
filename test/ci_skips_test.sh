#!/usr/bin/env bash
# Skipped is not passed in CI (issue 20 item 5). Outside CI a skip stays a skip (exit 77 for
# the scripts, a pass for a GoogleTest program); under CI=true or SLUICE_REQUIRE_ALL=1 it
# fails and names what was skipped.
#   ci_skips_test.sh PROBE SOURCE_DIR
set -uo pipefail
probe=$1 src=$2
fails=0
check() {  # check WHAT WANT_RC GOT_RC OUTPUT [TEXT]
    if [[ $3 != "$2" ]] || [[ -n ${5:-} && $4 != *"$5"* ]]; then
        echo "FAIL: $1: exit $3 (want $2)${5:+, output should contain '$5'}:"
        echo "$4" | sed 's/^/    /'
        fails=$((fails + 1))
    else
        echo "ok: $1"
    fi
}
unset CI SLUICE_REQUIRE_ALL

out=$("$probe" 2>&1); check "GTEST_SKIP outside CI passes" 0 $? "$out" "[  SKIPPED ] CiSkipProbe.Skips"
out=$(CI=true "$probe" 2>&1)
check "GTEST_SKIP under CI=true fails, naming the test and why" 1 $? "$out" \
    "CiSkipProbe.Skips: probe reason"
out=$(SLUICE_REQUIRE_ALL=1 "$probe" 2>&1); check "GTEST_SKIP under SLUICE_REQUIRE_ALL=1 fails" 1 $? "$out"
out=$(CI=false "$probe" 2>&1); check "CI=false is not CI" 0 $? "$out"

out=$(OBJDUMP=/nonexistent/objdump "$src/scripts/check-hotpath.sh" /nonexistent 2>&1)
check "check-hotpath.sh without objdump skips outside CI" 77 $? "$out"
out=$(CI=true OBJDUMP=/nonexistent/objdump "$src/scripts/check-hotpath.sh" /nonexistent 2>&1)
check "check-hotpath.sh without objdump fails under CI" 1 $? "$out" "SKIPPED IN CI"

# e2e-run.sh as a user who is not root (nobody, when this runs as root).
as_user=()
if [[ $(id -u) -eq 0 ]]; then
    as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi
out=$("${as_user[@]}" env -u CI "$src/scripts/e2e-run.sh" /bin/true 2>&1)
check "e2e-run.sh without root skips outside CI" 77 $? "$out"
out=$("${as_user[@]}" env CI=true "$src/scripts/e2e-run.sh" /bin/true 2>&1)
check "e2e-run.sh without root fails under CI" 1 $? "$out" "SKIPPED IN CI"

[[ $fails -eq 0 ]] || { echo "$fails check(s) failed"; exit 1; }
