#!/usr/bin/python3
"""The matrix's send-path and trace runs on real guest reports (data/: Debian 6.1 and 7.3,
8 MiB a cell; paths-nic trimmed to its sendfile and io-uring-zc cells): the trace's check
against the traced run (6.1 holds; 7.3's trace counted every send twice), the summary's
answers (SEND_ZC through virtio-net: effective on 6.1, 611/1024 notifications COPIED on 7.3
with no copy counted), and doctored copies that must fail. Also the guest console's trace
markers and the runs the options make."""
import base64
import gzip
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "..", "scripts")))

from copyscope_matrix import guest, matrix, options, summary, trace_check  # noqa: E402


def load(name):
    with open(os.path.join(HERE, "data", f"{name}.json")) as f:
        return json.load(f)


class TraceCheck(unittest.TestCase):
    def test_61_trace_agrees_with_the_run(self):
        rows, problems = trace_check.check(load("6.1-traced"), load("6.1-trace"))
        self.assertEqual(problems, [])
        self.assertEqual(sorted(r["strategy"] for r in rows), ["one-copy", "zero-copy"])
        zc = next(r for r in rows if r["strategy"] == "zero-copy")
        self.assertEqual(zc["trace_bytes_sent"], 8388608)
        self.assertEqual(zc["pinned"], 8388608)
        self.assertEqual((zc["trace_completions"], zc["trace_copied"]), (128, 128))
        self.assertEqual((zc["run_completions"], zc["run_copied"]), (128, 128))

    def test_73_trace_counted_each_send_twice(self):
        _, problems = trace_check.check(load("7.3-traced"), load("7.3-trace"))
        self.assertIn("bytes sent 16777216 != the run's 8388608", " ".join(problems))

    def test_a_copied_count_off_by_one_fails(self):
        trace = load("6.1-trace")
        for p in trace["processes"]:
            for c in p["connections"]:
                if c["ledger"]["zerocopy_pinned_bytes"]:
                    c["ledger"]["completions"]["copied"] -= 1
        _, problems = trace_check.check(load("6.1-traced"), trace)
        self.assertIn("COPIED 127 != the 128 the run read", " ".join(problems))

    def test_another_hook_form_fails(self):
        trace = load("6.1-trace")
        trace["hooks"]["send"]["mechanism"] = "tp_btf"
        _, problems = trace_check.check(load("6.1-traced"), trace)
        self.assertTrue(any(p.startswith("hook send: the trace used tp_btf") for p in problems),
                        problems)

    def test_a_missing_connection_and_a_failed_command_fail(self):
        trace = load("6.1-trace")
        trace["processes"][0]["connections"] = [
            c for c in trace["processes"][0]["connections"]
            if not c["ledger"]["zerocopy_pinned_bytes"]]
        trace["end"]["exit_status"] = 1
        _, problems = trace_check.check(load("6.1-traced"), trace)
        text = " ".join(problems)
        self.assertIn("1 pinning cell(s) in the run, 0 pinning sending connection(s)", text)
        self.assertIn("exit status 1", text)


