#!/usr/bin/python3
"""Writes the figures of README.md, docs/*.md and bench/README.md from committed raw output.

  figures.py [--check] [FILE.md ...]

A figure a reader sees in those files sits in a marked block that names what makes it and
the committed folder it reads (a run of bench/report/run.sh, e.g. bench/report/example):

  <!-- figures: syn-bench bench/report/example -->
  ...written by this script...
  <!-- /figures -->

Without --check the blocks are rewritten in place. With --check nothing is written and the
exit status is 1 if any block differs from what its source gives (the unit test
`docs-figures` runs this), so a figure typed in by hand, or a raw output changed without
the prose, fails the test suite. Each block ends by citing the files it read.
"""
import difflib
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import render  # noqa: E402  (the report's parsers: one reading of each raw output)

BLOCK = re.compile(r"(<!-- figures: (?P<name>[a-z0-9-]+) (?P<src>\S+) -->\n)(?P<body>.*?)"
                   r"(<!-- /figures -->)", re.S)
DEFAULT_FILES = ["README.md", "bench/README.md", "docs"]


class Missing(Exception):
    """A raw output the block needs is not in its source folder."""


def need(value, what):
    if value is None:
        raise Missing(what)
    return value


def run_info(src):
    """Machine line for a run of bench/report/run.sh in `src` (relative to the root)."""
    m = render.keyvals(render.read(os.path.join(ROOT, src, "machine.txt")))
    dirty = m.get("commit", "?").endswith("-dirty")
    return (f"`{src}/` ({m.get('mode', '?')} run of {m.get('date', '?')[:10]}, commit "
            f"{m.get('commit', '?')}{' (uncommitted changes)' if dirty else ''}, "
            f"{m.get('buildtype', '?')} build, load average {m.get('loadavg_start', '?')} at "
            f"the start on {m.get('cores', '?')} cores)")


def tsc_ghz(d):
    m = re.search(r"TSC:\s+([\d.]+)", render.read(os.path.join(d, "micro", "bench_syn.txt")) or "")
    return float(m.group(1)) if m else None


def syn_rows(d):
    """(label, CPU cycles, TSC cycles, bench) for the three bench_syn benchmarks."""
    micro = render.micro_results(d)
    ghz = need(tsc_ghz(d), "micro/bench_syn.txt (TSC rate)")
    rows = []
    for label, prefix in (("`tcp::make_syn_ack` (cookie + SYN-ACK segment)", "BM_CookieSynAck"),
                          ("`tcp::check_ack` (validate the final ACK's cookie)",
                           "BM_CookieCheckAck"),
                          ("`Worker::poll` on `net_ring`: SYN frames in, SYN-ACK frames out "
                           "(parse, flow miss, listener, cookie, frame build with software "
                           "checksums, TX)", "BM_WorkerSynToSynAck")):
        b = need(render.bench(micro, "bench_syn", prefix), f"micro/bench_syn.json {prefix}")
        per_iter = 1.0
        if prefix == "BM_WorkerSynToSynAck":
            per_iter = need(b.get("SynAcksSent"), "SynAcksSent of BM_WorkerSynToSynAck")
            per_iter /= b["iterations"]
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        rows.append((label, b["cpu_time"] * scale * ghz / per_iter, b.get("cycles/op"), prefix))
    return rows, ghz


def gen_syn_bench(src):
    d = os.path.join(ROOT, src)
    rows, ghz = syn_rows(d)
    t = render.table(["path", "cycles (CPU time)", "rate on one core", "cycles (TSC, wall)"],
                     [(label, f"{c:,.0f} per {'ACK' if 'Check' in p else 'SYN'}",
                       f"{ghz * 1e3 / c:.1f} M/s", render.num(w)) for label, c, w, p in rows])
    return (t + f"\nFrom {run_info(src)}: `micro/bench_syn.json`, TSC rate from "
            "`micro/bench_syn.txt`. CPU time is the benchmark thread's; the TSC column is wall "
            "time, which also counts time the thread was preempted on the shared machine.\n")


def gen_syn_cycles(src):
    rows, _ = syn_rows(os.path.join(ROOT, src))
    return (f"{rows[2][1]:,.0f} cycles of CPU per SYN through the worker, {rows[0][1]:,.0f} for "
            f"the cookie itself, in {run_info(src)}\n")


def flood_sides(src):
    d = os.path.join(ROOT, src)
    sides = {s["server"]: s for s in render.parse_flood(render.read(os.path.join(d, "flood.log")))}
    return need(sides or None, f"{src}/flood.log (flood-result lines)")


def pct(s):
    return 100.0 * s.get("ok", 0) / s["attempts"] if s.get("attempts") else 0.0


