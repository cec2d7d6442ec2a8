#!/usr/bin/python3
"""Unit tests of scripts/plot.py's pieces on small hand-made reports: data extraction
(unsupported and null ledgers and counters, one repetition without a CI, incomplete runs),
the crossover answers, report.md and skipping plots that have no data."""
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.normpath(os.path.join(HERE, "..", "..", "scripts"))
PLOT_PY = os.path.join(SCRIPTS, "plot.py")
sys.path.insert(0, SCRIPTS)

from copyscope_report import crossover as cx  # noqa: E402
from copyscope_report import model  # noqa: E402
from copyscope_report.markdown import render  # noqa: E402
from copyscope_report.plots import Plot, Skipped, draw_all  # noqa: E402

UNSUP_CYCLES = {"unsupported": "cycles: ENOENT (No such file or directory): no hardware PMU"}


def make_cell(strategy="two-copy", size=4096, threads=1, mean=1.0, half=0.05, reps=5,
              transport="veth", pattern="stream", ledger="ok", counters="ok", latency=None,
              converged=True):
    cell = {
        "strategy": strategy, "transport": transport, "pattern": pattern,
        "message_size": size, "threads": threads, "repetitions": reps,
        "gbit_per_second": mean, "bytes_sent": 1 << 20, "passed": True, "error": None,
        "throughput": {
            "unit": "Gbit/s", "samples": [mean] * reps, "mean": mean, "stddev": 0.0,
            "ci95_low": mean - half if half is not None else None,
            "ci95_high": mean + half if half is not None else None,
            "ci95_relative": half / mean if half is not None else None,
            "converged": converged, "precision_target": 0.03,
        },
    }
    expected = {"two-copy": 3.0, "zero-copy": 2.0}.get(strategy, 2.0)
    if ledger == "ok":
        user = 1.0 if strategy == "two-copy" else 0.0
        zc = strategy == "zero-copy"
        cell["ledger"] = {
            "app_bytes_sent": 1 << 20, "copies_per_byte": expected,
            "copies_per_byte_parts": {"user": user, "kernel_send": 0.0 if zc else 1.0,
                                      "zerocopy_fallback": 0.0, "deferred": 1.0 if zc else 0.0,
                                      "receive": 1.0},
            "copies_per_byte_expected": expected,
            "deferred_copy_percent": 100.0 if zc else None,
            "verdict": ("MSG_ZEROCOPY not effective on veth: 100% of zerocopy bytes copied at "
                        "local delivery in the receiver's namespace") if zc else None,
        }
    elif ledger == "unsupported":
        cell["ledger"] = {"app_bytes_sent": 1 << 20,
                          "copies_per_byte": {"unsupported": "no receive hook on this kernel"},
                          "copies_per_byte_expected": expected, "deferred_copy_percent": None,
                          "verdict": None}
    else:
        cell["ledger"] = None
    if counters == "ok":
        figs = {"cpu_seconds_per_gib": 2.5, "context_switches_per_second": 1000.0,
                "cycles_per_byte": UNSUP_CYCLES}
        cell["counters"] = {"derived": {"thread": dict(figs), "system": dict(figs)}}
    elif counters == "scope-unsupported":
        cell["counters"] = {"derived": {"thread": {"unsupported": "perf_event_open: EACCES"},
                                        "system": {"cpu_seconds_per_gib": 7.0,
                                                   "context_switches_per_second": 10.0,
                                                   "cycles_per_byte": 1.5}}}
    else:
        cell["counters"] = None
    if latency is not None:
        cell["latency"] = {"unit": "us", "round_trips": 100, "p50_us": latency,
                           "p90_us": latency * 1.2, "p99_us": latency * 2,
                           "p999_us": latency * 5, "max_us": latency * 10,
                           "mean_us": latency * 1.1}
    return cell


def make_report(cells, complete=True):
    doc = {
        "schema": "copyscope-report", "schema_version": 1,
        "tool": {"name": "copyscope", "version": "0.1.0"},
        "host": {"kernel_release": "6.18.0-test", "cpu_model": "Test CPU", "cores": 2,
                 "btf_present": True, "lockdown": "none"},
        "command_line": ["copyscope", "run", "--preset", "seeds"],
        "started_at": "2026-01-01T00:00:00Z", "complete": complete, "cells": cells,
    }
    if not complete:
        doc["interrupted"] = "interrupted by signal 2"
    return doc


