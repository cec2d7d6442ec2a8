#!/usr/bin/env bash
# The main job: install what is missing, build, and run the default plan in the veth lab
# (all four strategies, a few sizes, 1 and 2 connections). Prints the summary table and
# writes copyscope-report.json in the current directory. Extra arguments go to
# `copyscope run` (e.g. --duration 5).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
"$root/scripts/build.sh" "$root/build" -DCOPYSCOPE_TESTS=OFF
exec "$root/build/userspace/copyscope" run -o copyscope-report.json "$@"
