#!/usr/bin/python3
"""bench/report/figures.py on canned files (unit suite; no root, a second).

1. A block is written from its source, and --check passes on what was written.
2. A figure typed into a block by hand, or a source that changed, fails --check.
3. A source that lacks the raw output says the figure is missing; it does not invent one.
"""
import io
import os
import shutil
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import figures  # noqa: E402

EXAMPLE = os.path.join(HERE, "example")


class Figures(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="sluice-figures-")
        shutil.copytree(EXAMPLE, os.path.join(self.root, "run"))
        self.md = os.path.join(self.root, "doc.md")
        with open(self.md, "w") as f:
            f.write("Intro.\n\n<!-- figures: syn-bench run -->\n<!-- /figures -->\n\n"
                    "<!-- figures: flood-table run -->\nold text\n<!-- /figures -->\nEnd.\n")
        self.saved_root = figures.ROOT
        figures.ROOT = self.root

    def tearDown(self):
        figures.ROOT = self.saved_root
        shutil.rmtree(self.root)

    def main(self, *args):
        out = io.StringIO()
        with redirect_stdout(out):
            rc = figures.main(list(args))
        return rc, out.getvalue()

    def text(self):
        with open(self.md) as f:
            return f.read()

    def test_writes_then_checks(self):
        self.assertEqual(self.main("--check", self.md)[0], 1, "empty blocks are stale")
        self.assertEqual(self.main(self.md)[0], 0)
        text = self.text()
        self.assertIn("| `tcp::make_syn_ack`", text)
        self.assertIn("`micro/bench_syn.json`", text)
        self.assertIn("flood sent, SYN/s", text)
        self.assertNotIn("old text", text)
        self.assertTrue(text.startswith("Intro.\n") and text.endswith("End.\n"))
        self.assertEqual(self.main("--check", self.md)[0], 0)

    def sluice_pps(self):
        with open(os.path.join(self.root, "run", "flood.log")) as f:
            sides = figures.render.parse_flood(f.read())
        return next(s["pps"] for s in sides if s["server"] == "sluice")

    def test_a_typed_in_figure_fails_the_check(self):
        self.main(self.md)
        text = self.text()
        shown = f"| {self.sluice_pps():,.0f} |"
        self.assertIn(shown, text)
        with open(self.md, "w") as f:
            f.write(text.replace(shown, "| 99,999 |"))
        rc, out = self.main("--check", self.md)
        self.assertEqual(rc, 1)
        self.assertIn("99,999", out)

    def test_a_changed_source_fails_the_check(self):
        self.main(self.md)
        log = os.path.join(self.root, "run", "flood.log")
        with open(log) as f:
            text = f.read()
        old = f"server=sluice pps={self.sluice_pps():.0f}"
        self.assertIn(old, text)
        with open(log, "w") as f:
            f.write(text.replace(old, "server=sluice pps=12345"))
        self.assertEqual(self.main("--check", self.md)[0], 1)

    def test_a_missing_source_says_so(self):
        os.remove(os.path.join(self.root, "run", "micro", "bench_syn.json"))
        self.main(self.md)
        self.assertIn("_Not in the committed run: micro/bench_syn.json BM_CookieSynAck is "
                      "missing", self.text())


if __name__ == "__main__":
    unittest.main(verbosity=2)