def P(size, mean, half=None):
    return cx.Point(size, mean, None if half is None else mean - half,
                    None if half is None else mean + half)


class CrossoverTest(unittest.TestCase):
    def test_from_a_size_on_with_clear_intervals(self):
        a = [P(64, 1.0, 0.01), P(512, 2.0, 0.01), P(4096, 5.0, 0.01), P(65536, 9.0, 0.01)]
        b = [P(64, 1.5, 0.01), P(512, 2.5, 0.01), P(4096, 4.0, 0.01), P(65536, 7.0, 0.01)]
        r = cx.crossover(a, b)
        self.assertEqual(r.status, "from")
        self.assertEqual(r.from_size, 4096)
        self.assertEqual(r.clear_from, 4096)
        self.assertEqual(r.overlap, [])
        self.assertEqual(r.sentence(), "from 4 KiB")
        self.assertAlmostEqual(r.ratio_at_largest, 9.0 / 7.0)

    def test_never_in_the_measured_range(self):
        a = [P(64, 1.0, 0.1), P(4096, 2.0, 0.1)]
        b = [P(64, 2.0, 0.1), P(4096, 3.0, 0.1)]
        r = cx.crossover(a, b)
        self.assertEqual(r.status, "never")
        self.assertIsNone(r.from_size)
        self.assertEqual(r.sentence(), "never in the measured range (64 B to 4 KiB)")

    def test_lead_lost_at_the_largest_size_is_never(self):
        a = [P(64, 2.0, 0.1), P(512, 3.0, 0.1), P(4096, 1.0, 0.1)]
        b = [P(64, 1.0, 0.1), P(512, 2.0, 0.1), P(4096, 2.0, 0.1)]
        r = cx.crossover(a, b)
        self.assertEqual(r.status, "never")
        self.assertEqual(r.earlier_leads, [64, 512])
        self.assertIn("ahead only at 64 B, 512 B", r.sentence())

    def test_the_last_winning_run_counts(self):
        # ahead at 64, behind at 512, ahead from 4 KiB on
        a = [P(64, 2.0, 0.1), P(512, 1.0, 0.1), P(4096, 3.0, 0.1), P(65536, 4.0, 0.1)]
        b = [P(64, 1.0, 0.1), P(512, 2.0, 0.1), P(4096, 2.0, 0.1), P(65536, 3.0, 0.1)]
        r = cx.crossover(a, b)
        self.assertEqual((r.status, r.from_size), ("from", 4096))
        self.assertEqual(r.earlier_leads, [64])
        self.assertIn("also ahead at 64 B but behind again above", r.sentence())

    def test_always(self):
        r = cx.crossover([P(64, 2.0, 0.1), P(128, 3.0, 0.1)], [P(64, 1.0, 0.1), P(128, 1.0, 0.1)])
        self.assertEqual(r.status, "always")
        self.assertEqual(r.from_size, 64)
        self.assertEqual(r.sentence(), "at every measured size (64 B to 128 B)")

    def test_overlapping_intervals_are_noted(self):
        a = [P(64, 1.0, 0.1), P(4096, 2.05, 0.2), P(65536, 5.0, 0.1)]
        b = [P(64, 2.0, 0.1), P(4096, 2.0, 0.2), P(65536, 4.0, 0.1)]
        r = cx.crossover(a, b)
        self.assertEqual(r.from_size, 4096)
        self.assertEqual(r.overlap, [4096])
        self.assertEqual(r.clear_from, 65536)
        self.assertEqual(r.sentence(), "from 4 KiB (CIs overlap at 4 KiB; clear from 64 KiB)")

    def test_overlap_at_the_largest_size_is_not_a_clear_win(self):
        r = cx.crossover([P(64, 1.0, 0.1), P(4096, 2.1, 0.3)], [P(64, 2.0, 0.1), P(4096, 2.0, 0.3)])
        self.assertEqual(r.from_size, 4096)
        self.assertIsNone(r.clear_from)
        self.assertIn("not a clear win", r.sentence())

    def test_one_repetition_has_no_interval(self):
        r = cx.crossover([P(64, 1.0), P(4096, 3.0)], [P(64, 2.0, 0.1), P(4096, 2.0, 0.1)])
        self.assertEqual(r.from_size, 4096)
        self.assertEqual(r.no_ci, [4096])
        self.assertIn("no CI (one repetition) at 4 KiB", r.sentence())

    def test_only_sizes_measured_for_both_count(self):
        r = cx.crossover([P(64, 1.0, 0.1), P(4096, 3.0, 0.1), P(65536, 0.5, 0.1)],
                         [P(64, 2.0, 0.1), P(4096, 2.0, 0.1)])
        self.assertEqual(r.sizes, [64, 4096])
        self.assertEqual(r.from_size, 4096)

    def test_no_common_size(self):
        r = cx.crossover([P(64, 1.0)], [P(128, 1.0)])
        self.assertEqual(r.status, "no-data")
        self.assertIn("not measured", r.sentence())

    def test_crossovers_per_transport_pattern_and_threads(self):
        cells = []
        for t in (1, 2):
            for size, two, one, zero in ((64, 2.0, 1.0, 0.5), (4096, 2.0, 3.0, 1.0)):
                cells.append(make_cell("two-copy", size, t, two))
                cells.append(make_cell("one-copy", size, t, one))
                cells.append(make_cell("zero-copy", size, t, zero))
        cells.append(make_cell("one-copy", 64, 1, 9.0, transport="loopback"))  # no baseline
        rep = model.parse_report(make_report(cells))
        answers = cx.crossovers(rep.cells)
        self.assertEqual([(a.transport, a.pattern, a.threads) for a in answers],
                         [("veth", "stream", 1), ("veth", "stream", 2)])
        one, zero = answers[0].results
        self.assertEqual((one.challenger, one.status, one.from_size), ("one-copy", "from", 4096))
        self.assertEqual((zero.challenger, zero.status), ("zero-copy", "never"))


    def test_send_paths_are_each_answered_against_two_copy(self):
        cells = []
        for size, two, paths in ((4096, 2.0, 1.0), (65536, 2.0, 3.0)):
            cells.append(make_cell("two-copy", size, 1, two))
            for s in ("sendfile", "io-uring", "io-uring-zc", "io-uring-zc-fixed"):
                cells.append(make_cell(s, size, 1, paths))
        rep = model.parse_report(make_report(cells))
        answers = cx.crossovers(rep.cells)
        self.assertEqual(len(answers), 1)
        got = {(x.challenger, x.baseline): (x.status, x.from_size) for x in answers[0].results}
        for s in ("sendfile", "io-uring", "io-uring-zc", "io-uring-zc-fixed"):
            self.assertEqual(got[(s, "two-copy")], ("from", 65536), s)
        md = render([rep], rep.cells, [])
        for s in ("sendfile", "io-uring", "io-uring-zc", "io-uring-zc-fixed"):
            self.assertIn(f"{s} beats two-copy", md)


