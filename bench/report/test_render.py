#!/usr/bin/python3
"""The report renderer on canned inputs (unit suite; no root, no DPDK, a few seconds).

1. The raw outputs of the committed example run (bench/report/example/) render into a
   report whose tables carry the figures of those inputs, with every plot a PNG.
2. A run whose phases all failed still renders, each section saying what was not measured.
3. The wrk, ab and flood parsers on fixed text.
"""
import json
import os
import re
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import render  # noqa: E402

EXAMPLE = os.path.join(HERE, "example")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Example(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-render-")
        for name in os.listdir(EXAMPLE):
            src = os.path.join(EXAMPLE, name)
            if name == "report.md" or name.endswith(".png"):
                continue  # rendered anew
            (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(self.dir, name))

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_renders_the_runs_figures(self):
        report = open(render.render(self.dir)).read()
        for section in ("## Summary", "## Machine and settings", "## 1. Stack cost",
                        "## 2. SYN absorption", "## 3. Over the wire", "## 4. Legitimate",
                        "## 5. Memory", "## 6. Micro-benchmarks"):
            self.assertIn(section, report)
        self.assertNotIn("Not measured", report)
        # The stack-cost table carries bench_conn's own figure, formatted.
        conn = json.load(open(os.path.join(self.dir, "micro", "bench_conn.json")))
        kernel = next(b for b in conn["benchmarks"] if b["name"].startswith("Kernel/"))
        self.assertIn(f"{kernel['cycles_per_conn']:,.0f}", report)
        # The memory table carries mem_sluice's TIME-WAIT figure.
        msl = json.load(open(os.path.join(self.dir, "mem_sluice.json")))
        self.assertIn(f"{msl['per_time_wait_bytes']:,.0f}", report)
        # The machine is recorded beside the figures.
        machine = render.keyvals(open(os.path.join(self.dir, "machine.txt")).read())
        self.assertIn(machine["cpu_model"], report)
        self.assertIn(machine["dpdk"], report)
        # Every plot the report shows exists and is a PNG.
        for png in ("conn.png", "syn.png", "wire_rate.png", "wire_latency.png",
                    "flood_success.png", "flood_latency.png", "memory.png"):
            self.assertIn(f"]({png})", report)
            with open(os.path.join(self.dir, png), "rb") as f:
                self.assertEqual(f.read(8), PNG_MAGIC, png)


class MissingCounter(Example):
    """A benchmark whose raw output lacks a counter: the figure is reported missing, not
    computed from a constant (issue 20 item 3: 32 SYNs per iteration was assumed)."""

    def test_worker_cycles_without_syn_acks_sent(self):
        path = os.path.join(self.dir, "micro", "bench_syn.json")
        data = json.load(open(path))
        worker = next(b for b in data["benchmarks"] if b["name"] == "BM_WorkerSynToSynAck")
        del worker["SynAcksSent"]
        json.dump(data, open(path, "w"))
        report = open(render.render(self.dir)).read()
        self.assertIn("missing (no SynAcksSent counter)", report)
        self.assertIn("**Figures missing from this run:** cycles per SYN through the worker",
                      report)
        with open(os.path.join(self.dir, "micro", "bench_syn.txt")) as f:
            ghz = float(re.search(r"TSC:\s+([\d.]+)", f.read()).group(1))
        assumed = worker["cpu_time"] * ghz / 32
        self.assertNotIn(f"| {assumed:,.0f} |", report)
        self.assertNotIn("cycles per SYN answered with a cookie", report)  # summary row


class MeasuredBuffers(Example):
    """The buffers' share per connection is mem_sluice's measurement, never the configured
    sizes subtracted (which printed -64,206 bytes once buffers became a shared pool)."""

    def test_buffers_come_from_the_measurement(self):
        path = os.path.join(self.dir, "mem_sluice.json")
        with open(path) as f:
            msl = json.load(f)
        msl.update(per_connection_bytes=1330.2, per_connection_buffers=0.1,
                   per_connection_without_buffers=1330.1)
        with open(path, "w") as f:
            json.dump(msl, f)
        with open(render.render(self.dir)) as f:
            report = f.read()
        self.assertIn("flow-table entry 1,330 + send/receive buffers 0 |", report)
        self.assertNotIn("65,536", report)


class NothingMeasured(unittest.TestCase):
    def test_every_section_says_why(self):
        d = tempfile.mkdtemp(prefix="sluice-render-")
        try:
            with open(os.path.join(d, "machine.txt"), "w") as f:
                f.write("cpu_model=Test CPU\ndpdk=22.11.0\nmode=quick\n")
            with open(os.path.join(d, "phases.txt"), "w") as f:
                f.write("micro failed(1) 3\nsyn failed(2) 1\nwire failed(124) 900\n"
                        "flood skipped 0\nmemory failed(1) 2\n")
            report = open(render.render(d)).read()
            self.assertIn("No comparison completed", report)
            self.assertIn("phase `wire` failed(124)", report)
            self.assertIn("phase `flood` skipped", report)
            self.assertIn("Test CPU", report)
        finally:
            shutil.rmtree(d)


WRK = """Running 3s test @ http://198.18.0.2/
  Latency Distribution
     50%    7.30ms
     75%   12.37ms
     90%   16.19ms
     99%  1.20s
  6368 requests in 3.01s, 733.81KB read
  Socket errors: connect 2, read 3, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   2117.77
"""

AB = """Complete requests:      1000
Failed requests:        5
Requests per second:    1791.42 [#/sec] (mean)
Connection Times (ms)
              min  mean[+/-sd] median   max
Connect:        0    8   7.5      8      36
Percentage of the requests served within a certain time (ms)
  50%     17
  99%     52
 100%     52 (longest request)
"""


class Parsers(unittest.TestCase):
    def test_wrk(self):
        r = render.parse_wrk(WRK)
        self.assertAlmostEqual(r["rate"], 2117.77)
        self.assertAlmostEqual(r["p50_ms"], 7.30)
        self.assertAlmostEqual(r["p99_ms"], 1200.0)
        self.assertEqual(r["requests"], 6368)
        self.assertEqual(r["errors"], 10)
        self.assertIsNone(render.parse_wrk("wrk: connection refused\n"))

    def test_ab(self):
        r = render.parse_ab(AB)
        self.assertAlmostEqual(r["rate"], 1791.42)
        self.assertEqual((r["p50_ms"], r["p99_ms"]), (17.0, 52.0))
        self.assertEqual((r["requests"], r["errors"]), (1000, 5))
        self.assertEqual(r["connect_median_ms"], 8.0)

    def test_flood_lines(self):
        sides = render.parse_flood(
            "noise\nflood-result server=sluice pps=90000 sent=900000 attempts=500 ok=499 "
            "connect_p50_ms=1.5 connect_p99_ms=20 connect_max_ms=30 calm_p50_ms=0.2 "
            "calm_p99_ms=0.5\nflood-result server=kernel-syncookies-0 pps=1 sent=2 attempts=500"
            " ok=3 connect_p50_ms=0 connect_p99_ms=0 connect_max_ms=0 calm_p50_ms=0 "
            "calm_p99_ms=0\n")
        self.assertEqual([s["server"] for s in sides], ["sluice", "kernel-syncookies-0"])
        self.assertEqual(sides[0]["ok"], 499.0)
        self.assertEqual(sides[1]["attempts"], 500.0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
