"""The tracepoint path against the exact one: the same cells run with --hooks auto (fentry/
fexit, exact) and --hooks prefer-tracepoints (the forms a kernel without fentry uses), their
ledger figures side by side.

What is proven: a figure whose hooks run in different forms in the two runs (the send
split from fexit vs tp_btf, the deferred copy and its sites from fexit on skb_copy_ubufs vs
inferred, pinned pages at the pin site vs from the iovecs, copies before transmit from
skb_segment/__pskb_pull_tail vs unflagged skbs leaving) must agree; that is the tracepoint
path checked against the exact one. A figure whose hooks run in the same form both ways
(receive copies, retransmits, transmitted and delivered bytes come from the same tracepoints
in both runs) cannot tell the two paths apart: it is compared as a control,
showing how much two runs of the same cell differ by themselves (a retransmission in one
run and not in the other, skbs laid out differently). A control that differs is printed
with the reason and does not make the comparison fail; neither does a proven figure that
also depends on retransmits when the two runs retransmitted different bytes (printed).

Every figure of the ledger is compared, found generically (copyscope_report.model reads
every number at the ledger's top level and in each by_namespace entry), so figures added to
the report are compared without a change here. Tolerance: a figure that comes from the
deferred-copy hook (the tracepoint path infers it from the zerocopy bytes a namespace
receives and does not forward on) must be within 0.5% of the exact one; every other figure
must be equal (to the byte). Where the two runs sent different byte counts, byte figures are
compared per byte sent (with --bytes they send the same)."""
from dataclasses import dataclass
from typing import List, Optional

from copyscope_report.model import ReportError, Unsupported, figure_hooks, format_size, \
    load_report

DEFERRED_TOLERANCE = 0.005  # relative

# Copy sites only the exact forms see (a TX timestamp's clone copied inside __skb_tstamp_tx;
# skb_copy, which leaves the source skb zerocopy): unsupported on the tracepoint path. The
# comparison holds there only while the exact path counted none of them; a copy there is
# one the tracepoint path missed.
TRACEPOINT_UNSEEN = ("copy_site_timestamp_bytes", "copy_site_skb_copy_bytes")


def tolerance(name):
    hooks = figure_hooks(name) or ()
    return DEFERRED_TOLERANCE if "deferred_copy" in hooks else 0.0


@dataclass
class Row:
    run: str
    cell: str
    namespace: Optional[str]  # None: a top-level figure
    figure: str
    exact: object  # float | Unsupported | None
    traced: object
    exact_evidence: str
    traced_evidence: str
    tolerance: float
    ok: bool
    why: str = ""
    # "proof": the forms differ, the row must hold; "control": same forms, or traffic that
    # differs between the runs (a difference there is printed, not a failure)
    kind: str = "proof"

    @property
    def fails(self):
        return self.kind == "proof" and not self.ok

    @property
    def label(self):
        return f"{self.namespace}.{self.figure}" if self.namespace else self.figure


def _scaled(value, name, scale):
    """Byte (and page) figures of the tracepoint run per byte sent of the exact run."""
    if scale == 1.0 or not isinstance(value, float) or not name.endswith(("_bytes", "pages")):
        return value
    return value * scale


def compare_values(exact, traced, tol, name=""):
    """(ok, why)."""
    if name in TRACEPOINT_UNSEEN and isinstance(traced, Unsupported) and \
            not isinstance(exact, Unsupported):
        if exact == 0:
            return True, "not seen from tracepoints; none on the exact path"
        return False, f"{exact:g} on the exact path, not seen from tracepoints"
    if isinstance(exact, Unsupported) or isinstance(traced, Unsupported):
        if isinstance(exact, Unsupported) and isinstance(traced, Unsupported):
            return True, "unsupported in both"
        which = "exact" if isinstance(exact, Unsupported) else "tracepoint"
        why = exact.reason if isinstance(exact, Unsupported) else traced.reason
        return False, f"unsupported on the {which} path: {why}"
    if exact is None or traced is None:
        return False, "missing on the " + ("exact" if exact is None else "tracepoint") + " path"
    diff = abs(traced - exact)
    if diff <= tol * abs(exact) or diff <= 1e-9 * max(abs(exact), 1.0):
        return True, ""
    rel = f"{100.0 * diff / abs(exact):.3f}%" if exact else "from 0"
    return False, f"differs by {diff:g} ({rel})"


