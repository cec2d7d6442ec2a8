#!/usr/bin/env python3
"""One table across kernels from the kernel matrix's reports.

Usage: scripts/kernel-summary.py [--json] kernel-A.json kernel-B.json ...

Reads copyscope reports (and, beside each, the matrix's kernel-<release>.meta.json when it
is there) and prints:
  - per kernel: package, boot and run time in the guest, the hook form each ledger figure
    came from (when the cells agree; otherwise every form seen), cells passed;
  - per cell (strategy, transport, size, connections): for each kernel, copies per byte,
    deferred %, receive copies exact or not, COPIED completions, the verdict and whether
    the cell passed its checks.
Exit status: 0 printed, 2 a file is missing or not a copyscope report.
"""
import json
import os
import sys

HOOKS = ["send", "pinned_pages", "deferred_copy", "receive_copy", "completions", "retransmits"]


def load(path):
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"kernel-summary: {path}: {e}")
    if report.get("schema") != "copyscope-report":
        sys.exit(f"kernel-summary: {path}: not a copyscope report (schema {report.get('schema')!r})")
    meta = {}
    base = path[:-5] if path.endswith(".json") else path
    if os.path.exists(base + ".meta.json"):
        with open(base + ".meta.json") as f:
            meta = json.load(f)
    return report, meta


def size_text(n):
    for unit, div in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return f"{n}B"


def cell_key(c):
    return (c.get("strategy"), c.get("transport"), c.get("message_size"), c.get("threads"))


def mechanisms(cells):
    """hook -> form(s) used across the report's cells."""
    seen = {}
    for c in cells:
        hooks = (c.get("ledger") or {}).get("hooks") or {}
        for name, h in hooks.items():
            if isinstance(h, dict) and "mechanism" in h:
                seen.setdefault(name, set()).add(h["mechanism"])
    return {k: "/".join(sorted(v)) for k, v in seen.items()}


def hook_modes(cells):
    """The tracer's hook mode across cells ("auto", or "prefer-tracepoints" when the
    preferred forms failed to load and the tracer fell back), or why it was unavailable."""
    modes = set()
    for c in cells:
        tracer = (c.get("ledger") or {}).get("tracer") or {}
        if not tracer.get("available", False):
            modes.add("unavailable")
        else:
            mode = tracer.get("hook_mode", "?")
            if "failed" in (tracer.get("note") or ""):
                mode += " (preferred forms failed to load)"
            modes.add(mode)
    return ", ".join(sorted(modes)) or "-"


def cell_row(c):
    led = c.get("ledger") or {}
    zc = led.get("zerocopy_notifications") or {}
    cpb = led.get("copies_per_byte")
    deferred = led.get("deferred_copy_percent")
    recv_exact = None
    if isinstance(led.get("receive_copy_bytes"), int) and "app_bytes_received" in led and "app_bytes_received" in led:
        recv_exact = led["receive_copy_bytes"] == led["app_bytes_received"]
    return {
        "copies_per_byte": cpb,
        "expected": led.get("copies_per_byte_expected"),
        "deferred_percent": deferred,
        "receive_exact": recv_exact,
        "completions": zc.get("completions"),
        "completions_copied": zc.get("completions_copied"),
        "verdict": led.get("verdict"),
        "passed": c.get("passed"),
        "failed_checks": [k.get("name") for k in c.get("checks", []) if not k.get("passed")],
        "gbit_per_second": c.get("gbit_per_second"),
    }


def fmt(v, spec="{:.2f}"):
    if v is None:
        return "-"
    if isinstance(v, dict) and "unsupported" in v:
        return "unsupported"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, (int, float)):
        return spec.format(v)
    return str(v)


def table(rows, header):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def main(argv):
    as_json = "--json" in argv
    # kernel-*.json also matches the matrix's own kernel-*.meta.json: those are read beside.
    paths = [a for a in argv if a != "--json" and not a.endswith(".meta.json")]
    if not paths:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    kernels = []
    for p in paths:
        report, meta = load(p)
        release = meta.get("release") or (report.get("host") or {}).get("kernel_release") or p
        cells = report.get("cells", [])
        kernels.append({
            "release": release,
            "package": meta.get("package"),
            "version": meta.get("version"),
            "boot_seconds": meta.get("boot_seconds"),
            "run_seconds": meta.get("run_seconds"),
            "host_wall_seconds": meta.get("host_wall_seconds"),
            "hooks": mechanisms(cells),
            "hook_mode": hook_modes(cells),
            "cells": {cell_key(c): cell_row(c) for c in cells},
            "passed": sum(1 for c in cells if c.get("passed")),
            "total": len(cells),
            "complete": report.get("complete"),
        })

    keys = []
    for k in kernels:
        for key in k["cells"]:
            if key not in keys:
                keys.append(key)

    if as_json:
        out = {"kernels": [{**k, "cells": [{"strategy": key[0], "transport": key[1],
                                            "message_size": key[2], "threads": key[3], **row}
                                           for key, row in k["cells"].items()]}
                           for k in kernels]}
        print(json.dumps(out, indent=2))
        return 0

    print("Kernels")
    rows = []
    for k in kernels:
        rows.append([k["release"], k["version"] or "-", fmt(k["boot_seconds"], "{:.1f}"),
                     fmt(k["run_seconds"], "{:.1f}"), f"{k['passed']}/{k['total']}"]
                    + [k["hooks"].get(h, "-") for h in HOOKS] + [k["hook_mode"]])
    print(table(rows, ["kernel", "version", "boot s", "run s", "passed"] + HOOKS + ["tracer"]))
    print()
    print("Cells (copies/B measured/expected, deferred % of zerocopy bytes, receive copies exact,")
    print("COPIED completions/completions, verdict)")
    rows = []
    for key in keys:
        strategy, transport, size, threads = key
        for k in kernels:
            r = k["cells"].get(key)
            if r is None:
                rows.append([strategy, transport, size_text(size), threads, k["release"],
                             "absent", "", "", "", "", ""])
                continue
            zc = "-"
            if r["completions"] is not None:
                zc = f"{r['completions_copied']}/{r['completions']}"
            verdict = (r["verdict"] or "-").splitlines()[0]
            if len(verdict) > 110:
                verdict = verdict[:107] + "..."
            if r["failed_checks"]:
                verdict += " [FAILED: " + "; ".join(r["failed_checks"]) + "]"
            rows.append([strategy, transport, size_text(size), threads, k["release"],
                         f"{fmt(r['copies_per_byte'])}/{fmt(r['expected'])}",
                         fmt(r["deferred_percent"], "{:.0f}%"), fmt(r["receive_exact"]), zc,
                         "ok" if r["passed"] else "FAIL", verdict])
    print(table(rows, ["strategy", "transport", "size", "conns", "kernel", "copies/B",
                       "deferred", "recv exact", "COPIED", "cell", "verdict"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
