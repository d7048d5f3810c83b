#!/usr/bin/env bash
# SLUICE_LOSSY_UPDATE_GOLDEN (issue 20 item 5): unset, empty and 0 compare the grid with
# golden.txt (the test runs and passes, nothing is skipped or rewritten); any other value
# but 1 fails instead of skipping.
#   golden_env_test.sh TEST_LOSSY GOLDEN_TXT
set -uo pipefail
bin=$1 golden=$2
sum=$(sha256sum "$golden")
fails=0
for v in unset "" 0 bogus; do
    if [[ $v == unset ]]; then
        out=$(env -u SLUICE_LOSSY_UPDATE_GOLDEN "$bin" --gtest_filter=Lossy.GridMatchesGolden 2>&1)
    else
        out=$(SLUICE_LOSSY_UPDATE_GOLDEN=$v "$bin" --gtest_filter=Lossy.GridMatchesGolden 2>&1)
    fi
    rc=$?
    if [[ $v == bogus ]]; then
        if [[ $rc -eq 0 || $out != *"use 1 to rewrite"* ]]; then
            echo "FAIL: SLUICE_LOSSY_UPDATE_GOLDEN=$v: exit $rc, want a failure naming the value"
            fails=$((fails + 1))
        fi
    elif [[ $rc -ne 0 || $out == *SKIPPED* || $out != *"[  PASSED  ] 1 test"* ]]; then
        echo "FAIL: SLUICE_LOSSY_UPDATE_GOLDEN=$v: exit $rc; the comparison must run and pass:"
        echo "$out" | tail -15
        fails=$((fails + 1))
    fi
    if [[ $(sha256sum "$golden") != "$sum" ]]; then
        echo "FAIL: SLUICE_LOSSY_UPDATE_GOLDEN=$v rewrote $golden"
        fails=$((fails + 1))
    fi
    echo "checked SLUICE_LOSSY_UPDATE_GOLDEN=$v"
done
[[ $fails -eq 0 ]]
