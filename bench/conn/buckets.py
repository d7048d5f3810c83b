#!/usr/bin/env python3
"""Sums callgrind_annotate's per-function instruction counts (stdin) into buckets and prints
instructions per connection (argv[1] = connections). First matching bucket wins."""
import re
import sys

BUCKETS = [
    # LTO inlines Worker::poll into the bed's Stack::poll loop: that is sluice's poll.
    ("poll loop (Worker::poll, inlined in the bed)", r"lossy::.*Stack::poll"),
    ("test bed (link, client)", r"lossy::|testbed|splitmix|mt19937|InFlight"),
    ("flow table", r"flow::|FlowTable|rte_hash|cuckoo|rte_rcu|rte_log|rte_vlog|vfprintf"),
    ("checksums", r"checksum|cksum"),
    ("SipHash (cookies, ISN, SYN cache)", r"siphash|shorthash|sodium"),
    ("timer wheel", r"time::Wheel|time::.*Timer"),
    ("receive parsing", r"wire::parse|wire::.*[Oo]ption|parse_"),
    ("send headers", r"wire::build|wire::write|TcpHeaderSpec"),
    ("mbufs, rings, mempools", r"mbuf|mempool|rte_ring|common_ring|eth_ring"),
    ("SYN cache / TIME-WAIT / cookies", r"SynCache|TimeWait|syncookie|Cookie|isn"),
    ("TCP connection (input, output, timers)", r"tcp::"),
    ("engine (worker, host, effects)", r"engine::|dev::"),
    ("memset/memcpy", r"mem(set|cpy|move|cmp)"),
]

def main():
    conns = int(sys.argv[1])
    sums = {name: 0 for name, _ in BUCKETS}
    sums["other"] = 0
    total = 0
    line_re = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$")
    in_table = False
    for line in sys.stdin:
        if "file:function" in line:
            in_table = True
            continue
        m = line_re.match(line)
        if not in_table or not m or "PROGRAM TOTALS" in line:
            continue
        ir = int(m.group(1).replace(",", ""))
        fn = m.group(2)
        total += ir
        for name, rx in BUCKETS:
            if re.search(rx, fn):
                sums[name] += ir
                break
        else:
            sums["other"] += ir
    for name, ir in sorted(sums.items(), key=lambda kv: -kv[1]):
        print(f"  {name:42s} {ir / conns:10,.0f}")
    bed = sums["test bed (link, client)"]  # the bed's own functions; its inlined calls are
    # counted where they land (bench_conn's null-bed run gives the bed's cycles)
    print(f"  {'all':42s} {total / conns:10,.0f}")
    print(f"  {'sluice (all less test bed)':42s} {(total - bed) / conns:10,.0f}")

if __name__ == "__main__":
    main()