def gen_flood_table(src):
    sides = flood_sides(src)
    names = list(sides)
    row = lambda label, f: (label, *[f(sides[n]) for n in names])
    t = render.table([""] + names, [
        row("flood sent, SYN/s", lambda s: render.num(s.get("pps"))),
        row("legitimate connections completed",
            lambda s: f"{pct(s):.1f} % ({s.get('ok', 0):,.0f}/{s.get('attempts', 0):,.0f})"),
        row("connect time p50 during the flood, ms",
            lambda s: render.num(s.get("connect_p50_ms"), "{:,.2f}")),
        row("connect time p99 during the flood, ms",
            lambda s: render.num(s.get("connect_p99_ms"), "{:,.2f}")),
        row("connect time p50 / p99 without flood, ms",
            lambda s: f"{s.get('calm_p50_ms', 0):.2f} / {s.get('calm_p99_ms', 0):.2f}"),
    ])
    lines = [l for l in (render.read(os.path.join(ROOT, src, "flood.log")) or "").splitlines()
             if re.match(r"^(sluice|kernel-syncookies-\d): ", l)]
    detail = "".join(f"- {l.strip()}\n" for l in lines)
    return (t + "\nWhat the servers counted, as the test printed it:\n\n" + detail +
            f"\nFrom {run_info(src)}: `flood.log`.\n")


def gen_flood_summary(src):
    sides = flood_sides(src)
    sl = need(sides.get("sluice"), "the sluice side of flood.log")
    k1 = need(sides.get("kernel-syncookies-1"), "the kernel-syncookies-1 side of flood.log")
    share = re.search(r"sluice had (\d+)% of a core",
                      render.read(os.path.join(ROOT, src, "flood.log")) or "")
    return (f"sluice kept {pct(sl):.1f} % of the legitimate connections at "
            f"{sl['pps']:,.0f} spoofed SYN/s and the kernel with syncookies {pct(k1):.1f} % at "
            f"{k1['pps']:,.0f}/s, sluice with a connect p99 of {sl['connect_p99_ms']:,.0f} ms "
            f"against the kernel's {k1['connect_p99_ms']:,.1f} ms" +
            (f" (its polling worker had {share.group(1)} % of a core there)" if share else "") +
            f", in {run_info(src)}, `flood.log`\n")


def gen_flow_bench(src):
    d = os.path.join(ROOT, src)
    text = need(render.read(os.path.join(d, "micro", "bench_flow.txt")),
                f"{src}/micro/bench_flow.txt")
    mem = need(re.search(r"^flow table, .*$", text, re.M), "the memory line of bench_flow.txt")
    micro = render.micro_results(d)
    rows = []
    for flows in (1000, 100000, 1000000):
        cells = [f"{flows:,}"]
        for fam in (0, 1):
            for kind in ("BM_LookupOne", "BM_LookupBulk/"):
                b = render.bench(micro, "bench_flow", f"{kind.rstrip('/')}/{flows}/{fam}")
                # An inverted rate counter: Google Benchmark's JSON holds it in seconds.
                s_per = b and b.get("ns_per_lookup")
                cells.append(render.num(s_per and s_per * 1e9, "{:.1f}"))
        rows.append(cells)
    t = render.table(["flows", "IPv4 one at a time, ns", "IPv4 bulk of 32, ns",
                      "IPv6 one at a time, ns", "IPv6 bulk of 32, ns"], rows)
    return (f"`bench_flow` printed: {mem.group(0)}\n\n" + t +
            f"\nFrom {run_info(src)}: `micro/bench_flow.txt`, `micro/bench_flow.json` "
            "(ns per lookup, hits on random keys).\n")


def gen_cps_nginx(src):
    path = os.path.join(ROOT, src, "wire", "cps-nginx.json")
    cps = need(render.load_json(path), f"{src}/wire/cps-nginx.json")
    lat = cps.get("latency_us") or {}
    us = lambda kind, p: render.num((lat.get(kind) or {}).get(p), "{:,.0f}")
    return (f"sluice-cps against one nginx worker on the veth bed: {render.num(cps.get('cps'))} "
            f"connections/s, {render.num(cps.get('completed'))} completed, "
            f"{render.num(cps.get('errors_total'))} errors; connect p50 {us('connect', 'p50')} us,"
            f" p99 {us('connect', 'p99')} us; transaction p50 {us('transaction', 'p50')} us, p99 "
            f"{us('transaction', 'p99')} us ({run_info(src)}, `wire/cps-nginx.json`)\n")


def gen_include(src):
    """The committed file `src` itself, verbatim, in a code block."""
    text = need(render.read(os.path.join(ROOT, src)), src)
    return f"```\n{text.rstrip()}\n```\n\nRaw output: `{src}`.\n"


