#!/usr/bin/python3
"""Turns one run of bench/report/run.sh into report.md and PNG plots in the same folder.

  render.py RESULTS_DIR

Reads only what that run wrote (machine.txt, phases.txt, micro/*.json, kernel_syn.json,
wire/*, flood.log, mem_sluice.json, kernel_mem.json): every figure in the report comes from
that run. A missing input makes its section say "not measured" and why, never fails the
report. Plots use matplotlib (Debian's python3-matplotlib) without a display.
"""
import glob
import json
import os
import re
import sys

GOAL_CONN_RATIO = 25.0  # issue 9: sluice at least 25x fewer cycles per connection


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def load_json(path):
    text = read(path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def keyvals(text):
    out = {}
    for line in (text or "").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def num(x, fmt="{:,.0f}"):
    if x is None:
        return "–"
    return fmt.format(x)


def ratio(a, b, fmt="{:.1f}x"):
    if a is None or b is None or b == 0:
        return "–"
    return fmt.format(a / b)


def table(header, rows):
    # Right-align the columns that hold figures, left-align text.
    def figure(c):
        return c in ("", "–", "not run yet") or re.match(r"^[-–+]?[\d.,]+( ?[a-zA-Z%/]+)?", str(c)) is not None

    right = [i > 0 and all(figure(r[i]) for r in rows if i < len(r)) for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(lines) + "\n"


# --- parsers ------------------------------------------------------------------------------

def to_ms(value, unit):
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}[unit]


def parse_wrk(text):
    if not text:
        return None
    r = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not m:
        return None
    r["rate"] = float(m.group(1))
    for p in ("50", "99"):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
        r[f"p{p}_ms"] = to_ms(*m.groups()) if m else None
    m = re.search(r"(\d+) requests in", text)
    r["requests"] = int(m.group(1)) if m else None
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors += sum(int(g) for g in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        errors += int(m.group(1))
    r["errors"] = errors
    return r


def parse_ab(text):
    if not text:
        return None
    m = re.search(r"Requests per second:\s+([\d.]+)", text)
    if not m:
        return None
    r = {"rate": float(m.group(1))}
    for p in ("50", "99"):
        m = re.search(rf"^\s+{p}%\s+(\d+)", text, re.M)
        r[f"p{p}_ms"] = float(m.group(1)) if m else None
    m = re.search(r"Complete requests:\s+(\d+)", text)
    r["requests"] = int(m.group(1)) if m else None
    errors = 0
    for pat in (r"Failed requests:\s+(\d+)", r"Non-2xx responses:\s+(\d+)"):
        m = re.search(pat, text)
        if m:
            errors += int(m.group(1))
    r["errors"] = errors
    m = re.search(r"Connect:\s+(\d+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+(\d+)", text)
    r["connect_median_ms"] = float(m.group(4)) if m else None
    r["connect_max_ms"] = float(m.group(5)) if m else None
    return r


def parse_flood(text):
    sides = []
    for line in (text or "").splitlines():
        if line.startswith("flood-result "):
            kv = dict(t.split("=", 1) for t in line.split()[1:] if "=" in t)
            side = {"server": kv.pop("server")}
            side.update({k: float(v) for k, v in kv.items()})
            sides.append(side)
    return sides


def micro_results(d):
    """{program: [benchmark dicts]} from micro/*.json."""
    out = {}
    for path in sorted(glob.glob(os.path.join(d, "micro", "*.json"))):
        data = load_json(path)
        if data and data.get("benchmarks"):
            out[os.path.basename(path)[:-5]] = [b for b in data["benchmarks"]
                                                if b.get("run_type", "iteration") == "iteration"]
    return out


def bench(micro, program, prefix):
    for b in micro.get(program, []):
        if b["name"].startswith(prefix) and "error_occurred" not in b:
            return b
    return None


# --- plots --------------------------------------------------------------------------------

def plotter():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        return None


SLUICE, KERNEL = "#1f77b4", "#d62728"


def bar_plot(plt, path, title, ylabel, labels, values, colors, log=False, note=None):
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    vals = [v if v is not None else 0 for v in values]
    bars = ax.bar(labels, vals, color=colors)
    for b, v in zip(bars, values):
        ax.annotate("n/a" if v is None else f"{v:,.0f}" if v >= 100 else f"{v:.2f}",
                    (b.get_x() + b.get_width() / 2, b.get_height()), ha="center",
                    va="bottom", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.tick_params(axis="x", labelsize=8)
    if note:
        fig.text(0.01, 0.01, note, fontsize=7, color="#555")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def grouped_plot(plt, path, title, ylabel, groups, series, log=False):
    """series: [(name, color, [value per group])]."""
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    width = 0.8 / max(len(series), 1)
    for i, (name, color, vals) in enumerate(series):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        bars = ax.bar(xs, [v or 0 for v in vals], width, label=name, color=color)
        for b, v in zip(bars, vals):
            ax.annotate("n/a" if v is None else f"{v:,.0f}" if v >= 100 else f"{v:.2f}",
                        (b.get_x() + b.get_width() / 2, b.get_height()), ha="center",
                        va="bottom", fontsize=7)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# --- the report ---------------------------------------------------------------------------

def render(d):
    machine = keyvals(read(os.path.join(d, "machine.txt")))
    phases = {}
    for line in (read(os.path.join(d, "phases.txt")) or "").splitlines():
        p = line.split()
        if len(p) >= 3:
            phases[p[0]] = (p[1], p[2])
    micro = micro_results(d)
    ksyn = load_json(os.path.join(d, "kernel_syn.json"))
    costs = {k: float(v) for k, v in keyvals(read(os.path.join(d, "wire", "costs.txt"))).items()
             if re.fullmatch(r"-?\d+(\.\d*)?(e[-+]?\d+)?", v)}
    flood = parse_flood(read(os.path.join(d, "flood.log")))
    msl = load_json(os.path.join(d, "mem_sluice.json"))
    kmem = load_json(os.path.join(d, "kernel_mem.json"))
    plt = plotter()
    pngs = []
    missing_figures = []  # figures a benchmark ran for but whose raw output lacks a value

    def missing(phase):
        st = phases.get(phase)
        why = f"phase `{phase}` {st[0]}" if st else f"phase `{phase}` did not run"
        return f"_Not measured in this run ({why}; see `{phase}.log`)._\n"

    ghz = None
    m = re.search(r"TSC:\s+([\d.]+)", read(os.path.join(d, "micro", "bench_syn.txt")) or "")
    if m:
        ghz = float(m.group(1))
    elif ksyn:
        ghz = ksyn.get("tsc_ghz")

    md = []
    md.append("# sluice beside the Linux kernel\n")
    md.append(f"One run of `bench/report/run.sh{' --quick' if machine.get('mode') == 'quick' else ''}`"
              f" on {machine.get('date', '?')} ({machine.get('seconds', '?')} s). Every figure "
              "below comes from this run; the raw outputs are beside this file.\n")

    # Machine
    md.append("## Machine and settings\n")
    rows = [(k, machine.get(k, "?")) for k in
            ("cpu_model", "cores", "memory_gib", "kernel", "os", "dpdk", "compiler", "buildtype",
             "commit", "pmd_wire", "wire_sluice_started", "wire_veth_offloads", "pmd_flood",
             "pmd_memory", "wrk", "ab", "nginx", "loadavg_start")
            if k in machine or k in ("cpu_model", "dpdk", "commit", "buildtype")]
    rows += [(k, v) for k, v in machine.items() if k.startswith("loadavg_") and
             k != "loadavg_start"]
    if ghz:
        rows.insert(2, ("tsc_ghz", f"{ghz:.3f}"))
    md.append(table(["", "value"], rows))
    md.append(f"\nSettings: {machine.get('mode', '?')} mode; wrk {machine.get('wire_seconds', '?')} s "
              f"and ab {machine.get('ab_requests', '?')} requests at {machine.get('concurrency', '?')}"
              f" connections; SYN floods {machine.get('syn_seconds', '?')} s (kernel cost) and "
              f"{machine.get('flood_seconds', '?')} s per server (under a flood); memory at "
              f"{machine.get('memory_connections', '?')} connections. Load average is the whole "
              "machine's (other work shares it): figures from a shared VM are noisy, compare the "
              "columns of one run.\n")

    summary = []

    # 1. Stack cost per connection
    md.append("## 1. Stack cost: one short connection, one core\n")
    s1 = bench(micro, "bench_conn", "Sluice/20000/1/")
    s64 = bench(micro, "bench_conn", "Sluice/20000/64/")
    k = bench(micro, "bench_conn", "Kernel/")
    if s1 and k:
        kc = k["cycles_per_conn"]
        md.append("`bench/conn/bench_conn`: handshake, 64 bytes each way, client closes first. "
                  "sluice: two stacks in memory (net_ring) polled by one thread; the kernel: "
                  "client and server sockets on loopback in one thread (no context switch: its "
                  "best case). Cycles are the thread's CPU time x TSC per connection.\n")
        rows = []
        for label, b in (("sluice, 1 open at once", s1), ("sluice, 64 open at once", s64),
                         ("kernel (loopback)", k)):
            if b:
                rows.append((label, num(b["cycles_per_conn"]), num(b["conn_per_cpu_s"]),
                             num(b["cycles_per_conn_wall"]),
                             "1.0x" if b is k else ratio(kc, b["cycles_per_conn"])))
        md.append(table(["", "cycles/conn (CPU)", "conn per CPU-second", "cycles/conn (wall)",
                         "kernel / this"], rows))
        best = max(kc / b["cycles_per_conn"] for b in (s1, s64) if b)
        verdict = "met" if best >= GOAL_CONN_RATIO else "not met"
        md.append(f"\nGoal of issue 9: at least {GOAL_CONN_RATIO:.0f}x fewer cycles per "
                  f"connection than the kernel. Measured: {best:.1f}x: **{verdict}**. The sluice "
                  "figure includes the in-memory link and the test client (an upper bound on "
                  "sluice's own cost).\n")
        summary.append(("cycles per short connection (one core)", num(s1["cycles_per_conn"]),
                        num(kc), "kernel / sluice " + ratio(kc, s1["cycles_per_conn"])))
        if plt:
            bar_plot(plt, os.path.join(d, "conn.png"), "Cycles per short connection (CPU time)",
                     "cycles", [r[0] for r in rows],
                     [b["cycles_per_conn"] for b in (s1, s64, k) if b],
                     [SLUICE] * (len(rows) - 1) + [KERNEL])
            md.append("\n![cycles per connection](conn.png)\n")
    else:
        md.append(missing("micro"))

    # 2. SYN absorption
    md.append("## 2. SYN absorption, one core\n")
    cookie = bench(micro, "bench_syn", "BM_CookieSynAck")
    worker = bench(micro, "bench_syn", "BM_WorkerSynToSynAck")
    check = bench(micro, "bench_syn", "BM_CookieCheckAck")
    def cpu_cycles(b, per_iter=1.0):
        """CPU time per operation in TSC cycles (bench_syn's cycles/op is wall time)."""
        if not b or not ghz or not per_iter:
            return None
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        return b["cpu_time"] * scale * ghz / per_iter

    # SYNs per iteration from the benchmark's own counter; without it the figure is missing
    # (a constant here would be a figure the run did not measure).
    worker_per_iter = (worker["SynAcksSent"] / worker["iterations"]
                       if worker and worker.get("SynAcksSent") else None)
    if worker and not worker_per_iter:
        missing_figures.append("cycles per SYN through the worker: bench_syn's "
                               "BM_WorkerSynToSynAck has no SynAcksSent counter")
    if cookie or worker or ksyn:
        rows = []
        if cookie:
            rows.append(("sluice: cookie + SYN-ACK segment (make_syn_ack)",
                         num(cpu_cycles(cookie)), num(cookie["cycles/op"]), "bench_syn, in memory"))
        if check:
            rows.append(("sluice: validating the final ACK's cookie", num(cpu_cycles(check)),
                         num(check["cycles/op"]), "bench_syn, in memory"))
        if worker:
            rows.append(("sluice: whole worker, SYN frame in to SYN-ACK frame out",
                         num(cpu_cycles(worker, worker_per_iter)) if worker_per_iter
                         else "missing (no SynAcksSent counter)",
                         num(worker.get("cycles/op")),
                         "bench_syn, net_ring port, bursts of 32"))
        if ksyn:
            rows.append(("kernel: a SYN beyond a frame dropped on arrival",
                         num(ksyn["cycles_per_syn"]), "", "veth, syncookies=2, differential"))
            rows.append(("kernel: a SYN in all (flooder's send included)",
                         num(ksyn["cycles_per_syn_whole"]), "", "veth"))
            rows.append(("kernel: a frame dropped on arrival (the baseline)",
                         num(ksyn["cycles_per_dropped_frame"]), "", "veth, wrong destination MAC"))
        md.append(table(["", "cycles per SYN (CPU time)", "(TSC, wall)", "how"], rows))
        md.append("\nsluice's figures are the benchmark thread's CPU time per SYN in TSC cycles; "
                  "bench_syn's own cycles/op (TSC over the loop, wall time) is beside them: "
                  "where it is higher, the thread was preempted on this shared machine.\n")
        if ksyn:
            s, b = ksyn["syn"], ksyn["drop"]
            md.append(
                f"\nHow the kernel was measured: {ksyn['method']}. syn run: {s['sent']:,} SYNs "
                f"in {s['seconds']:.1f} s ({s['pps']:,}/s), {ksyn['answered_fraction'] * 100:.1f}%"
                f" answered with a cookie (TcpExtSyncookiesSent), flooder CPU "
                f"{s['flooder_cpu_s']:.2f} s + ksoftirqd {s['ksoftirqd_cpu_s']:.2f} s; drop run: "
                f"{b['sent']:,} frames ({b['pps']:,}/s), flooder CPU {b['flooder_cpu_s']:.2f} s "
                f"+ ksoftirqd {b['ksoftirqd_cpu_s']:.2f} s. The kernel's figure also carries the "
                "SYN-ACK's delivery across the veth to the client namespace (dropped there); "
                "sluice's worker figure ends when the SYN-ACK is on its TX ring. This kernel has "
                "no separate IRQ time accounting, so softirq work done in the flooder's "
                "context is in the flooder's CPU time (scheduler runtime, nanoseconds); "
                "ksoftirqd's is read in clock ticks (10 ms).\n")
            wc = cpu_cycles(worker, worker_per_iter)
            if wc:
                summary.append(("cycles per SYN answered with a cookie (CPU time)", num(wc),
                                num(ksyn["cycles_per_syn"]),
                                "kernel / sluice " + ratio(ksyn["cycles_per_syn"], wc)))
        else:
            md.append("\n" + missing("syn"))
        if plt:
            labels, vals, cols = [], [], []
            for label, v, c in (("sluice cookie", cpu_cycles(cookie), SLUICE),
                                ("sluice worker", cpu_cycles(worker, worker_per_iter), SLUICE),
                                ("kernel SYN\n(beyond drop)", ksyn and ksyn["cycles_per_syn"], KERNEL),
                                ("kernel SYN\n(in all)", ksyn and ksyn["cycles_per_syn_whole"], KERNEL)):
                labels.append(label)
                vals.append(v)
                cols.append(c)
            bar_plot(plt, os.path.join(d, "syn.png"), "Cycles per SYN (CPU time, one core)", "cycles",
                     labels, vals, cols)
            md.append("\n![cycles per SYN](syn.png)\n")
    else:
        md.append(missing("micro") + missing("syn"))

    # 3. Over the wire
    md.append("## 3. Over the wire: kernel clients against sluice and nginx (veth)\n")
    w = {}
    for tool, parse in (("wrk", parse_wrk), ("ab", parse_ab)):
        for server in ("sluice", "nginx"):
            w[(tool, server)] = parse(read(os.path.join(d, "wire", f"{tool}-{server}.txt")))
    if any(w.values()):
        md.append("Each request is a new connection (wrk with `Connection: close`, ab with "
                  "HTTP/1.0), from the client namespace on core 0, to 198.18.0.2:80 on the same "
                  "veth end: sluice-listen (net_af_packet, one worker on core 1; "
                  "`bench/report/listen-report.toml`) and then nginx (one worker on core 1; "
                  "`bench/report/nginx.conf`), both answering an 18-byte body. wrk's latency "
                  "is from the request's write to the response (the connect is not in it); "
                  "ab's is the whole request, connect included.\n")
        rows = []
        for tool in ("wrk", "ab"):
            for server in ("sluice", "nginx"):
                r = w[(tool, server)]
                label = f"{tool} → {'sluice-listen' if server == 'sluice' else 'nginx (kernel)'}"
                if r:
                    rows.append((label, num(r["rate"]), num(r["p50_ms"], "{:.2f}"),
                                 num(r["p99_ms"], "{:.2f}"), num(r.get("requests")),
                                 num(r["errors"]),
                                 num(r.get("connect_median_ms"), "{:.0f}")))
                else:
                    rows.append((label, "–", "–", "–", "–", "–", "–"))
        cps = load_json(os.path.join(d, "wire", "cps-nginx.json"))
        # sluice-cps (app/cps, its --json report) beside wrk against the same nginx. Its
        # latencies are whole transactions (connect to the response's end), as wrk's are.
        if cps:
            tr = (cps.get("latency_us") or {}).get("transaction") or {}
            ms = lambda v: None if v is None else v / 1000.0
            rows.append(("sluice-cps → nginx (kernel)", num(cps.get("cps")),
                         num(ms(tr.get("p50")), "{:.2f}"), num(ms(tr.get("p99")), "{:.2f}"),
                         num(cps.get("completed")), num(cps.get("errors_total")), "–"))
        else:
            rows.append(("sluice-cps → nginx (kernel)", "not run", "", "", "", "", ""))
        md.append(table(["client → server", "connections/s", "p50 ms", "p99 ms", "requests",
                         "errors", "ab connect median ms"], rows))
        c_sl, c_ng = costs.get("sluice_connections"), costs.get("nginx_connections")
        if c_sl and ghz:
            busy = costs["sluice_busy_cycles"] / c_sl
            cpu = costs["sluice_cpu_seconds"] * ghz * 1e9 / c_sl
            idle = costs.get("sluice_idle_cycles", 0)
            share = costs["sluice_busy_cycles"] / max(costs["sluice_busy_cycles"] + idle, 1)
            busy_cpu = cpu * share  # the process's CPU time in busy loop turns
            ng = (costs["nginx_worker_cpu_seconds"] * ghz * 1e9 / c_ng) if c_ng else None
            md.append(
                f"\nWhat the af_packet path costs sluice: {busy:,.0f} busy worker cycles per "
                f"connection (`BusyCycles`: loop turns that received frames, the PMD's "
                f"recvfrom/sendto system calls included; {share * 100:.0f}% of the polling time "
                f"was busy), and {cpu:,.0f} cycles of the sluice process's CPU time per "
                f"connection ({int(c_sl):,} connections: wrk and ab), {busy_cpu:,.0f} of them in "
                "busy turns. The polling worker spins, so its CPU time includes idle polling; "
                "BusyCycles is TSC time, so it also counts time the worker was preempted on this "
                "shared machine (compare it with the CPU time). nginx's worker used "
                f"{num(ng)} cycles of CPU per connection ({num(c_ng)} connections); the "
                "kernel's TCP work for nginx runs partly in softirq, charged to whichever "
                "task is on the CPU (often the client), so that figure is a lower bound on the "
                "kernel's cost. Both servers' figures include the af_packet or veth copies, "
                "not a real NIC's.\n")
            md.append(f"\nsluice counters over the run: RetransSegs "
                      f"{num(costs.get('sluice_RetransSegs'))}, TcpOutRsts "
                      f"{num(costs.get('sluice_TcpOutRsts'))}, ListenDrops "
                      f"{num(costs.get('sluice_ListenDrops'))}, TcpConnPoolExhausted "
                      f"{num(costs.get('sluice_TcpConnPoolExhausted'))}.\n")
        ws, wn = w[("wrk", "sluice")], w[("wrk", "nginx")]
        if ws and wn:
            summary.append(("connections/s over veth (wrk, Connection: close)", num(ws["rate"]),
                            num(wn["rate"]), "sluice / kernel " + ratio(ws["rate"], wn["rate"],
                                                                         "{:.2f}x")))
        if plt:
            groups = ["wrk conn/s", "ab conn/s"]
            series = [("sluice-listen", SLUICE, [w[(t, "sluice")] and w[(t, "sluice")]["rate"]
                                                  for t in ("wrk", "ab")]),
                      ("nginx (kernel)", KERNEL, [w[(t, "nginx")] and w[(t, "nginx")]["rate"]
                                                  for t in ("wrk", "ab")])]
            grouped_plot(plt, os.path.join(d, "wire_rate.png"),
                         "New connections per second over veth", "connections/s", groups, series)
            groups = ["wrk p50", "wrk p99", "ab p50", "ab p99"]
            series = [(name, col, [w[(t, srv)] and w[(t, srv)][p] for t in ("wrk", "ab")
                                   for p in ("p50_ms", "p99_ms")])
                      for name, col, srv in (("sluice-listen", SLUICE, "sluice"),
                                             ("nginx (kernel)", KERNEL, "nginx"))]
            grouped_plot(plt, os.path.join(d, "wire_latency.png"), "Request latency (ms)", "ms",
                         groups, series)
            md.append("\n![connections per second](wire_rate.png)\n\n"
                      "![latency](wire_latency.png)\n")
    else:
        md.append(missing("wire"))

    # 4. Under a flood
    md.append("## 4. Legitimate clients under a SYN flood\n")
    if flood:
        md.append("`test/e2e/flood_test.cpp` on the netns bed: spoofed SYNs from 198.18.0.0/15 "
                  "(one core, as fast as it sends) at 198.18.0.2:80 while a kernel client opens "
                  "50 HTTP connections a second; sluice-listen (net_af_packet, syncookies = auto) "
                  "then the kernel (python3 http.server) with net.ipv4.tcp_syncookies 1 and 0. "
                  "The flood rate is what the flooder managed against each server. Connect "
                  "times are over the connections that completed (a SYN the kernel dropped is "
                  "resent after 1, 3, 7 s); the client gives up after 8 s.\n")
        rows = []
        for s in flood:
            att = s.get("attempts", 0)
            rows.append((s["server"], num(s.get("pps")), f"{s.get('ok', 0):,.0f}/{att:,.0f} "
                         f"({100 * s.get('ok', 0) / att if att else 0:.2f}%)",
                         num(s.get("connect_p50_ms"), "{:.2f}"),
                         num(s.get("connect_p99_ms"), "{:.2f}"),
                         num(s.get("connect_max_ms"), "{:.1f}"),
                         num(s.get("calm_p50_ms"), "{:.2f}"), num(s.get("calm_p99_ms"), "{:.2f}")))
        md.append(table(["server", "flood SYN/s", "legitimate connections ok", "connect p50 ms",
                         "p99 ms", "max ms", "no flood p50", "no flood p99"], rows))
        extra = [l for l in (read(os.path.join(d, "flood.log")) or "").splitlines()
                 if re.match(r"^(sluice|kernel-syncookies-\d): ", l)]
        if extra:
            md.append("\nServer-side counters during the flood:\n\n" +
                      "\n".join(f"- {l}" for l in extra) + "\n")
        sl = next((s for s in flood if s["server"] == "sluice"), None)
        k1 = next((s for s in flood if s["server"] == "kernel-syncookies-1"), None)
        if sl and k1:
            pct = lambda s: 100 * s.get("ok", 0) / s["attempts"] if s.get("attempts") else 0
            summary.append(("legitimate success under a SYN flood", f"{pct(sl):.1f}%",
                            f"{pct(k1):.1f}% (syncookies=1)", "–"))
            summary.append(("connect p99 under that flood, ms",
                            num(sl.get("connect_p99_ms"), "{:,.1f}"),
                            num(k1.get("connect_p99_ms"), "{:,.1f}") + " (syncookies=1)", "–"))
        if plt:
            names = [s["server"].replace("kernel-syncookies-", "kernel\nsyncookies=") for s in flood]
            fig_vals = [100 * s.get("ok", 0) / s["attempts"] if s.get("attempts") else 0 for s in flood]
            bar_plot(plt, os.path.join(d, "flood_success.png"),
                     "Legitimate connections that completed during the flood", "%", names,
                     fig_vals, [SLUICE if s["server"] == "sluice" else KERNEL for s in flood])
            series = [("p50", "#7f7f7f", [s.get("connect_p50_ms") for s in flood]),
                      ("p99", "#2ca02c", [s.get("connect_p99_ms") for s in flood])]
            grouped_plot(plt, os.path.join(d, "flood_latency.png"),
                         "Connect time under the flood (ms, log scale)", "ms", names, series,
                         log=True)
            md.append("\n![success under flood](flood_success.png)\n\n"
                      "![connect time under flood](flood_latency.png)\n")
    else:
        md.append(missing("flood"))

    # 5. Memory
    md.append("## 5. Memory per connection\n")
    if msl or kmem:
        rows = []
        if msl:
            # Measured by mem_sluice (buffer sizes doubled); an older run without it: missing.
            buf = msl.get("per_connection_buffers")
            rows.append(("sluice, ESTABLISHED (reserved at start)", num(msl["per_connection_bytes"]),
                         f"slot, TCB, timers, flow-table entry {msl['per_connection_without_buffers']:,.0f}"
                         " + send/receive buffers " +
                         (f"{buf:,.0f}" if buf is not None else "(not measured in this run)")))
            rows.append(("sluice, ESTABLISHED without its buffers",
                         num(msl["per_connection_without_buffers"]), "what the slot itself holds"))
            rows.append(("sluice, TIME-WAIT entry", num(msl["per_time_wait_bytes"]),
                         f"compact entry {msl['per_time_wait_heap']:,.0f} + flow-table entry "
                         f"{msl['per_time_wait_dpdk_heap']:,.0f}"))
        if kmem:
            est = kmem["established"]["caches"]
            named = kmem["established"].get("named_caches", [])
            top = ", ".join(f"{n} {v['bytes_per'] / 2:,.0f}" for n, v in est.items()
                            if n in named)
            rows.append(("kernel, ESTABLISHED end (slab)", num(kmem["per_end"]),
                         f"no data queued: {top}; whole-slab growth "
                         f"{kmem['per_end_whole_slab']:,.0f} (other work included)"))
            tw = kmem["time_wait"]["caches"]
            tw_obj = tw.get("tw_sock_TCP", {}).get("object_size")
            rows.append(("kernel, TIME-WAIT entry (slab)", num(kmem["per_time_wait"]),
                         f"tw_sock_TCP (object size {num(tw_obj)}; SLUB's active-object counts "
                         "are approximate); whole-slab growth "
                         f"{kmem['per_time_wait_whole_slab']:,.0f}"
                         " (other work included)"))
        md.append(table(["", "bytes", "of which"], rows))
        md.append(
            f"\nsluice: what a worker's TCP host allocates with room for "
            f"{num(msl and msl['n'])} connections (or TIME-WAIT entries) less what it allocates "
            "with room for one (`bench/report/mem_sluice.cpp`; glibc heap + DPDK heap), with "
            f"{num(msl and msl['send_buffer'])}-byte send and receive buffers. sluice reserves it "
            "when it starts, whether or not connections come; pages become resident only when "
            f"used (resident at start: {num(msl and msl['per_connection_rss_at_start'])}"
            " bytes per connection). The buffers' share is what doubling their configured size "
            "added per connection: buffers are mbufs from the worker's TCP data pool, taken "
            "when data is queued, so what is not reserved per connection is shared by all. "
            "The kernel allocates on demand: its figure is an idle "
            "connection's socket, file, dentry and inode (`bench/report/kernel_mem.py`, "
            f"{num(kmem and kmem['connections'])} loopback connections, slab growth halved "
            "for one end); data in flight adds sk_buffs and pages, up to tcp_rmem/tcp_wmem "
            "per socket.\n")
        if plt:
            labels, vals, cols = [], [], []
            if msl:
                labels += ["sluice estab.\n(reserved)", "sluice estab.\nw/o buffers", "sluice\nTIME-WAIT"]
                vals += [msl["per_connection_bytes"], msl["per_connection_without_buffers"],
                         msl["per_time_wait_bytes"]]
                cols += [SLUICE] * 3
            if kmem:
                labels += ["kernel estab.\n(idle)", "kernel\nTIME-WAIT"]
                vals += [kmem["per_end"], kmem["per_time_wait"]]
                cols += [KERNEL] * 2
            bar_plot(plt, os.path.join(d, "memory.png"), "Bytes per connection (log scale)",
                     "bytes", labels, vals, cols, log=True)
            md.append("\n![memory per connection](memory.png)\n")
        if msl and kmem:
            summary.append(("bytes per TIME-WAIT entry", num(msl["per_time_wait_bytes"]),
                            num(kmem["per_time_wait"]),
                            "kernel / sluice " +
                            ratio(kmem["per_time_wait"], msl["per_time_wait_bytes"], "{:.2f}x")))
            summary.append(("bytes per ESTABLISHED connection, without buffers",
                            num(msl["per_connection_without_buffers"]), num(kmem["per_end"]),
                            "kernel / sluice " +
                            ratio(kmem["per_end"], msl["per_connection_without_buffers"])))
    else:
        md.append(missing("memory"))

    # 6. Micro-benchmarks
    md.append("## 6. Micro-benchmarks (Google Benchmark, this run)\n")
    if micro:
        for prog, benches in micro.items():
            md.append(f"\n**{prog}** (`{prog}.json`)\n\n")
            ckeys = []
            for b in benches:
                for key, v in b.items():
                    if isinstance(v, (int, float)) and key not in (
                            "family_index", "per_family_instance_index", "repetitions",
                            "repetition_index", "threads", "iterations", "real_time",
                            "cpu_time") and key not in ckeys:
                        ckeys.append(key)
            rows = []
            for b in benches:
                u = b.get("time_unit", "ns")
                if "error_occurred" in b:
                    rows.append([b["name"], "error: " + b.get("error_message", "")] +
                                [""] * (1 + len(ckeys)))
                    continue
                rows.append([b["name"], f"{b['real_time']:,.1f} {u}", f"{b['cpu_time']:,.1f} {u}"] +
                            [num(b.get(c), "{:,.3g}") if isinstance(b.get(c), float) and b.get(c) < 100
                             else num(b.get(c)) for c in ckeys])
            md.append(table(["benchmark", "time", "CPU"] + ckeys, rows))
    else:
        md.append(missing("micro"))

    # Summary at the top
    head = ["## Summary\n"]
    if summary:
        head.append(table(["", "sluice", "Linux kernel", "ratio"], summary))
        head.append("\nCosts (cycles, bytes): kernel / sluice above 1 means sluice needs less. "
                    "Rates: sluice / kernel above 1 means sluice is faster. sluice's memory "
                    "per ESTABLISHED connection leaves out the send and receive buffers, "
                    "mbufs taken from the worker's pool when data is queued (section 5); the "
                    "kernel's is an idle socket.\n")
    else:
        head.append("_No comparison completed in this run._\n")
    head.append("\nPhases: " + ", ".join(f"{p} {s} ({t} s)" for p, (s, t) in phases.items()) +
                ".\n")
    if missing_figures:
        head.append("\n**Figures missing from this run:** " + "; ".join(missing_figures) +
                    ".\n")
    md = md[:2] + head + md[2:]
    with open(os.path.join(d, "report.md"), "w") as f:
        f.write("\n".join(md))
    return os.path.join(d, "report.md")


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: render.py RESULTS_DIR")
    print(render(sys.argv[1]))


if __name__ == "__main__":
    main()
