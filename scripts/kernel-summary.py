#!/usr/bin/python3
"""One table across kernels from the kernel matrix's reports.

Usage: scripts/kernel-summary.py [--json] kernel-A.json kernel-B.json ... [host-R.json]

A trace report (kernel-R-trace.json) among them is checked against the traced run's report
beside it (kernel-R-traced.json). See scripts/copyscope_matrix/summary.py for what it prints. Exit status: 0 printed, 2 a file
is missing or not a copyscope report."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from copyscope_matrix.summary import ReportError, render_paths  # noqa: E402


def main(argv):
    paths = [a for a in argv if a != "--json"]
    if not paths:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        print(render_paths(paths, json_output="--json" in argv))
    except ReportError as e:
        print(f"kernel-summary: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