def gen_badinput(src):
    """The rows of the bad-input matrix (test/e2e/badinput.py), read from its source: what
    each row expects back and which counters it asserts, and which rows have no counter of
    their own."""
    import ast
    path = os.path.join(ROOT, src)
    tree = ast.parse(need(render.read(path), src))
    rows = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "rows"
                                                for t in node.targets):
            rows = node.value
    need(rows, f"the rows list of {src}")
    parsed = []
    def default(node):
        # A row that differs under SLUICE_PMD=af_xdp (`x if raw_fragments else y`): the table
        # describes the default bed, af_packet, so take the else branch.
        return node.orelse if isinstance(node, ast.IfExp) else node

    for el in rows.elts:
        name = el.elts[0].value
        want_node = default(el.elts[2])
        want = want_node.value if isinstance(want_node, ast.Constant) else None
        counters = tuple(k.value.rstrip("+") for k in default(el.elts[3]).keys)
        parsed.append((name, want, counters))
    shared = {}
    for _, _, c in parsed:
        shared[c] = shared.get(c, 0) + 1
    out = []
    for name, want, c in parsed:
        if not c:
            note = "no counter: " + ("answered as a valid segment" if want else
                                     "the kernel's AF_PACKET reassembly (PACKET_FANOUT_FLAG_"
                                     "DEFRAG) holds the fragment; sluice never sees it")
        elif shared[c] > 1:
            note = f"shared with {shared[c] - 1} other row(s)"
        else:
            note = "its own"
        out.append((f"`{name}`", want.replace("*", " x ") if want else "none",
                    ", ".join(c) or "–", note))
    t = render.table(["row", "answer", "counters asserted (exact deltas)", "counter"], out)
    return (t + f"\n{len(parsed)} rows, from `{src}` (the e2e test `e2e-bad-input` runs "
            "them); no other `Drop*` counter may move in a row.\n")


def gen_run_seconds(src):
    """How long the committed run took, phase by phase (machine.txt, phases.txt)."""
    d = os.path.join(ROOT, src)
    m = render.keyvals(render.read(os.path.join(d, "machine.txt")))
    phases = [l.split() for l in (render.read(os.path.join(d, "phases.txt")) or "").splitlines()]
    need(m.get("seconds"), f"{src}/machine.txt seconds")
    return (f"The committed example, a {m.get('mode', '?')} run, took {m['seconds']} s ("
            + ", ".join(f"{p[0]} {p[2]} s" for p in phases if len(p) >= 3) +
            f"), plus the build: {run_info(src)}.\n")


GENERATORS = {
    "run-seconds": gen_run_seconds,
    "badinput-rows": gen_badinput,
    "syn-bench": gen_syn_bench,
    "syn-cycles": gen_syn_cycles,
    "flood-table": gen_flood_table,
    "flood-summary": gen_flood_summary,
    "flow-bench": gen_flow_bench,
    "cps-nginx": gen_cps_nginx,
    "include": gen_include,
}


def generate(name, src):
    if name not in GENERATORS:
        raise KeyError(f"unknown figures block '{name}' (known: {', '.join(GENERATORS)})")
    try:
        return GENERATORS[name](src)
    except Missing as e:
        return f"_Not in the committed run: {e} is missing, so this figure is left out._\n"


def rewrite(text):
    return BLOCK.sub(lambda m: m.group(1) + generate(m.group("name"), m.group("src")) +
                     m.group(5), text)


def md_files(args):
    out = []
    for a in args or DEFAULT_FILES:
        p = os.path.join(ROOT, a)
        if os.path.isdir(p):
            out += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".md"))
        else:
            out.append(p)
    return out


def main(argv):
    check = "--check" in argv
    files = md_files([a for a in argv if a != "--check"])
    stale = []
    blocks = 0
    for path in files:
        with open(path) as f:
            text = f.read()
        blocks += len(BLOCK.findall(text))
        new = rewrite(text)
        if new == text:
            continue
        if check:
            stale.append(os.path.relpath(path, ROOT))
            sys.stdout.writelines(difflib.unified_diff(
                text.splitlines(True), new.splitlines(True), stale[-1] + " (committed)",
                stale[-1] + " (from the raw output)"))
        else:
            with open(path, "w") as f:
                f.write(new)
            print("rewrote", os.path.relpath(path, ROOT))
    if stale:
        print("figures.py: these files' figure blocks differ from their committed raw output "
              "(run bench/report/figures.py and commit the result): " + ", ".join(stale))
        return 1
    print(f"figures.py: {blocks} block(s) in {len(files)} file(s) "
          f"{'match their sources' if check else 'written'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