def _evidence(ledger, name, mechanisms=True):
    level = ledger.evidence(name)
    hooks = figure_hooks(name)
    if not mechanisms or not hooks:
        return level if hooks is not None else "unknown"
    forms = "+".join(sorted({ledger.mechanism(h) or "-" for h in hooks}))
    return f"{level} ({forms})"


def compare_cells(run, a, t):
    """Rows for one cell measured both ways."""
    la, lt = a.ledger, t.ledger
    cell = f"{a.strategy} {a.transport} {format_size(a.size)} x{a.threads}"
    if la is None or lt is None:
        which = "exact" if la is None else "tracepoint"
        return [Row(run, cell, None, "ledger", None, None, "-", "-", 0.0, False,
                    f"no ledger on the {which} path")]
    sent_a, sent_t = la.figure("app_bytes_sent"), lt.figure("app_bytes_sent")
    scale = sent_a / sent_t if isinstance(sent_a, float) and isinstance(sent_t, float) and \
        sent_t else 1.0
    rows = []
    spaces = [(None, la.figures, lt.figures)] + [
        (ns, la.by_namespace.get(ns, {}), lt.by_namespace.get(ns, {}))
        for ns in sorted(set(la.by_namespace) | set(lt.by_namespace))]
    rtx_a, rtx_t = la.figure("retransmit_bytes"), lt.figure("retransmit_bytes")
    for ns, fa, ft in spaces:
        for name in sorted(set(fa) | set(ft)):
            tol = tolerance(name)
            ok, why = compare_values(fa.get(name), _scaled(ft.get(name), name, scale), tol,
                                     name)
            row = Row(run, cell, ns, name, fa.get(name), ft.get(name), _evidence(la, name),
                      _evidence(lt, name), tol, ok, why)
            hooks = figure_hooks(name) or ()
            given = [isinstance(v, float) for v in (fa.get(name), ft.get(name))]
            if given[0] != given[1]:
                pass  # given one way only: never the traffic's doing
            elif hooks and all(la.mechanism(h) == lt.mechanism(h) for h in hooks):
                row.kind = "control"
                if not ok:
                    row.why += f"; same form both ways ({_forms(la, hooks)}): the runs differ"
            elif "retransmits" in hooks and rtx_a != rtx_t:
                row.kind = "control"
                if not ok:
                    row.why += (f"; the runs retransmitted different bytes "
                                f"({_value_text(rtx_a)} vs {_value_text(rtx_t)})")
            rows.append(row)
    return rows


def _forms(ledger, hooks):
    return "+".join(sorted({ledger.mechanism(h) or "-" for h in hooks}))


def compare_reports(run, exact_path, traced_path):
    """(rows, problems) for one run made both ways."""
    problems = []
    if not exact_path or not traced_path:
        missing = "--hooks auto" if not exact_path else "--hooks prefer-tracepoints"
        return [], [f"{run}: no report with {missing}"]
    try:
        a, t = load_report(exact_path), load_report(traced_path)
    except ReportError as e:
        return [], [str(e)]
    traced = {c.key: c for c in t.cells}
    rows = []
    for c in a.cells:
        if c.key not in traced:
            problems.append(f"{run}: {c.key} not measured with --hooks prefer-tracepoints")
            continue
        rows += compare_cells(run, c, traced.pop(c.key))
    problems += [f"{run}: {k} not measured with --hooks auto" for k in traced]
    for c in t.cells:
        led = c.ledger
        if led and led.hook_mode and led.hook_mode != "prefer-tracepoints":
            problems.append(f"{run}: the tracepoint run's tracer says hook mode {led.hook_mode}")
    return rows, problems


