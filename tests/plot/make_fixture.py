#!/usr/bin/python3
"""Shrink real copyscope reports into the test fixtures under tests/plot/data/.

The fixtures are real runs on the development VM (Linux 6.18, 2 cores), made with

  copyscope run --strategy two-copy,one-copy,zero-copy --size 4K,64K --threads 1,2 \
      --duration 0.1 --max-repetitions 3 --warmup 0.1 -q -o stream.json
  copyscope run --pattern rr --strategy two-copy,zero-copy --size 64,4K --threads 1 \
      --duration 0.1 --max-repetitions 3 --warmup 0.1 -q -o rr.json

and then this script, which keeps every figure scripts/plot.py reads and drops the rest
(raw per-event counter values, per-namespace ledger details, hook descriptions,
the details of checks; floats rounded to 6 significant digits), so that
each file stays a few KB. The values that remain are untouched.

Usage: tests/plot/make_fixture.py IN.json OUT.json
"""
import json
import sys

CELL_KEYS = ["strategy", "transport", "pattern", "message_size", "threads", "repetitions",
             "bytes_sent", "throughput", "latency", "passed", "error"]
THROUGHPUT_KEYS = ["samples", "mean", "stddev", "ci95_low", "ci95_high", "ci95_relative",
                   "converged"]
COUNTER_FIGURES = ["cpu_seconds_per_gib", "context_switches_per_second", "cycles_per_byte"]
LEDGER_KEYS = ["app_bytes_sent", "copies_per_byte", "copies_per_byte_parts",
               "copies_per_byte_expected", "deferred_copy_percent", "verdict"]


def shrink_cell(c):
    out = {k: c[k] for k in CELL_KEYS if k in c}
    if isinstance(out.get("throughput"), dict):
        out["throughput"] = {k: out["throughput"][k] for k in THROUGHPUT_KEYS
                             if k in out["throughput"]}
    out["checks"] = [{"name": ch.get("name"), "passed": False}
                     for ch in c.get("checks", []) if not ch.get("passed")]
    led = c.get("ledger")
    out["ledger"] = {k: led[k] for k in LEDGER_KEYS if k in led} if isinstance(led, dict) else led
    cnt = c.get("counters")
    if isinstance(cnt, dict) and "derived" in cnt:
        derived = {}
        for scope, figs in cnt["derived"].items():
            if isinstance(figs, dict):
                derived[scope] = {k: ({"unsupported": v["unsupported"].split(":")[0]}
                                      if isinstance(v, dict) and "unsupported" in v else v)
                                  for k, v in figs.items() if k in COUNTER_FIGURES}
            else:
                derived[scope] = figs
        out["counters"] = {"derived": derived}
    else:
        out["counters"] = cnt
    return out


def rounded(v):
    """Floats to 6 significant digits (the fixture is for plotting, not for statistics)."""
    if isinstance(v, float):
        return float(f"{v:.6g}")
    if isinstance(v, dict):
        return {k: rounded(x) for k, x in v.items()}
    if isinstance(v, list):
        return [rounded(x) for x in v]
    return v


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        report = json.load(f)
    report["cells"] = [rounded(shrink_cell(c)) for c in report["cells"]]
    with open(sys.argv[2], "w") as f:
        json.dump(report, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