class ExtractionTest(unittest.TestCase):
    def test_full_cell(self):
        c = model.parse_cell(make_cell("zero-copy", 65536, 2, 3.0, 0.3))
        self.assertEqual((c.strategy, c.transport, c.pattern, c.size, c.threads),
                         ("zero-copy", "veth", "stream", 65536, 2))
        self.assertEqual(c.mean, 3.0)
        self.assertAlmostEqual(c.ci_half, 0.3)
        self.assertTrue(c.converged)
        self.assertEqual(c.ledger_state, "ok")
        self.assertEqual(c.copies_per_byte, 2.0)
        self.assertEqual(c.parts["deferred"], 1.0)
        self.assertEqual(c.deferred_percent, 100.0)
        self.assertIn("not effective", c.verdict)
        self.assertEqual(c.counter("cpu_seconds_per_gib"), 2.5)
        self.assertIsInstance(c.counter("cycles_per_byte"), model.Unsupported)
        self.assertIn("ENOENT", c.counter("cycles_per_byte").reason)

    def test_one_repetition_has_no_ci_and_no_convergence(self):
        c = model.parse_cell(make_cell(mean=2.0, half=None, reps=1, converged=None))
        self.assertEqual(c.repetitions, 1)
        self.assertFalse(c.has_ci)
        self.assertIsNone(c.ci_half)
        self.assertIsNone(c.converged)
        self.assertEqual(cx.points_of([c])[4096].low, None)

    def test_null_ledger(self):
        c = model.parse_cell(make_cell(ledger="null"))
        self.assertEqual(c.ledger_state, "null")
        self.assertIsNone(c.copies_per_byte)
        self.assertIsNone(c.parts)
        self.assertIsNone(model.weighted_parts([c]))

    def test_unsupported_ledger_is_not_zero(self):
        c = model.parse_cell(make_cell(ledger="unsupported"))
        self.assertEqual(c.ledger_state, "unsupported")
        self.assertEqual(c.ledger_why, "no receive hook on this kernel")
        self.assertIsNone(c.copies_per_byte)

    def test_counters_null_and_scope_unsupported(self):
        c = model.parse_cell(make_cell(counters="null"))
        self.assertIsInstance(c.counter("cpu_seconds_per_gib"), model.Unsupported)
        c = model.parse_cell(make_cell(counters="scope-unsupported"))
        self.assertIsInstance(c.counter("cpu_seconds_per_gib", "thread"), model.Unsupported)
        self.assertEqual(c.counter("cycles_per_byte", "system"), 1.5)

    def test_failed_cell_without_measurements(self):
        raw = make_cell()
        raw.update(repetitions=0, error="lab: veth creation failed", passed=False)
        raw["throughput"].update(samples=[], mean=0.0, ci95_low=None, ci95_high=None)
        c = model.parse_cell(raw)
        self.assertIsNone(c.mean)
        self.assertEqual(c.error, "lab: veth creation failed")

    def test_weighted_parts_pool_only_supported_cells(self):
        cells = [model.parse_cell(make_cell("two-copy")), model.parse_cell(make_cell(ledger="null"))]
        cpb, parts, expected = model.weighted_parts(cells)
        self.assertEqual((cpb, expected), (3.0, 3.0))
        self.assertEqual(parts["user"], 1.0)

    def test_incomplete_report(self):
        r = model.parse_report(make_report([make_cell()], complete=False))
        self.assertFalse(r.complete)
        self.assertEqual(r.interrupted, "interrupted by signal 2")

    def test_not_a_report(self):
        with self.assertRaises(model.ReportError):
            model.parse_report({"schema": "something-else", "cells": []})
        with self.assertRaises(model.ReportError):
            model.parse_report([1, 2])

    def test_format_size(self):
        self.assertEqual([model.format_size(n) for n in (64, 512, 4096, 65536, 1 << 20, 1536)],
                         ["64 B", "512 B", "4 KiB", "64 KiB", "1 MiB", "1.5 KiB"])