class Summary(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        for n in ("6.1-paths-nic", "7.3-paths-nic", "6.1-udp", "6.1-trace", "6.1-traced"):
            shutil.copy(os.path.join(HERE, "data", n + ".json"), self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def render(self, *names):
        return summary.render_paths([os.path.join(self.tmp, n + ".json") for n in names])

    def test_send_zc_through_virtio_net(self):
        lines = self.render("6.1-paths-nic", "7.3-paths-nic").splitlines()
        zc = [ln for ln in lines if " io-uring-zc " in ln and " nic " in ln and "SEND_ZC" in ln]
        self.assertEqual(len(zc), 2, lines)
        self.assertIn("SEND_ZC effective: 0/1024 notifications COPIED", zc[0])
        self.assertIn("SEND_ZC partly effective: 611/1024 notifications COPIED; no copy counted",
                      zc[1])
        sendfile = [ln for ln in lines if " sendfile " in ln and "answer" not in ln
                    and "by reference 100%" in ln]
        self.assertEqual(len(sendfile), 2)
        self.assertTrue(all("no copy at send" in ln for ln in sendfile))

    def test_udp_pinned_at_send_and_copied_later(self):
        text = self.render("6.1-udp")
        self.assertIn("UDP zerocopy effective at send: pinned 100%, copied at send 0%, copied "
                      "later 100%", text)

    def test_trace_section_and_the_traced_run_kept_apart(self):
        text = self.render("6.1-udp", "6.1-trace", "6.1-traced")
        self.assertIn("completions fentry", text)
        self.assertIn("checks hold", text)
        self.assertIn("8388608/8388608  8388608  128/128     128/128", text)
        # The kernels table counts the udp report's cell only, not the traced run's two.
        self.assertRegex(text, r"6\.1\.0-57-cloud-amd64 .* 0/1 ")
        js = json.loads(summary.render_paths(
            [os.path.join(self.tmp, n + ".json") for n in ("6.1-trace", "6.1-traced")],
            json_output=True))
        self.assertEqual(js["traces"][0]["problems"], [])
        self.assertEqual(js["kernels"], [])


def payload(doc):
    return base64.b64encode(gzip.compress(json.dumps(doc).encode())).decode()


class Console(unittest.TestCase):
    def test_the_trace_report_follows_the_run(self):
        run, trace = load("6.1-traced"), load("6.1-trace")
        text = "\n".join([
            "COPYSCOPE-UPTIME-RUN-START traced 1.0",
            "COPYSCOPE-TRACE-STATUS traced 0", "COPYSCOPE-UPTIME-RUN-END traced 9.5",
            "COPYSCOPE-RUN-STATUS traced 0",
            "COPYSCOPE-REPORT-BEGIN traced 10", payload(run), "COPYSCOPE-REPORT-END traced",
            "COPYSCOPE-TRACE-BEGIN traced 10", payload(trace), "COPYSCOPE-TRACE-END traced"])
        r = guest.read_console(text, ["traced"], traced={"traced"}).runs["traced"]
        self.assertEqual((r.status, r.trace_status, r.seconds), (0, 0, 8.5))
        self.assertEqual(r.report["schema"], "copyscope-report")
        self.assertEqual(r.trace["schema"], "copyscope-trace")

    def test_a_missing_trace_report_is_said(self):
        text = "\n".join(["COPYSCOPE-REPORT-BEGIN traced 10", payload(load("6.1-traced")),
                          "COPYSCOPE-REPORT-END traced"])
        r = guest.read_console(text, ["traced"], traced={"traced"}).runs["traced"]
        self.assertIsNotNone(r.report)
        self.assertIsNone(r.trace)
        self.assertEqual(r.trace_problem, "the guest brought no traced trace report back")


class Runs(unittest.TestCase):
    def test_default_runs_and_transports(self):
        o = options.parse([])
        self.assertEqual([n for n, _ in o.runs],
                         ["veth", "nic", "forward", "paths", "paths-nic", "udp", "traced"])
        self.assertTrue(o.nic)
        runs = dict(matrix.guest_runs(o))
        self.assertEqual(runs["paths-nic"][-2:], ["--transport", "nic"])
        self.assertNotIn("--transport", runs["paths"] + runs["udp"] + runs["traced"])

    def test_no_nic_means_no_paths_nic(self):
        o = options.parse(["--nic-run-args", "", "--udp-run-args", ""])
        self.assertEqual([n for n, _ in o.runs], ["veth", "forward", "paths", "traced"])
        self.assertFalse(o.nic)

    def test_hooks_compare_twins_every_run_but_the_traced_one(self):
        o = options.parse(["--hooks-compare", "--forward-run-args", ""])
        names = [n for n, _ in matrix.guest_runs(o)]
        self.assertIn("paths-nic-tracepoints", names)
        self.assertIn("traced", names)
        self.assertNotIn("traced-tracepoints", names)


if __name__ == "__main__":
    unittest.main()
