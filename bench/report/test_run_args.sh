#!/usr/bin/env bash
# bench/report/run.sh refuses before it measures anything (issue 20 item 2): --publish on a
# tree with uncommitted changes, and a build directory that is not a release build. Runs a
# copy of run.sh in a scratch git tree; no root, no DPDK.
#   test_run_args.sh SOURCE_DIR NON_RELEASE_BUILD_DIR
set -uo pipefail
src=$1 debug_build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bench/report" "$tmp/scripts"
cp "$src/bench/report/run.sh" "$tmp/bench/report/"
cp "$src/scripts/skip.sh" "$tmp/scripts/"
git -C "$tmp" init -q
git -C "$tmp" -c user.name=t -c user.email=t@t add -A
git -C "$tmp" -c user.name=t -c user.email=t@t commit -qm scratch
fails=0
expect() {  # WHAT WANT_TEXT CMD...
    local what=$1 want=$2 out rc
    shift 2
    out=$("$@" 2>&1)
    rc=$?
    if [[ $rc -ne 2 || $out != *"$want"* ]]; then
        echo "FAIL: $what: exit $rc (want 2), output:"; echo "$out" | sed 's/^/    /'
        fails=$((fails + 1))
    else
        echo "ok: $what"
    fi
}
echo "# changed" >>"$tmp/bench/report/run.sh"
expect "--publish on a tree with uncommitted changes" "uncommitted changes" \
    "$tmp/bench/report/run.sh" --publish --build "$debug_build"
git -C "$tmp" -c user.name=t -c user.email=t@t commit -qam changed
expect "a build directory that is not a release build" "the report measures a release build" \
    "$tmp/bench/report/run.sh" --publish --build "$debug_build"
[[ $fails -eq 0 ]]
