#!/usr/bin/env python3
"""One table across kernels from the kernel matrix's reports.

Usage: scripts/kernel-summary.py [--json] kernel-A.json kernel-B.json ...

Reads copyscope reports (and, beside each, the matrix's kernel-<release>.meta.json when it
is there; the matrix writes up to three reports per kernel: kernel-<release>.json (veth),
kernel-<release>-nic.json and kernel-<release>-forward.json, grouped here by kernel release)
and prints:
  - per kernel: package, boot and run time in the guest, the hook form each ledger figure
    came from (when the cells agree; otherwise every form seen), cells passed;
  - zero-copy by transport (veth vs nic vs forward), per kernel and message size: deferred %
    of the pinned bytes, COPIED completions (share), the namespace(s) where the deferred copy
    happened (the ledger's by_namespace), the verdict, and the hook forms behind deferred
    copies and completions. Where the ledger gives no deferred figure, its raw per-namespace
    counters are used and the figure is marked "(raw)";
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


def number(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def deferred_by_namespace(led):
    """namespace -> deferred copy bytes, from the ledger's by_namespace (its own figure, or the
    raw counter when the figure is unsupported); raw: whether a raw counter was used."""
    out, raw = {}, False
    for ns, v in (led.get("by_namespace") or {}).items():
        if not isinstance(v, dict):
            continue
        d = number(v.get("deferred_copy_bytes"))
        if d is None:
            d = number((v.get("raw") or {}).get("deferred_bytes"))
            raw = raw or d is not None
        if d is not None:
            out[ns] = d
    return out, raw


def pinned_bytes(led):
    p = number(led.get("zerocopy_pinned_bytes"))
    if p is not None:
        return p, False
    total = [number((v.get("raw") or {}).get("zc_pinned_bytes"))
             for v in (led.get("by_namespace") or {}).values() if isinstance(v, dict)]
    total = [t for t in total if t is not None]
    return (sum(total), True) if total else (None, False)


def cell_row(c):
    led = c.get("ledger") or {}
    zc = led.get("zerocopy_notifications") or {}
    cpb = led.get("copies_per_byte")
    deferred = led.get("deferred_copy_percent")
    recv_exact = None
    if isinstance(led.get("receive_copy_bytes"), int) and "app_bytes_received" in led and "app_bytes_received" in led:
        recv_exact = led["receive_copy_bytes"] == led["app_bytes_received"]
    by_ns, raw_ns = deferred_by_namespace(led)
    pinned, raw_pinned = pinned_bytes(led)
    deferred_raw = False
    if deferred is None and by_ns and pinned:
        deferred, deferred_raw = 100.0 * sum(by_ns.values()) / pinned, True
    hooks = led.get("hooks") or {}
    form = lambda h: (hooks.get(h) or {}).get("mechanism") if isinstance(hooks.get(h), dict) else None
    return {
        "copies_per_byte": cpb,
        "deferred_raw": deferred_raw or (deferred is not None and raw_pinned),
        "deferred_by_namespace": by_ns,
        "deferred_by_namespace_raw": raw_ns,
        "pinned_bytes": pinned,
        "fallback_bytes": number(led.get("zerocopy_fallback_bytes")),
        "deferred_hook": form("deferred_copy"),
        "completions_hook": form("completions"),
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


def where_text(r):
    """Where the deferred copies happened: "router 100%" (share of all deferred bytes)."""
    by_ns = {ns: b for ns, b in r["deferred_by_namespace"].items() if b}
    total = sum(by_ns.values())
    if not by_ns:
        return "none" if r["deferred_by_namespace"] else "-"
    return ", ".join(f"{ns} {100.0 * b / total:.0f}%" for ns, b in
                     sorted(by_ns.items(), key=lambda x: -x[1]))


def copied_text(r):
    if r["completions"] is None:
        return "-"
    text = f"{r['completions_copied']}/{r['completions']}"
    if r["completions"]:
        text += f" ({100.0 * (r['completions_copied'] or 0) / r['completions']:.0f}%)"
    return text


TRANSPORT_ORDER = {"veth": 0, "nic": 1, "forward": 2, "loopback": 3}


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
    # The reports of one kernel (veth, nic, forward) make one kernel here.
    by_release = {}
    for p in paths:
        report, meta = load(p)
        release = (report.get("host") or {}).get("kernel_release") or meta.get("release") or p
        k = by_release.setdefault(release, {"release": release, "meta": {}, "cells": [],
                                            "complete": True, "reports": [],
                                            "interrupted": []})
        if meta:
            k["meta"] = meta
        k["cells"] += report.get("cells", [])
        k["complete"] = k["complete"] and bool(report.get("complete"))
        k["reports"].append(os.path.basename(p))
        if report.get("interrupted"):
            k["interrupted"].append(f"{os.path.basename(p)}: {report['interrupted']}")
    kernels = []
    for release, k in by_release.items():
        meta, cells = k["meta"], k["cells"]
        runs = meta.get("runs") or {}
        run_seconds = sum(r["run_seconds"] for r in runs.values()
                          if isinstance(r, dict) and r.get("run_seconds") is not None) \
            if runs else meta.get("run_seconds")
        kernels.append({
            "release": release,
            "package": meta.get("package"),
            "version": meta.get("version"),
            "boot_seconds": meta.get("boot_seconds"),
            "run_seconds": run_seconds,
            "host_wall_seconds": meta.get("host_wall_seconds"),
            "nic": meta.get("nic"),
            "reports": k["reports"],
            "interrupted": k["interrupted"],
            "hooks": mechanisms(cells),
            "hook_mode": hook_modes(cells),
            "cells": {cell_key(c): cell_row(c) for c in cells},
            "passed": sum(1 for c in cells if c.get("passed")),
            "total": len(cells),
            "complete": k["complete"],
        })

    keys = []
    for k in kernels:
        for key in k["cells"]:
            if key not in keys:
                keys.append(key)
    keys.sort(key=lambda x: (str(x[0]), TRANSPORT_ORDER.get(x[1], 9), str(x[1]), x[2] or 0,
                             x[3] or 0))

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
    for k in kernels:
        for why in k["interrupted"]:
            print(f"  {k['release']}: run interrupted: {why}")
        if k["nic"] and k["nic"].get("guest_device"):
            print(f"  {k['release']}: nic {k['nic']['guest_device']} -> {k['nic'].get('peer')}")
    print()

    zc_keys = [key for key in keys if key[0] == "zero-copy"]
    if zc_keys:
        print("Zero-copy by transport: veth (both ends in the guest), nic (leaves the guest through")
        print("virtio-net), forward (sender -> router -> receiver). deferred: % of the pinned bytes")
        print("copied later; where: the namespace(s) the deferred copy happened in; COPIED:")
        print("completions flagged SO_EE_CODE_ZEROCOPY_COPIED; (raw): from the ledger's raw counters")
        rows = []
        sizes_conns = sorted({(key[2] or 0, key[3] or 0) for key in zc_keys})
        for k in kernels:
            for size, conns in sizes_conns:
                for key in zc_keys:
                    if (key[2] or 0, key[3] or 0) != (size, conns) or key not in k["cells"]:
                        continue
                    r = k["cells"][key]
                    deferred = fmt(r["deferred_percent"], "{:.0f}%")
                    if r["deferred_raw"]:
                        deferred += " (raw)"
                    verdict = (r["verdict"] or "-").splitlines()[0]
                    if len(verdict) > 90:
                        verdict = verdict[:87] + "..."
                    rows.append([k["release"], size_text(size), conns, key[1], deferred,
                                 where_text(r), copied_text(r),
                                 fmt(r["fallback_bytes"], "{:.0f}"),
                                 f"{r['deferred_hook'] or '-'}/{r['completions_hook'] or '-'}",
                                 "ok" if r["passed"] else "FAIL", verdict])
        print(table(rows, ["kernel", "size", "conns", "transport", "deferred", "where",
                           "COPIED", "fallback B", "hooks (deferred/completions)", "cell",
                           "verdict"]))
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
