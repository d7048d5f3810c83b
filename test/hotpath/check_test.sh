#!/usr/bin/env bash
# scripts/check-hotpath.sh has teeth (issue 20 item 9): on test/hotpath/probe.cpp it fails
# and names both functions, which the old namespace-wide and 16-bit exemptions let through.
#   check_test.sh SOURCE_DIR BUILD_DIR PROBE_LIBRARY (relative to BUILD_DIR)
set -uo pipefail
out=$("$1/scripts/check-hotpath.sh" "$2" "$3" 2>&1)
rc=$?
echo "$out"
[[ $rc -eq 1 ]] || { echo "FAIL: exit $rc, want 1"; exit 1; }
for fn in 'sluice::dev::probe_per_packet_counter' 'sluice::engine::probe_shared_16bit_counter'; do
    [[ $out == *"$fn"* ]] || { echo "FAIL: $fn not reported"; exit 1; }
done
# An archive objdump cannot read fails the check (it used to read as clean: objdump ran in
# a process substitution whose status nobody looked at).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo junk >"$tmp/junk.a"
"$1/scripts/check-hotpath.sh" "$tmp" junk.a >/dev/null 2>&1
rc=$?
[[ $rc -eq 1 ]] || { echo "FAIL: an unreadable archive gave exit $rc, want 1"; exit 1; }
echo "ok: both probes named, an unreadable archive fails"
