"""One table across kernels from the matrix's reports (and a host report).

Reads copyscope reports through copyscope_report.model, and beside each the matrix's
kernel-<release>.meta.json when it is there. The reports of one kernel (veth, nic, forward)
are grouped by the kernel release they name. Prints:
  - per kernel: package, boot and run time in the guest, the hook form behind each ledger
    figure (every form seen when the cells differ), the tracer's hook mode, cells passed;
  - zero-copy by transport (veth vs nic vs forward): deferred % of the pinned bytes, the
    namespace(s) the deferred copy happened in, COPIED completions, the verdict and the hook
    forms behind deferred copies and completions ("(raw)": from the raw counters);
  - the send paths real programs use (sendfile, io_uring, UDP zerocopy with GSO): per kernel
    and transport, the bytes copied at send, sent by reference, pinned, registered, copied as
    a zerocopy fallback and deferred, the notifications flagged COPIED, and the answer: is
    SEND_ZC effective through virtio-net, is UDP zerocopy with GSO effective at send, does
    sendfile copy at send;
  - a copyscope run traced by `copyscope trace` (kernel-<release>-trace.json beside the
    run's kernel-<release>-traced.json): per sending connection, the trace's figures against
    the run's own counts, and the hook forms (see trace_check.py);
  - per cell, for each kernel: copies per byte, deferred %, receive copies exact or not,
    COPIED completions, the verdict and whether the cell passed its checks.
"""
import json
import os
import re

from copyscope_report.model import ReportError, TRANSPORT_ORDER, Unsupported, format_size, \
    load_report, order_key

from . import trace_check

HOOKS = ["send", "pinned_pages", "deferred_copy", "receive_copy", "completions", "retransmits"]


def load_meta(report_path):
    base = report_path[:-5] if report_path.endswith(".json") else report_path
    for candidate in (base + ".meta.json",):
        if os.path.exists(candidate):
            with open(candidate) as f:
                return json.load(f)
    return {}


def fmt(v, spec="{:.2f}"):
    if v is None:
        return "-"
    if isinstance(v, Unsupported):
        return "unsupported"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, (int, float)):
        return spec.format(v)
    return str(v)


def cell_row(c):
    led = c.ledger
    row = {"passed": c.passed, "failed_checks": [k.name for k in c.checks if not k.passed],
           "copies_per_byte": c.copies_per_byte if c.ledger_state == "ok" else
           (Unsupported(c.ledger_why) if c.ledger_state == "unsupported" else None),
           "expected": c.copies_expected, "deferred_percent": c.deferred_percent,
           "deferred_raw": False, "by_ns": {}, "receive_exact": None, "completions": None,
           "copied": None, "verdict": c.verdict, "deferred_hook": None,
           "completions_hook": None}
    if led is None:
        return row
    recv, app = led.figure("receive_copy_bytes"), led.figure("app_bytes_received")
    if isinstance(recv, float) and isinstance(app, float):
        row["receive_exact"] = recv == app
    row["by_ns"], raw_ns = led.deferred_by_namespace()
    pinned, raw_pinned = led.pinned_bytes()
    if row["deferred_percent"] is None and row["by_ns"] and pinned:
        row["deferred_percent"] = 100.0 * sum(row["by_ns"].values()) / pinned
        row["deferred_raw"] = True
    row["deferred_raw"] = row["deferred_raw"] or (row["deferred_percent"] is not None and
                                                  raw_pinned)
    row.update(completions=led.completions, copied=led.completions_copied,
               deferred_hook=led.mechanism("deferred_copy"),
               completions_hook=led.mechanism("completions"))
    return row


def where_text(r):
    """Where the deferred copies happened: "router 100%" (share of all deferred bytes)."""
    by_ns = {ns: b for ns, b in r["by_ns"].items() if b}
    total = sum(by_ns.values())
    if not by_ns:
        return "none" if r["by_ns"] else "-"
    return ", ".join(f"{ns} {100.0 * b / total:.0f}%"
                     for ns, b in sorted(by_ns.items(), key=lambda x: -x[1]))


def copied_text(r):
    if r["completions"] is None:
        return "-"
    text = f"{r['copied']}/{r['completions']}"
    if r["completions"]:
        text += f" ({100.0 * (r['copied'] or 0) / r['completions']:.0f}%)"
    return text


