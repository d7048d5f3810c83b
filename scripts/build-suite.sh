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
# The programs a test needs: its command when that is a file of this build, and every target
# it depends on (a script test names the binary it drives; a driver needs its .so). An
# interpreter or a script in the source tree is not a target.
mapfile -t targets < <(/usr/bin/python3 - "$dir" "$suite" <<'PY'
import json, os, subprocess, sys
d, suite = sys.argv[1], sys.argv[2]
root = os.path.abspath(d)
def introspect(what):
    return json.loads(subprocess.run(["meson", "introspect", d, what], check=True,
                                     capture_output=True, text=True).stdout)
files = {t["id"]: t["filename"] for t in introspect("--targets")}
for t in introspect("--tests"):
    if not any(s.split(":")[-1] == suite for s in t["suite"]):
        continue
    paths = [t["cmd"][0]] + [f for dep in t.get("depends", []) for f in files.get(dep, [])]
    for p in paths:
        if os.path.isabs(p) and not os.path.relpath(p, root).startswith(".."):
            print(os.path.relpath(p, root))
PY
)
if [[ ${#targets[@]} -eq 0 ]]; then
    echo "build-suite: no tests in suite '$suite' in $dir" >&2
    exit 1
fi
ninja -C "$dir" "${targets[@]}"
