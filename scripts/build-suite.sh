#!/usr/bin/env bash
# Configures (once) the build directory $1 with the remaining meson options, then builds only
# the programs the tests of suite $SUITE (default unit) run, not every target. The sanitizer
# stage of the test command uses it: it runs only the unit suites, so building the apps,
# end-to-end programs and benchmarks there would be wasted minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
shift
suite=${SUITE:-unit}
[[ -f $dir/build.ninja ]] || meson setup "$dir" "$@"
ninja -C "$dir" build.ninja  # regenerate first if a meson.build changed: introspect reads it
mapfile -t targets < <(meson introspect "$dir" --tests | /usr/bin/python3 -c '
import json, os, sys
d, suite = sys.argv[1], sys.argv[2]
for t in json.load(sys.stdin):
    if any(s.split(":")[-1] == suite for s in t["suite"]):
        print(os.path.relpath(t["cmd"][0], os.path.abspath(d)))
' "$dir" "$suite" | sort -u)
if [[ ${#targets[@]} -eq 0 ]]; then
    echo "build-suite: no tests in suite '$suite' in $dir" >&2
    exit 1
fi
ninja -C "$dir" "${targets[@]}"