def table(rows, header):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()  # noqa
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def kernels_of(paths):
    """The reports grouped by kernel release: [{release, label, meta, cells, ...}]."""
    by_release = {}
    for p in paths:
        report, meta = load_report(p), load_meta(p)
        release = report.host.kernel_release or meta.get("release") or p
        host = os.path.basename(p).startswith("host-")
        k = by_release.setdefault(release, {
            "release": release, "label": release + (" (host)" if host else ""), "meta": {},
            "cells": [], "complete": True, "reports": [], "interrupted": []})
        k["meta"] = meta or k["meta"]
        k["cells"] += report.cells
        k["complete"] = k["complete"] and report.complete is True
        k["reports"].append(os.path.basename(p))
        if report.interrupted:
            k["interrupted"].append(f"{os.path.basename(p)}: {report.interrupted}")
    for k in by_release.values():
        runs = k["meta"].get("runs") or {}
        secs = [r.get("run_seconds") for r in runs.values() if isinstance(r, dict)]
        k["run_seconds"] = sum(s for s in secs if s is not None) if runs else None
        forms, modes = {}, set()
        for c in k["cells"]:
            led = c.ledger
            if led is None or not led.tracer_available:
                modes.add("unavailable")
                continue
            mode = led.hook_mode or "?"
            if "failed" in (led.tracer_note or ""):
                mode += " (preferred forms failed to load)"
            modes.add(mode)
            for name, h in led.hooks.items():
                if h.mechanism:
                    forms.setdefault(name, set()).add(h.mechanism)
        k["hooks"] = {n: "/".join(sorted(v)) for n, v in forms.items()}
        k["hook_mode"] = ", ".join(sorted(modes)) or "-"
        k["rows"] = {c.key: cell_row(c) for c in k["cells"]}
    # Oldest kernel first, this machine's own last.
    natural = lambda r: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", r)]  # noqa
    return sorted(by_release.values(), key=lambda k: (k["label"].endswith("(host)"),
                                                      natural(k["release"])))


def cell_order(key):
    strategy, transport, pattern, size, threads = key
    return (str(strategy), order_key(TRANSPORT_ORDER, transport), str(pattern), size, threads)


def render(kernels):
    out = ["Kernels"]
    rows = []
    for k in kernels:
        m = k["meta"]
        boots = len(m.get("attempts") or [None]) if m else "-"
        rows.append([k["label"], m.get("version") or "-", fmt(m.get("boot_seconds"), "{:.1f}"),
                     fmt(k["run_seconds"], "{:.1f}"), fmt(m.get("host_wall_seconds"), "{:.0f}"),
                     boots, f"{sum(1 for c in k['cells'] if c.passed)}/{len(k['cells'])}"]
                    + [k["hooks"].get(h, "-") for h in HOOKS] + [k["hook_mode"]])
    out.append(table(rows, ["kernel", "version", "boot s", "run s", "wall s", "boots", "passed"]
                     + HOOKS + ["tracer"]))
    for k in kernels:
        out += [f"  {k['label']}: run interrupted: {why}" for why in k["interrupted"]]
        nic = k["meta"].get("nic") or {}
        if nic.get("guest_device"):
            out.append(f"  {k['label']}: nic {nic['guest_device']} -> {nic.get('peer')}")
    out.append("")
    keys = sorted({key for k in kernels for key in k["rows"]}, key=cell_order)
    zc = [key for key in keys if key[0] == "zero-copy"]
    if zc:
        out += ["Zero-copy by transport: veth (both ends in one kernel), nic (leaves the guest "
                "through virtio-net),",
                "forward (sender -> router -> receiver). deferred: % of the pinned bytes copied "
                "later; where: the",
                "namespace(s) the deferred copy happened in; COPIED: completions flagged "
                "SO_EE_CODE_ZEROCOPY_COPIED (io_uring: notifications flagged "
                "IORING_NOTIF_USAGE_ZC_COPIED);", "(raw): from the ledger's raw counters"]
        rows = []
        for k in kernels:
            for key in sorted(zc, key=lambda x: (x[3], x[4], cell_order(x))):
                r = k["rows"].get(key)
                if r is None:
                    continue
                deferred = fmt(r["deferred_percent"], "{:.0f}%") + (" (raw)" if
                                                                   r["deferred_raw"] else "")
                rows.append([k["label"], format_size(key[3]), key[4], key[1], deferred,
                             where_text(r), copied_text(r),
                             f"{r['deferred_hook'] or '-'}/{r['completions_hook'] or '-'}",
                             "ok" if r["passed"] else "FAIL", short(r["verdict"], 90)])
        out.append(table(rows, ["kernel", "size", "conns", "transport", "deferred", "where",
                                "COPIED", "hooks (deferred/completions)", "cell", "verdict"]))
        out.append("")
    out += render_path_cells(kernels)
    out.append("Cells (copies/B measured/expected, deferred % of zerocopy bytes, receive copies "
               "exact, COPIED completions/completions, verdict)")
    rows = []
    for key in keys:
        strategy, transport, _, size, threads = key
        for k in kernels:
            r = k["rows"].get(key)
            if r is None:
                rows.append([strategy, transport, format_size(size), threads, k["label"],
                             "absent", "", "", "", "", ""])
                continue
            zc_text = f"{r['copied']}/{r['completions']}" if r["completions"] is not None else "-"
            verdict = short(r["verdict"], 110)
            if r["failed_checks"]:
                verdict += " [FAILED: " + "; ".join(r["failed_checks"]) + "]"
            rows.append([strategy, transport, format_size(size), threads, k["label"],
                         f"{fmt(r['copies_per_byte'])}/{fmt(r['expected'])}",
                         fmt(r["deferred_percent"], "{:.0f}%"), fmt(r["receive_exact"]), zc_text,
                         "ok" if r["passed"] else "FAIL", verdict])
    out.append(table(rows, ["strategy", "transport", "size", "conns", "kernel", "copies/B",
                            "deferred", "recv exact", "COPIED", "cell", "verdict"]))
    return "\n".join(out)