class PathStrategyTest(unittest.TestCase):
    def test_paths_form_series_of_their_own(self):
        self.assertEqual(model.path_strategy({"strategy": "zero-copy"}), "zero-copy")
        self.assertEqual(model.path_strategy({"strategy": "zero-copy", "protocol": "tcp",
                                              "receive": "copy"}), "zero-copy")
        self.assertEqual(model.path_strategy({"strategy": "one-copy", "protocol": "udp",
                                              "udp_gso": 0}), "one-copy udp")
        self.assertEqual(model.path_strategy({"strategy": "zero-copy", "protocol": "udp",
                                              "udp_gso": 1472}), "zero-copy udp gso 1472")
        self.assertEqual(model.path_strategy({"strategy": "zero-copy", "receive": "zerocopy"}),
                         "zero-copy zerocopy-rx")


class OutputTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def run_all(self, doc):
        r = model.parse_report(doc, "hand-made.json")
        results = draw_all(r.cells, self.dir)
        return r, results, render([r], r.cells, results)

    def test_everything_missing_is_skipped_with_a_reason(self):
        # one stream cell, no ledger, no counters, one thread count, no rr
        doc = make_report([make_cell(ledger="null", counters="null", half=None, reps=1,
                                     converged=None)], complete=False)
        r, results, md = self.run_all(doc)
        drawn = {p.key for p in results if isinstance(p, Plot)}
        skipped = {p.key: p.reason for p in results if isinstance(p, Skipped)}
        self.assertEqual(drawn, {"throughput_vs_size_veth_stream"})
        for key in ("throughput_vs_threads", "copies_per_byte", "cpu_seconds_per_gib",
                    "cycles_per_byte", "context_switches_per_second", "latency"):
            self.assertIn(key, skipped)
        self.assertIn("no cell has a copy ledger", skipped["copies_per_byte"])
        self.assertIn("--pattern rr", skipped["latency"])
        self.assertEqual(sorted(os.listdir(self.dir)), ["throughput_vs_size_veth.png"])
        self.assertIn("**no** — the run was interrupted: interrupted by signal 2", md)
        self.assertIn("(no CI: 1 rep)", md)
        self.assertIn("no ledger", md)
        self.assertIn("not plotted", md)
        self.assertIn("Not answerable from this report", md)

    def test_mixed_ledgers_draw_placeholders_and_cycles_note(self):
        cells = [make_cell("two-copy", 64, mean=2.0), make_cell("one-copy", 64, mean=1.0),
                 make_cell("two-copy", 4096, mean=2.0), make_cell("one-copy", 4096, mean=3.0),
                 make_cell("zero-copy", 64, ledger="unsupported", mean=0.5),
                 make_cell("zero-copy", 4096, ledger="null", mean=0.7)]
        r, results, md = self.run_all(make_report(cells))
        drawn = {p.key: p for p in results if isinstance(p, Plot)}
        self.assertIn("copies_per_byte", drawn)
        self.assertIn("hatched bars", drawn["copies_per_byte"].caption)
        skipped = {p.key: p.reason for p in results if isinstance(p, Skipped)}
        self.assertIn("cycles_per_byte", skipped)
        self.assertIn("ENOENT", skipped["cycles_per_byte"])
        self.assertIn("CPU cycles per byte sent:** not plotted", md)
        self.assertIn("| veth | stream | 1 | from 4 KiB |", md)
        self.assertIn("| zero-copy | veth | stream | 64 B | 1 |", md)
        self.assertIn("unsupported", md)
        self.assertIn("no ledger, so no verdict", md)
        for p in drawn.values():
            self.assertIn(f"]({p.file})", md)
            self.assertTrue(os.path.getsize(os.path.join(self.dir, p.file)) > 0)

    def test_rr_and_threads_and_cycles(self):
        cells = []
        for t in (1, 2):
            for s in ("two-copy", "zero-copy"):
                for size in (64, 4096):
                    cells.append(make_cell(s, size, t, mean=size / 1000 * t,
                                           counters="scope-unsupported"))
        rr = [make_cell(s, size, 1, mean=0.1, pattern="rr", latency=20.0 + size / 100)
              for s in ("two-copy", "zero-copy") for size in (64, 4096)]
        r, results, md = self.run_all(make_report(cells + rr))
        drawn = {p.file for p in results if isinstance(p, Plot)}
        self.assertEqual(drawn, {"throughput_vs_size_veth.png", "throughput_vs_size_veth_rr.png",
                                 "throughput_vs_threads_veth.png", "copies_per_byte.png",
                                 "cpu_seconds_per_gib.png", "cycles_per_byte.png",
                                 "context_switches.png", "latency_veth.png"})
        self.assertIn("## Round-trip latency", md)
        self.assertIn("| veth | rr | 1 |", md)

    def test_same_cell_in_two_reports(self):
        a = model.parse_report(make_report([make_cell("two-copy", 64, mean=1.0),
                                            make_cell("one-copy", 64, mean=2.0)]), "a.json", 0)
        b = model.parse_report(make_report([make_cell("one-copy", 64, mean=0.5)]), "b.json", 1)
        cells = a.cells + b.cells
        md = render([a, b], cells, draw_all(cells, self.dir))
        self.assertIn("## Source 2: `b.json`", md)
        self.assertIn("Measured in more than one report", md)
        self.assertIn("one-copy veth stream 64 B ×1", md)
        self.assertIn("| veth | stream | 1 | never in the measured range (64 B) |", md)

    def test_cli_errors(self):
        bad = os.path.join(self.dir, "bad.json")
        with open(bad, "w") as f:
            json.dump({"schema": "nope"}, f)
        for args in ([bad], [os.path.join(self.dir, "missing.json")]):
            p = subprocess.run(["/usr/bin/python3", PLOT_PY] + args, capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("plot.py:", p.stderr)

    def test_cli_default_outdir_beside_the_report(self):
        path = os.path.join(self.dir, "copyscope-report.json")
        with open(path, "w") as f:
            json.dump(make_report([copy.deepcopy(make_cell())]), f)
        p = subprocess.run(["/usr/bin/python3", PLOT_PY, "-q", path], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertTrue(os.path.isfile(os.path.join(self.dir, "copyscope-report", "report.md")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
