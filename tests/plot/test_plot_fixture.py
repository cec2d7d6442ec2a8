#!/usr/bin/python3
"""scripts/plot.py on small real reports (tests/plot/data/, see make_fixture.py): every
expected PNG is written, is a valid PNG of nonzero size, and report.md embeds each one."""
import os
import struct
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PLOT_PY = os.path.normpath(os.path.join(HERE, "..", "..", "scripts", "plot.py"))
STREAM = os.path.join(HERE, "data", "stream.json")  # 3 strategies x 4K, 64K x 1, 2 conns, veth
RR = os.path.join(HERE, "data", "rr.json")  # --pattern rr: two-copy, zero-copy x 64, 4K

EXPECTED = [
    "throughput_vs_size_veth.png",
    "throughput_vs_size_veth_rr.png",
    "throughput_vs_threads_veth.png",
    "copies_per_byte.png",
    "cpu_seconds_per_gib.png",
    "context_switches.png",
    "latency_veth.png",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    """(width, height) from the IHDR chunk; raises AssertionError when not a PNG."""
    with open(path, "rb") as f:
        head = f.read(33)
        f.seek(-12, os.SEEK_END)
        tail = f.read(12)
    assert head[:8] == PNG_SIGNATURE, f"{path}: no PNG signature"
    assert head[12:16] == b"IHDR", f"{path}: first chunk is not IHDR"
    assert tail[4:8] == b"IEND", f"{path}: no IEND chunk at the end (truncated?)"
    return struct.unpack(">II", head[16:24])


class FixtureTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = os.path.join(cls.tmp.name, "plots")
        cls.proc = subprocess.run(["/usr/bin/python3", PLOT_PY, STREAM, RR, "-o", cls.out],
                                  capture_output=True, text=True, timeout=300)
        md = os.path.join(cls.out, "report.md")
        cls.md = open(md).read() if os.path.exists(md) else ""

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_exit_status(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        self.assertIn("report.md", self.proc.stdout)

    def test_every_png_is_written_and_valid(self):
        for name in EXPECTED:
            path = os.path.join(self.out, name)
            with self.subTest(png=name):
                self.assertTrue(os.path.isfile(path), f"{name} missing")
                self.assertGreater(os.path.getsize(path), 0)
                w, h = png_size(path)
                self.assertGreater(w, 100)
                self.assertGreater(h, 100)

    def test_no_unexpected_files(self):
        self.assertEqual(sorted(os.listdir(self.out)), sorted(EXPECTED + ["report.md"]))

    def test_report_md_embeds_every_png(self):
        for name in EXPECTED:
            with self.subTest(png=name):
                self.assertRegex(self.md, r"!\[[^\]]+\]\(" + name.replace(".", r"\.") + r"\)")

    def test_report_md_contents(self):
        md = self.md
        self.assertIn("Linux 6.18", md)  # host
        self.assertIn("copyscope run", md)  # command line
        self.assertIn("--pattern rr", md)
        self.assertIn("**Complete:** yes", md)
        self.assertIn("## Crossovers", md)
        self.assertIn("one-copy beats two-copy", md)
        self.assertIn("zero-copy beats two-copy", md)
        self.assertRegex(md, r"\| veth \| stream \| 1 \| (from|never|at every)")
        self.assertRegex(md, r"\| veth \| stream \| 2 \| (from|never|at every)")
        self.assertIn("## Zero-copy verdicts", md)
        self.assertIn("MSG_ZEROCOPY not effective on veth", md)
        self.assertIn("## Cells", md)
        self.assertIn("| zero-copy | veth | stream | 64 KiB | 2 |", md)
        self.assertIn("## Round-trip latency", md)
        # no PMU on the development VM: cycles per byte is a note, not an empty plot
        self.assertIn("CPU cycles per byte sent:** not plotted", md)

    def test_single_report_default_outdir(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "stream.json")
            with open(STREAM) as src, open(path, "w") as dst:
                dst.write(src.read())
            p = subprocess.run(["/usr/bin/python3", PLOT_PY, path], capture_output=True,
                               text=True, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            out = os.path.join(d, "stream")
            files = set(os.listdir(out))
            self.assertIn("report.md", files)
            self.assertIn("throughput_vs_threads_veth.png", files)
            self.assertNotIn("latency_veth.png", files)
            self.assertIn("Round-trip latency:** not plotted", open(os.path.join(out, "report.md")).read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