PATH_STRATEGIES = ("sendfile", "io-uring", "io-uring-zc", "io-uring-zc-fixed")


def is_path_cell(c):
    return c.strategy.split(" ")[0] in PATH_STRATEGIES or " udp" in c.strategy


def nbytes(v):
    if isinstance(v, Unsupported):
        return "unsupported"
    return "-" if v is None else f"{v:.0f}"


def path_answer(c, r):
    """The question each path asks, answered from the cell's ledger."""
    led, strategy = c.ledger, c.strategy
    if led is None:
        return "no ledger"
    fig = lambda n: led.figure(n) if isinstance(led.figure(n), float) else None  # noqa
    sent = c.bytes_sent or 0
    if strategy.startswith("io-uring-zc"):
        n, x = r["completions"], r["copied"] or 0
        if not n:
            return "SEND_ZC: no notification read"
        # On 6.10+ a notification stacked on an earlier request's skb is flagged with nothing
        # copied: only the others say whether SEND_ZC avoided the copy.
        stacked = led.stacked_copied or 0
        own, own_n = x - stacked, n - stacked
        word = ("effective" if own == 0 else "not effective" if own == own_n
                else "partly effective")
        extra = ""
        if x and not fig("kernel_send_copy_bytes") and not fig("deferred_copy_bytes"):
            extra = "; no copy counted"
        if x and stacked:
            extra += f"; {stacked} of them stacked (6.10+: no skb of their own, nothing copied)"
        return f"SEND_ZC {word}: {x}/{n} notifications COPIED{extra}"
    if " udp" in strategy:
        pinned = fig("zerocopy_pinned_bytes") or 0
        copied = (fig("kernel_send_copy_bytes") or 0) + (fig("zerocopy_fallback_bytes") or 0)
        if not sent:
            return "nothing sent"
        word = "effective at send" if pinned and not copied else (
            "not effective at send" if not pinned else "partly effective at send")
        later = fig("deferred_copy_bytes")
        return (f"UDP zerocopy {word}: pinned {100.0 * pinned / sent:.0f}%, copied at send "
                f"{100.0 * copied / sent:.0f}%" + (f", copied later {100.0 * later / sent:.0f}%"
                                                   if later is not None else ""))
    send_copy = fig("kernel_send_copy_bytes")
    if send_copy is None:
        return "send copy unsupported"
    if strategy == "sendfile":
        ref = fig("spliced_bytes")
        return ("no copy at send" if send_copy == 0 else f"copied at send {send_copy:.0f} B") + (
            f", by reference {100.0 * ref / sent:.0f}%" if ref is not None and sent else "")
    return f"copied at send {100.0 * send_copy / sent:.0f}%" if sent else "nothing sent"


def render_path_cells(kernels):
    out = ["Send paths (bytes): copied at send, by reference (sendfile), pinned per send, "
           "registered (io_uring fixed",
           "buffers), zerocopy fallback, deferred; COPIED: notifications flagged "
           "IORING_NOTIF_USAGE_ZC_COPIED / completions flagged SO_EE_CODE_ZEROCOPY_COPIED"]
    rows = []
    for k in kernels:
        for c in sorted((c for c in k["cells"] if is_path_cell(c)), key=lambda c: (
                order_key(TRANSPORT_ORDER, c.transport), c.strategy, c.size)):
            r, led = k["rows"][c.key], c.ledger
            f = (lambda n: led.figure(n)) if led else (lambda n: None)
            rows.append([k["label"], c.strategy, c.transport, format_size(c.size),
                         nbytes(c.bytes_sent), nbytes(f("kernel_send_copy_bytes")),
                         nbytes(f("spliced_bytes")), nbytes(f("zerocopy_pinned_bytes")),
                         nbytes(f("registered_bytes")), nbytes(f("zerocopy_fallback_bytes")),
                         nbytes(f("deferred_copy_bytes")), copied_text(r),
                         "ok" if r["passed"] else "FAIL", path_answer(c, r)])
    if not rows:
        return []
    out.append(table(rows, ["kernel", "strategy", "transport", "size", "sent", "send copy",
                            "by ref", "pinned", "registered", "fallback", "deferred", "COPIED",
                            "cell", "answer"]))
    return out + [""]


