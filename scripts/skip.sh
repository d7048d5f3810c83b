# Sourced by the scripts that may not be able to run here (e2e-run.sh, check-hotpath.sh,
# bench/report/run.sh). Skipped is not passed in CI (issue 20):
#   skip_or_fail MESSAGE   exits 77 (meson: skipped), or 1 under CI=true or
#                          SLUICE_REQUIRE_ALL=1 (scripts/test-all.sh --require-all)
require_all() {
    case ${CI:-} in true | 1 | yes) return 0 ;; esac
    case ${SLUICE_REQUIRE_ALL:-} in true | 1 | yes) return 0 ;; esac
    return 1
}
skip_or_fail() {
    if require_all; then
        echo "SKIPPED IN CI (a failure under CI=true / SLUICE_REQUIRE_ALL=1): $1" >&2
        exit 1
    fi
    echo "skipped: $1" >&2
    exit 77
}
