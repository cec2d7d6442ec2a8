#!/usr/bin/env bash
# The main job: install what is missing, build, and run the default plan in the veth lab
# (all four strategies, a few sizes, 1 and 2 connections). Prints the summary table and
# writes copyscope-report.json, copyscope-report.csv, and the plots with a markdown summary
# in copyscope-report/, all in the current directory. Extra arguments go to
# `copyscope run` (e.g. --preset seeds).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
"$root/scripts/build.sh" "$root/build" -DCOPYSCOPE_TESTS=OFF
status=0
"$root/build/userspace/copyscope" run -o copyscope-report.json --csv copyscope-report.csv "$@" ||
  status=$?
# The plots are drawn from whatever the run wrote, even a run with failed checks or one
# stopped by Ctrl-C (its report is marked incomplete).
if [ -f copyscope-report.json ] && [ "$status" -ne 2 ]; then
  /usr/bin/python3 "$root/scripts/plot.py" copyscope-report.json -o copyscope-report -q &&
    echo "plots and summary: copyscope-report/report.md"
fi
exit "$status"