def render_traces(traces):
    """Per trace report: its kernel, hook forms and each sending connection's check."""
    out = ["copyscope trace of a copyscope run: per sending connection, the trace's figures "
           "against the run's own counts", "(bytes sent; pinned; completions and those "
           "flagged COPIED as the run read them / as the trace saw them)"]
    rows = []
    for path, trace, run in traces:
        release = (trace.get("host") or {}).get("kernel_release") or os.path.basename(path)
        if run is None:
            out.append(f"  {release}: no traced run's report beside {os.path.basename(path)}")
            continue
        got, problems = trace_check.check(run, trace)
        forms = trace_check.hook_forms(trace.get("hooks"))
        out.append(f"  {release}: hooks " + ", ".join(
            f"{h} {forms[h]}" for h in HOOKS if h in forms) + "; " +
            ("checks hold" if not problems else "FAILED: " + "; ".join(problems)))
        for g in got:
            rows.append([release, g["strategy"], format_size(g["size"]), g["connection"],
                         f"{g['run_bytes_sent']}/{g['trace_bytes_sent']}", g["pinned"],
                         f"{g['run_copied']}/{g['run_completions']}" if g["run_completions"]
                         is not None else "-",
                         f"{g['trace_copied']}/{g['trace_completions']}"
                         if g["trace_completions"] is not None else "-",
                         "ok" if not g["failed"] else "FAIL", short(g["verdict"], 80)])
    if rows:
        out.append(table(rows, ["kernel", "strategy", "size", "connection", "sent run/trace",
                                "pinned", "COPIED run", "COPIED trace", "check", "verdict"]))
    return out + [""]


def short(text, n):
    text = (text or "-").splitlines()[0]
    return text if len(text) <= n else text[:n - 3] + "..."


def as_json(kernels, traces=()):
    def row(key, r):
        v = dict(r, strategy=key[0], transport=key[1], pattern=key[2], message_size=key[3],
                 threads=key[4])
        v["copies_per_byte"] = fmt(v["copies_per_byte"], "{}") if isinstance(
            v["copies_per_byte"], Unsupported) else v["copies_per_byte"]
        return v
    return json.dumps({"kernels": [
        {x: k[x] for x in ("release", "label", "meta", "reports", "interrupted", "hooks",
                           "hook_mode", "run_seconds", "complete")}
        | {"passed": sum(1 for c in k["cells"] if c.passed), "total": len(k["cells"]),
           "cells": [row(key, r) for key, r in k["rows"].items()]}
        for k in kernels], "traces": [trace_json(p, t, r) for p, t, r in traces]}, indent=2)


def trace_json(path, trace, run):
    rows, problems = trace_check.check(run, trace) if run is not None else (
        [], ["no traced run's report beside it"])
    return {"report": os.path.basename(path),
            "release": (trace.get("host") or {}).get("kernel_release"),
            "hooks": trace_check.hook_forms(trace.get("hooks")), "connections": rows,
            "problems": problems}


def is_trace_report(path):
    try:
        with open(path) as f:
            return json.load(f).get("schema") == "copyscope-trace"
    except (OSError, ValueError, AttributeError):
        return False


def traced_path(trace_path):
    """kernel-<release>-traced.json for kernel-<release>-trace.json."""
    return re.sub(r"-trace\.json$", "", trace_path) + "-traced.json"


def load_traces(paths):
    """[(path, trace report, the traced run's report or None)]: the run's is
    kernel-<release>-traced.json beside kernel-<release>-trace.json."""
    out = []
    for p in paths:
        with open(p) as f:
            trace = json.load(f)
        run_path = traced_path(p)
        run = None
        if os.path.exists(run_path):
            with open(run_path) as f:
                run = json.load(f)
        out.append((p, trace, run))
    return out


def render_paths(paths, json_output=False):
    """The summary of the reports at PATHS (meta files among them are read beside; trace
    reports are checked against the traced run's report beside them)."""
    paths = [p for p in paths if not p.endswith(".meta.json")]
    traces = load_traces([p for p in paths if is_trace_report(p)])
    # The traced run's cells repeat the veth run's (same keys): its report is the trace's pair.
    traced = {os.path.abspath(traced_path(p)) for p, _, _ in traces}
    kernels = kernels_of([p for p in paths if not is_trace_report(p)
                          and os.path.abspath(p) not in traced])
    if json_output:
        return as_json(kernels, traces)
    return render(kernels) + ("\n\n" + "\n".join(render_traces(traces)) if traces else "")


__all__ = ["render_paths", "ReportError"]
