#!/usr/bin/env bash
# No lock and no shared atomic on the per-packet path (issue 7): disassembles sluice's own
# libraries and fails if any function outside the set-up and control-plane allowlist below
# contains a locked read-modify-write (x86 `lock` prefix: atomic add, exchange, compare-and-
# swap), an `xchg` with memory (implicitly locked), or a call to a mutex, spinlock, rwlock,
# semaphore or libatomic routine.
#
#   scripts/check-hotpath.sh BUILD_DIR [LIBRARY...]   (libraries relative to BUILD_DIR;
#                                                     default: sluice's six)
#
# Relaxed std::atomic loads and stores (the published counters, the snapshot flag) compile
# to plain moves and pass, as they should: a single writer needs no read-modify-write.
# What this does not see is inside DPDK's shared libraries; docs/multicore.md lists what the
# data path calls there and why none of it is a shared atomic per packet.
set -euo pipefail
build=${1:?usage: check-hotpath.sh BUILD_DIR [LIBRARY...]}
shift
libs=(lib/wire/libsluice_wire.a lib/time/libsluice_time.a lib/tcp/libsluice_tcp.a
      lib/flow/libsluice_flow.a lib/dev/libsluice_dev.a lib/engine/libsluice_engine.a)
[[ $# -eq 0 ]] || libs=("$@")

# Functions allowed to synchronise, each by name (issue 20 item 9: no namespace-wide or
# instruction-wide exemption). None runs per packet. A name ends at its argument list or a
# compiler clone suffix, so `create` does not cover `create_pools`.
end='(\(| \[clone |$)'
setup=(
    'sluice::engine::Stack::~Stack'                      # joins workers, frees ports
    'sluice::engine::ConnSnapshot::request'              # telemetry thread asks a worker
    'sluice::engine::TcpHost::create_pools'              # unique mempool names (a counter)
    'sluice::engine::\(anonymous namespace\)::tel_conns'  # telemetry callback, its mutex
    'sluice::engine::\(anonymous namespace\)::tel_conns_page'  # its paged body, same mutex
    # Teardown: a pool whose mbufs are still out is freed when they come back (a mutex).
    'sluice::engine::\(anonymous namespace\)::free_when_idle'
    'sluice::flow::FlowTable::create'                    # unique rte_hash names (a counter)
    'sluice::dev::free_hugepages'                        # start-up check (ifstream's locale)
    # libstdc++'s shared_ptr release (the Stack's and the config's, at set-up and teardown).
    'std::_Sp_counted_base<\(__gnu_cxx::_Lock_policy\)2>::_M_release'
    'std::_Sp_counted_base<\(__gnu_cxx::_Lock_policy\)2>::_M_release_last_use_cold'
    '__cxx_global_var_init' '_GLOBAL__sub_I_'            # static-initialisation guards
)
# Segments carry send-buffer mbufs by reference (retransmission by refcount, issue 5): DPDK's
# 16-bit mbuf reference count is updated with a locked add/sub. Only the owning lcore touches
# its connections' mbufs, so the line is never contended. Allowed only in these functions
# (DPDK's inlines and the sluice functions they are inlined into), and only as a 16-bit
# locked add, sub or xadd.
refcnt=(
    rte_pktmbuf_free rte_pktmbuf_detach rte_pktmbuf_prefree_seg rte_mbuf_refcnt_update
    'sluice::engine::TcpHost::emit' 'sluice::engine::Worker::handle_tcp'
    'sluice::tcp::MbufQueue::(clear|consume)' 'sluice::tcp::SendBuffer::append'
    'sluice::tcp::RecvBuffer::(insert|release|take)'
    'sluice::engine::NeighborTable::~NeighborTable'  # teardown: frees frames held for ARP/ND
)
join() { local IFS='|'; echo "$*"; }
allow="^($(join "${setup[@]}"))$end"
allow_refcnt="^($(join "${refcnt[@]}"))$end"

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
    # objdump's own failure (an unreadable archive) must fail the check, not read as clean.
    dis=$("$objdump" -d -r -C --no-show-raw-insn "$f") ||
        { echo "check-hotpath: $objdump failed on $f" >&2; exit 1; }
    while IFS= read -r line; do
        fn=${line%%$'\t'*}
        insn=${line#*$'\t'}
        if [[ $insn =~ ^lock\ (add|sub|xadd)w\  && $fn =~ $allow_refcnt ]]; then continue; fi
        if [[ ! $fn =~ $allow ]]; then
            echo "check-hotpath: $lib: $fn: $insn"
            bad=1
        fi
    done < <(echo "$dis" | awk '
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