def _value_text(v):
    if isinstance(v, Unsupported):
        return "unsupported"
    if v is None:
        return "-"
    return f"{v:.0f}" if v == int(v) and abs(v) >= 1 else f"{v:.6g}"


def _table(rows, header):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()  # noqa
    return [line(header), line(["-" * w for w in widths])] + [line(r) for r in rows]


def by_figure(rows: List[Row]):
    """One line per figure (over cells): exact and tracepoint totals, largest difference."""
    groups = {}
    for r in rows:
        groups.setdefault((r.run, r.label), []).append(r)
    out = []
    for (run, label), rs in groups.items():
        nums = [(r.exact, r.traced) for r in rs
                if isinstance(r.exact, float) and isinstance(r.traced, float)]
        worst = max((abs(t - e) / abs(e) for e, t in nums if e), default=0.0)
        from_zero = any(e == 0 and t != 0 for e, t in nums)
        total = lambda i: sum(n[i] for n in nums)  # noqa: E731
        summable = label.endswith(("_bytes", "pages"))
        if all(r.ok for r in rs):
            holds = "ok" if any(r.kind == "proof" for r in rs) else "ok (control)"
        else:
            holds = "DIFFERS" if any(r.fails for r in rs) else "differs (control)"
        out.append([run, label, len(rs), _value_text(total(0)) if summable and nums else "",
                    _value_text(total(1)) if summable and nums else "",
                    ("0" if worst == 0 else f"{100 * worst:.3f}%") + (" (from 0)" if from_zero
                                                                       else ""),
                    "0.5%" if rs[0].tolerance else "exact", rs[0].exact_evidence,
                    rs[0].traced_evidence, holds])
    return out


def compare_paths(spec, pairs):
    """PAIRS: [(run, exact report path, tracepoint report path)]. Returns (ok, text)."""
    rows, problems = [], []
    for run, exact_path, traced_path in pairs:
        r, p = compare_reports(run, exact_path, traced_path)
        rows += r
        problems += p
    bad = [r for r in rows if r.fails]
    controls = [r for r in rows if not r.ok and not r.fails]
    lines = [f"Tracepoint path vs exact hooks ({spec}): every ledger figure of every cell, "
             "--hooks prefer-tracepoints against --hooks auto; deferred copy within 0.5%, "
             "every other figure to the byte. Totals over the cells; evidence from "
             "ledger.hooks (exact/inferred, with the forms)."]
    lines += _table(by_figure(rows), ["run", "figure", "cells", "exact total",
                                      "tracepoint total", "max diff", "tolerance",
                                      "evidence --hooks auto", "evidence prefer-tracepoints",
                                      "holds"])
    for title, which in (("Figures that differ (the tracepoint path against the exact "
                          "hooks):", bad),
                         ("Controls that differ (not a difference of the hook forms):",
                          controls)):
        if which:
            lines += ["", title]
            lines += _table([[r.run, r.cell, r.label, _value_text(r.exact),
                              _value_text(r.traced), r.why] for r in which],
                            ["run", "cell", "figure", "exact", "tracepoint", "why"])
    for p in problems:
        lines.append(f"  {p}")
    ok = any(r.kind == "proof" for r in rows) and not bad and not problems
    proofs = sum(1 for r in rows if r.kind == "proof")
    lines.append(f"{len(rows)} figures compared in {len({(r.run, r.cell) for r in rows})} cells "
                 f"({proofs} where the forms differ, {len(rows) - proofs} controls, "
                 f"{len(controls)} controls differ): "
                 + ("the tracepoint path equals the exact hooks" if ok else
                    f"{len(bad)} differ, {len(problems)} problems: the comparison does NOT hold"))
    return ok, "\n".join(lines)
