#!/usr/bin/python3
"""The matrix's --hooks-compare on real reports of a 7.3 guest (data/: the same cells run
with --hooks auto and --hooks prefer-tracepoints, trimmed to three veth cells and the forward
cell), and on doctored copies: a tracepoint figure off by more than its tolerance, a figure
the report gains later, a control that differs, forms that do not differ."""
import copy
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "..", "scripts")))

from copyscope_matrix import hooks_compare  # noqa: E402
from copyscope_report import model  # noqa: E402


def load(name):
    with open(os.path.join(HERE, "data", f"7.3-{name}.json")) as f:
        return json.load(f)


class Compare(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.docs = {n: load(n) for n in ("veth", "veth-tracepoints", "forward",
                                          "forward-tracepoints")}

    def tearDown(self):
        self.tmp.cleanup()

    def run_compare(self, docs=None):
        docs = docs or self.docs
        paths = {}
        for name, doc in docs.items():
            paths[name] = os.path.join(self.tmp.name, name + ".json")
            with open(paths[name], "w") as f:
                json.dump(doc, f)
        return hooks_compare.compare_paths("7.3", [
            (run, paths[run], paths[run + "-tracepoints"]) for run in ("veth", "forward")])

    def zc_ledger(self, name, size=65536):
        return next(c["ledger"] for c in self.docs[name]["cells"]
                    if c["strategy"] == "zero-copy" and c["message_size"] == size)

    def test_real_reports_hold(self):
        ok, text = self.run_compare()
        self.assertTrue(ok, text)
        self.assertIn("the tracepoint path equals the exact hooks", text)
        # The exact and the inferred deferred copy side by side, with their evidence.
        line = next(ln for ln in text.splitlines()
                    if ln.startswith("veth ") and " deferred_copy_bytes " in ln)
        self.assertIn("exact (fexit)", line)
        self.assertIn("inferred (inferred)", line)

    def test_deferred_copy_off_by_one_percent_fails(self):
        led = self.zc_ledger("veth-tracepoints")
        led["deferred_copy_bytes"] = int(led["deferred_copy_bytes"] * 1.01)
        ok, text = self.run_compare()
        self.assertFalse(ok)
        self.assertIn("does NOT hold", text)
        self.assertRegex(text, r"zero-copy veth 64 KiB x1\s+deferred_copy_bytes")

    def test_deferred_copy_within_half_a_percent_holds(self):
        for ns in (None, "receiver"):
            led = self.zc_ledger("veth-tracepoints")
            target = led if ns is None else led["by_namespace"][ns]
            target["deferred_copy_bytes"] = int(target["deferred_copy_bytes"] * 1.004)
        ok, text = self.run_compare()
        self.assertTrue(ok, text)

    def test_send_split_off_by_one_byte_fails(self):
        led = self.zc_ledger("forward-tracepoints")
        led["by_namespace"]["sender"]["zerocopy_pinned_bytes"] += 1
        ok, text = self.run_compare()
        self.assertFalse(ok)
        self.assertIn("sender.zerocopy_pinned_bytes", text)

    def test_a_figure_added_later_is_compared(self):
        for name, value in (("veth", 10), ("veth-tracepoints", 11)):
            self.zc_ledger(name)["by_namespace"]["receiver"]["tap_copy_bytes"] = value
        ok, text = self.run_compare()
        self.assertFalse(ok)
        self.assertIn("receiver.tap_copy_bytes", text)
        self.assertIn("unknown", text)  # its evidence: no hook named for it here

    def test_an_unsupported_tracepoint_figure_fails(self):
        self.zc_ledger("veth-tracepoints")["receive_copy_bytes"] = {"unsupported": "no hook"}
        ok, text = self.run_compare()
        self.assertFalse(ok)
        self.assertIn("unsupported on the tracepoint path", text)

    def test_a_copy_site_unseen_from_tracepoints_holds_only_at_zero(self):
        for name, value in (("veth", 0), ("veth-tracepoints", {"unsupported": "not seen"})):
            self.zc_ledger(name)["copy_site_timestamp_bytes"] = value
        ok, text = self.run_compare()
        self.assertTrue(ok, text)
        self.zc_ledger("veth")["copy_site_timestamp_bytes"] = 4096
        ok, text = self.run_compare()
        self.assertFalse(ok)
        self.assertIn("4096 on the exact path, not seen from tracepoints", text)

    def test_a_control_that_differs_is_printed_not_failed(self):
        # pinned_pages comes from the same tracepoint both ways: a difference is the runs'.
        self.zc_ledger("veth-tracepoints")["pinned_pages"] += 3
        ok, text = self.run_compare()
        self.assertTrue(ok, text)
        self.assertIn("Controls that differ", text)
        self.assertIn("same form both ways (tp_btf)", text)

    def test_a_tracepoint_run_in_the_wrong_mode_fails(self):
        doc = self.docs["forward-tracepoints"]
        doc["cells"][0]["ledger"]["tracer"]["hook_mode"] = "auto"
        ok, text = self.run_compare()
        self.assertFalse(ok)
        self.assertIn("hook mode auto", text)

    def test_missing_report_fails(self):
        docs = copy.deepcopy(self.docs)
        docs["forward-tracepoints"]["cells"] = []
        ok, text = self.run_compare(docs)
        self.assertFalse(ok)
        self.assertIn("not measured with --hooks prefer-tracepoints", text)


class Evidence(unittest.TestCase):
    def test_levels_from_the_hooks(self):
        cells = model.parse_report(load("veth-tracepoints")).cells
        led = next(c.ledger for c in cells if c.strategy == "zero-copy")
        self.assertEqual(led.evidence("deferred_copy_bytes"), "inferred")
        self.assertEqual(led.evidence("kernel_send_copy_bytes"), "exact")
        self.assertEqual(led.evidence("copies_per_byte"), "inferred")
        self.assertEqual(led.evidence("app_bytes_sent"), "exact")
        self.assertEqual(led.evidence("something_new"), "unknown")
        self.assertNotIn("inode", led.by_namespace["receiver"])


class Summary(unittest.TestCase):
    def test_one_kernel_from_its_reports(self):
        from copyscope_matrix.summary import render_paths
        text = render_paths([os.path.join(HERE, "data", f"7.3-{n}.json")
                             for n in ("veth", "forward")])
        self.assertIn("7.3.4+deb13-cloud-amd64", text)
        forward = next(ln for ln in text.splitlines() if " forward " in ln and "100%" in ln)
        self.assertIn("receiver 100%", forward)  # past 6.17: copied at local delivery
        self.assertIn("fexit/fentry", forward)



class MissedEventsOnly(unittest.TestCase):
    """The matrix boots a guest again only when the tracer's own missed-events check is the
    one thing that failed (a short count, not a finding); any other failure stands."""

    @staticmethod
    def console(*reports):
        from types import SimpleNamespace
        runs = {f"r{i}": SimpleNamespace(report=r) for i, r in enumerate(reports)}
        return SimpleNamespace(runs=runs), [(n, []) for n in runs]

    @staticmethod
    def fail(doc, cell, *names):
        doc = copy.deepcopy(doc)
        c = doc["cells"][cell]
        for name in names:
            c["checks"].append({"name": name, "passed": False, "detail": "doctored"})
        c["passed"] = False
        return doc

    def test_all_passed_is_not_a_rerun(self):
        from copyscope_matrix import matrix
        console, runs = self.console(load("veth"), load("forward"))
        self.assertFalse(matrix.missed_events_only(console, runs))

    def test_only_missed_events_is_a_rerun(self):
        from copyscope_matrix import matrix
        doc = self.fail(load("veth"), 0, matrix.MISSED_EVENTS)
        console, runs = self.console(doc, load("forward"))
        self.assertTrue(matrix.missed_events_only(console, runs))

    def test_another_failure_stands(self):
        from copyscope_matrix import matrix
        doc = self.fail(load("veth"), 0, matrix.MISSED_EVENTS)
        other = self.fail(load("forward"), 0, "ledger: receive copy bytes == bytes received")
        console, runs = self.console(doc, other)
        self.assertFalse(matrix.missed_events_only(console, runs))

    def test_a_missing_report_stands(self):
        from copyscope_matrix import matrix
        console, runs = self.console(self.fail(load("veth"), 0, matrix.MISSED_EVENTS), None)
        self.assertFalse(matrix.missed_events_only(console, runs))

if __name__ == "__main__":
    unittest.main()
