#!/usr/bin/python3
"""Plots and a markdown summary from copyscope reports.

Usage: scripts/plot.py REPORT.json [REPORT.json ...] [-o OUTDIR]

Writes PNG plots and report.md into OUTDIR (default: a folder beside the first report,
named after it: copyscope-report.json -> copyscope-report/). Several reports are read as
one set of cells, e.g. a stream sweep and a --pattern rr sweep from the same machine.
A plot the reports have no data for is not drawn; report.md says why.

Exit status: 0 written, 2 a report is missing or not a copyscope report, 1 writing failed.
Needs Debian's python3-matplotlib; run it with /usr/bin/python3.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from copyscope_report.model import ReportError, load_report  # noqa: E402


def default_outdir(report_path):
    base, ext = os.path.splitext(report_path)
    return base if ext.lower() == ".json" else report_path + "-plots"


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="plot.py",
        description="Draw PNG plots and write report.md from copyscope JSON reports.")
    ap.add_argument("reports", nargs="+", metavar="REPORT.json",
                    help="copyscope run report(s); several are merged (e.g. stream + rr runs)")
    ap.add_argument("-o", "--output", metavar="OUTDIR",
                    help="folder for the PNGs and report.md (default: beside the first report, "
                         "named after it)")
    ap.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    args = ap.parse_args(argv)

    reports = []
    try:
        for i, path in enumerate(args.reports):
            reports.append(load_report(path, source=i))
    except ReportError as e:
        print(f"plot.py: {e}", file=sys.stderr)
        return 2

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(f"plot.py: matplotlib is missing for {sys.executable}: apt-get install "
              "python3-matplotlib and run with /usr/bin/python3", file=sys.stderr)
        return 1
    from copyscope_report.markdown import render
    from copyscope_report.plots import Plot, draw_all

    outdir = args.output or default_outdir(args.reports[0])
    try:
        os.makedirs(outdir, exist_ok=True)
        cells = [c for r in reports for c in r.cells]
        results = draw_all(cells, outdir)
        text = render(reports, cells, results)
        tmp = os.path.join(outdir, ".report.md.tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, os.path.join(outdir, "report.md"))
    except OSError as e:
        print(f"plot.py: {outdir}: {e.strerror or e}", file=sys.stderr)
        return 1
    if not args.quiet:
        drawn = [r.file for r in results if isinstance(r, Plot)]
        skipped = len(results) - len(drawn)
        print(f"{outdir}/report.md, {len(drawn)} plots ({', '.join(drawn)})"
              + (f", {skipped} skipped (see report.md)" if skipped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
