"""report.md: the run in words, the crossover answers, the verdicts, the plots and the cells."""
import shlex

from .crossover import crossovers
from .model import Unsupported, format_size, sorted_cells
from .plots import Plot, Skipped


def _num(v, fmt="{:.2f}"):
    if v is None:
        return "—"
    if isinstance(v, Unsupported):
        return "unsupported"
    return fmt.format(v)


def _md(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def throughput_text(c):
    if c.mean is None:
        return "—"
    if c.has_ci:
        return f"{c.mean:.3g} ± {c.ci_half:.2g}"
    return f"{c.mean:.3g} (no CI: {c.repetitions} rep)"


def converged_text(c):
    if c.converged is None:
        return "— (1 rep)" if c.repetitions <= 1 else "—"
    rel = f", ±{100 * c.ci_relative:.0f}%" if c.ci_relative is not None else ""
    return ("yes" if c.converged else "**no**") + f" ({c.repetitions} reps{rel})"


def copies_text(c):
    if c.ledger_state == "null":
        return "no ledger"
    if c.ledger_state != "ok":
        return "unsupported"
    return f"{c.copies_per_byte:.2f}"


def checks_text(c):
    if c.error:
        return "**error**"
    if c.passed is None:
        return "—"
    return "ok" if c.passed else "**FAILED**"


def host_lines(report):
    h = report.host
    bits = []
    if h.kernel_release:
        bits.append(f"Linux {h.kernel_release}")
    if h.cpu_model:
        bits.append(h.cpu_model)
    if h.cores is not None:
        bits.append(f"{h.cores} cores")
    if h.btf_present is not None:
        bits.append("BTF " + ("present" if h.btf_present else "absent"))
    if h.lockdown:
        bits.append(f"lockdown {h.lockdown}")
    return ", ".join(bits) if bits else "unknown"


def complete_text(report):
    if report.complete is True:
        return "yes, every planned cell ran"
    if report.complete is False:
        why = f": {report.interrupted}" if report.interrupted else ""
        return f"**no** — the run was interrupted{why}; only the finished cells are here"
    return "unknown (the report does not say)"


def render(reports, cells, plot_results, notes=()):
    cells = sorted_cells(cells)
    L = []
    L.append("# copyscope report")
    L.append("")
    for i, r in enumerate(reports):
        if len(reports) > 1:
            L.append(f"## Source {i + 1}: `{r.path}`")
            L.append("")
        elif r.path:
            L.append(f"Source: `{r.path}`")
            L.append("")
        cmd = " ".join(shlex.quote(a) for a in r.command_line) if r.command_line else "unknown"
        L.append(f"- **Host:** {host_lines(r)}")
        tool = r.tool_version
        if tool:
            L.append(f"- **copyscope:** {tool}")
        L.append(f"- **Command line:** `{cmd}`")
        if r.started_at:
            L.append(f"- **Started:** {r.started_at}")
        if r.preset:
            L.append(f"- **Preset:** {r.preset}")
        L.append(f"- **Complete:** {complete_text(r)}")
        n = len(r.cells)
        failed = sum(1 for c in r.cells if c.passed is False or c.error)
        L.append(f"- **Cells:** {n}" + (f", {failed} failed their checks" if failed else ", all passed their checks"))
        L.append("")

    # Crossovers.
    L.append("## Crossovers: when does avoiding a copy pay off?")
    L.append("")
    answers = crossovers(cells)
    if not answers:
        L.append("Not answerable from this report: it needs two-copy and one-copy (or zero-copy) "
                 "measured at the same transport and connection count.")
    else:
        L.append("The smallest measured message size from which the faster strategy's mean "
                 "throughput stays above two-copy's at every larger measured size, per transport "
                 "and connection count. Overlapping 95% confidence intervals mean the lead is "
                 "within the run-to-run noise.")
        L.append("")
        questions = []
        for a in answers:
            for x in a.results:
                if (x.challenger, x.baseline) not in questions:
                    questions.append((x.challenger, x.baseline))
        head = ["transport", "pattern", "connections"] + [f"{c} beats {b}" for c, b in questions]
        L.append("| " + " | ".join(head) + " |")
        L.append("|" + "---|" * len(head))
        for a in answers:
            row = [a.transport, a.pattern, str(a.threads)]
            for q in questions:
                found = [x for x in a.results if (x.challenger, x.baseline) == q]
                row.append(_md(found[0].sentence()) if found else "not measured")
            L.append("| " + " | ".join(row) + " |")
        L.append("")
        # A one-line answer per transport and pattern.
        by = {}
        for a in answers:
            by.setdefault((a.transport, a.pattern), []).append(a)
        for (t, p), group in by.items():
            for q in questions:
                parts = []
                for a in group:
                    for x in a.results:
                        if (x.challenger, x.baseline) == q:
                            if x.status in ("from", "always"):
                                short = ("at every size" if x.status == "always"
                                         else f"from {format_size(x.from_size)}")
                                if x.clear_from is None and (x.overlap or x.no_ci):
                                    short += " (within noise)"
                            elif x.status == "never":
                                short = "never"
                            else:
                                continue
                            ratio = (f", {x.ratio_at_largest:.2f}× two-copy's throughput at "
                                     f"{format_size(x.sizes[-1])}") if x.ratio_at_largest else ""
                            parts.append(f"{a.threads} conn: {short}{ratio}")
                if parts:
                    L.append(f"- **{q[0]} vs {q[1]}, {t} ({p}):** " + "; ".join(parts) + ".")
        L.append("")

    # Verdicts.
    L.append("## Zero-copy verdicts")
    L.append("")
    zc = [c for c in cells if c.has_verdict_strategy]
    if not zc:
        L.append("No zero-copy, sendfile or io-uring-zc cells in this report.")
    else:
        groups = {}
        for c in zc:
            v = c.verdict or ("no ledger, so no verdict (run without the tracer)" if c.ledger_state == "null"
                              else "no verdict")
            groups.setdefault(v, []).append(c)
        for v, cs in groups.items():
            where = ", ".join(f"{c.transport} {c.pattern} {format_size(c.size)} ×{c.threads}" for c in cs)
            L.append(f"- {_md(v)} — {where}")
    L.append("")

    # Plots.
    L.append("## Plots")
    L.append("")
    drawn = [p for p in plot_results if isinstance(p, Plot)]
    skipped = [p for p in plot_results if isinstance(p, Skipped)]
    for p in drawn:
        L.append(f"### {p.title}")
        L.append("")
        L.append(f"![{p.title}]({p.file})")
        L.append("")
        L.append(p.caption)
        L.append("")
    if skipped:
        L.append("### Not plotted")
        L.append("")
        for s in skipped:
            L.append(f"- **{s.title}:** not plotted — {_md(s.reason)}.")
        L.append("")

    # Cells.
    L.append("## Cells")
    L.append("")
    if not cells:
        L.append("The report has no cells.")
    else:
        L.append("Throughput is the mean over the cell's repetitions ± the half-width of its 95% "
                 "confidence interval; CPU-s/GiB counts the sender and receiver threads.")
        L.append("")
        head = ["strategy", "transport", "pattern", "size", "conns", "Gbit/s ± CI", "converged",
                "copies/byte", "deferred %", "CPU-s/GiB", "checks", "verdict"]
        L.append("| " + " | ".join(head) + " |")
        L.append("|" + "---|" * len(head))
        for c in cells:
            row = [c.strategy, c.transport, c.pattern, format_size(c.size), str(c.threads),
                   throughput_text(c), converged_text(c), copies_text(c),
                   _num(c.deferred_percent, "{:.1f}"), _num(c.counter("cpu_seconds_per_gib"), "{:.3g}"),
                   checks_text(c), _md(c.verdict) if c.verdict else "—"]
            L.append("| " + " | ".join(row) + " |")
        L.append("")
        errs = [c for c in cells if c.error]
        for c in errs:
            L.append(f"- Error in {c.strategy} {c.transport} {format_size(c.size)} ×{c.threads}: {_md(c.error)}")
        if errs:
            L.append("")

    rr = [c for c in cells if c.latency]
    if rr:
        L.append("## Round-trip latency (request/response cells)")
        L.append("")
        head = ["strategy", "transport", "size", "conns", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs"]
        L.append("| " + " | ".join(head) + " |")
        L.append("|" + "---|" * len(head))
        for c in rr:
            lat = c.latency
            L.append("| " + " | ".join([c.strategy, c.transport, format_size(c.size), str(c.threads)] +
                                       [_num(lat.get(k), "{:.1f}") for k in
                                        ("p50_us", "p90_us", "p99_us", "p999_us", "max_us")]) + " |")
        L.append("")

    notes = list(notes)
    seen = {}
    for c in cells:
        seen.setdefault((c.strategy, c.transport, c.pattern, c.size, c.threads), []).append(c)
    dups = [k for k, v in seen.items() if len(v) > 1]
    if dups:
        notes.append("Measured in more than one report (each drawn; the crossovers use the last "
                     "report given): " + ", ".join(f"{s} {t} {p} {format_size(z)} ×{n}"
                                                   for s, t, p, z, n in dups) + ".")
    if notes:
        L.append("## Notes")
        L.append("")
        for n in notes:
            L.append(f"- {n}")
        L.append("")
    return "\n".join(L)
