#!/usr/bin/env bash
# Configures (once) and builds sluice in build/ (or $1). Extra args go to meson setup.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
[[ -f $dir/build.ninja ]] || meson setup "$dir" "$@"
ninja -C "$dir"
