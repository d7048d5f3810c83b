#!/usr/bin/env bash
# No lock and no shared atomic on the per-packet path (issue 7): disassembles sluice's own
# libraries and fails if any function outside the set-up and control-plane allowlist below
# contains a locked read-modify-write (x86 `lock` prefix: atomic add, exchange, compare-and-
# swap), an `xchg` with memory (implicitly locked), or a call to a mutex, spinlock, rwlock,
# semaphore or libatomic routine.
#
#   scripts/check-hotpath.sh BUILD_DIR
#
# Relaxed std::atomic loads and stores (the published counters, the snapshot flag) compile
# to plain moves and pass, as they should: a single writer needs no read-modify-write.
# What this does not see is inside DPDK's shared libraries; docs/multicore.md lists what the
# data path calls there and why none of it is a shared atomic per packet.
set -euo pipefail
build=${1:?usage: check-hotpath.sh BUILD_DIR}
libs=(lib/wire/libsluice_wire.a lib/time/libsluice_time.a lib/tcp/libsluice_tcp.a
      lib/flow/libsluice_flow.a lib/dev/libsluice_dev.a lib/engine/libsluice_engine.a)

# Functions allowed to synchronise: they never run per packet.
allow='^(sluice::engine::Stack::|sluice::engine::ConnSnapshot::request|sluice::engine::TcpHost::create|sluice::engine::\(anonymous namespace\)::tel_|sluice::flow::FlowTable::create|sluice::dev::|sluice::engine::(parse_config|load_config|apply_overrides)|sluice::tcp::CookieSecrets::(load|random)|'
# DPDK inlines: mbuf reference-count updates (outlined copies of them).
allow+='rte_pktmbuf_free|rte_pktmbuf_detach|rte_pktmbuf_prefree_seg|rte_mbuf_refcnt_update|'
# Teardown: a pool whose mbufs are still out is freed when they come back (under a mutex).
allow+='sluice::engine::\(anonymous namespace\)::free_when_idle|'
# Static-initialisation guards and libstdc++ shared_ptr/string internals used at set-up.
allow+='__cxx_global_var_init|_GLOBAL__sub_I_|std::)'

objdump=${OBJDUMP:-objdump}
if ! command -v "$objdump" >/dev/null; then
    # shellcheck source=skip.sh
    . "$(dirname "$0")/skip.sh"
    skip_or_fail "check-hotpath: $objdump missing (apt-get install binutils)"
fi
bad=0
for lib in "${libs[@]}"; do
    f="$build/$lib"
    [[ -f $f ]] || { echo "check-hotpath: $f not built" >&2; exit 1; }
    while IFS= read -r line; do
        fn=${line%%$'\t'*}
        insn=${line#*$'\t'}
        # Segments carry send-buffer mbufs by reference (retransmission by refcount, issue
        # 5): DPDK's 16-bit mbuf refcnt is updated with a locked add/sub. Only the owning
        # lcore touches its connections' mbufs, so the line is never contended; no other
        # 16-bit atomic exists in sluice's code.
        if [[ $insn =~ ^lock\ (add|sub|xadd)w\  ]]; then continue; fi
        if [[ ! $fn =~ $allow ]]; then
            echo "check-hotpath: $lib: $fn: $insn"
            bad=1
        fi
    done < <("$objdump" -d -r -C --no-show-raw-insn "$f" | awk '
        /^[0-9a-f]+ <.*>:$/ { fn = $0; sub(/^[0-9a-f]+ </, "", fn); sub(/>:$/, "", fn); next }
        /\tlock / || /\txchg [^,]*\(/ || /\txchg .*,.*\(/ ||
        /R_X86_64_(PLT32|PC32)[ \t]+(pthread_mutex|pthread_spin|pthread_rwlock|pthread_cond|sem_wait|sem_post|__atomic_|rte_spinlock|rte_rwlock|std::mutex)/ {
            insn = $0; sub(/^[ \t]*[0-9a-f]+:[ \t]*/, "", insn); print fn "\t" insn }')
done
if [[ $bad -ne 0 ]]; then
    echo "check-hotpath: synchronisation found outside the allowlist (see above)" >&2
    exit 1
fi
echo "check-hotpath: no locked instruction or lock call outside set-up and control code in ${#libs[@]} libraries"
