"""The PNG plots of a copyscope report (matplotlib, Agg backend).

Every plot function takes the cells and an output folder and returns either a Plot (the
file it wrote, with a title and a caption for report.md) or a Skipped (why there is no
such plot). Nothing is drawn as 0 that was not measured as 0.
"""
import math
import os
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from .model import (  # noqa: E402
    COUNTER_FIGURES,
    COUNTER_SCOPES,
    LATENCY_KEYS,
    LEDGER_PARTS,
    PATTERN_ORDER,
    STRATEGY_ORDER,
    TRANSPORT_ORDER,
    Unsupported,
    distinct,
    format_size,
    order_key,
    weighted_parts,
)

STRATEGY_STYLE = {
    "two-copy": ("#d62728", "o"),
    "per-field": ("#ff7f0e", "v"),
    "one-copy": ("#1f77b4", "s"),
    "zero-copy": ("#2ca02c", "D"),
    "sendfile": ("#8c564b", "P"),
    "io-uring": ("#17becf", "^"),
    "io-uring-zc": ("#9467bd", "X"),
    "io-uring-zc-fixed": ("#e377c2", "*"),
}
EXTRA_COLORS = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
PART_COLORS = {
    "user": "#d62728",
    "kernel_send": "#1f77b4",
    "zerocopy_fallback": "#9467bd",
    "deferred": "#ff7f0e",
    "receive": "#2ca02c",
}
PERCENTILE_STYLE = {"p50": "#1f77b4", "p90": "#2ca02c", "p99": "#ff7f0e", "p99.9": "#d62728"}
DPI = 110


@dataclass
class Plot:
    key: str
    file: str  # file name inside the output folder
    title: str
    caption: str


@dataclass
class Skipped:
    key: str
    title: str
    reason: str


def style(strategy, strategies):
    if strategy in STRATEGY_STYLE:
        return STRATEGY_STYLE[strategy]
    extra = [s for s in strategies if s not in STRATEGY_STYLE]
    return EXTRA_COLORS[extra.index(strategy) % len(EXTRA_COLORS)], "x"


def conn_label(n):
    return f"{n} connection" + ("" if n == 1 else "s")


def group_label(transport, pattern, patterns):
    return transport if len(patterns) <= 1 else f"{transport}, {pattern}"


def _size_axis(ax, sizes):
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes)
    ax.set_xticklabels([format_size(s) for s in sizes], rotation=0 if len(sizes) <= 5 else 45,
                       ha="center" if len(sizes) <= 5 else "right")
    ax.minorticks_off()
    if len(sizes) == 1:
        ax.set_xlim(sizes[0] / 2, sizes[0] * 2)
    else:
        ax.set_xlim(sizes[0] / 1.5, sizes[-1] * 1.5)
    ax.set_xlabel("message size")


def _grid(n, max_cols=4, panel=(4.6, 3.6)):
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    return rows, cols, (max(8.0, panel[0] * cols + 0.6), panel[1] * rows + 1.2)


def _save(fig, outdir, name):
    path = os.path.join(outdir, name)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return name


def _positive(values):
    return [v for v in values if v is not None and v > 0]


def _slug(*parts):
    return "_".join(str(p).replace("/", "-").replace(" ", "-") for p in parts if p)


# ---- throughput vs message size ------------------------------------------------------------

def throughput_vs_size(cells, outdir):
    """One figure per transport and pattern; one panel per connection count."""
    out = []
    patterns = distinct(cells, "pattern", PATTERN_ORDER)
    measured = [c for c in cells if c.mean is not None]
    if not measured:
        return [Skipped("throughput_vs_size", "Throughput vs message size",
                        "no cell has a throughput measurement")]
    for transport in distinct(measured, "transport", TRANSPORT_ORDER):
        for pattern in patterns:
            g = [c for c in measured if c.transport == transport and c.pattern == pattern]
            if not g:
                continue
            threads = distinct(g, "threads")
            strategies = distinct(g, "strategy", STRATEGY_ORDER)
            sizes = distinct(g, "size")
            rows, cols, figsize = _grid(len(threads))
            fig, axes = plt.subplots(rows, cols, figsize=figsize, sharey=True, squeeze=False)
            any_unconverged = False
            any_no_ci = False
            for k, n in enumerate(threads):
                ax = axes[k // cols][k % cols]
                for s in strategies:
                    pts = sorted((c for c in g if c.threads == n and c.strategy == s),
                                 key=lambda c: c.size)
                    if not pts:
                        continue
                    color, marker = style(s, strategies)
                    xs = [c.size for c in pts]
                    ys = [c.mean for c in pts]
                    lo = [c.mean - c.ci_low if c.has_ci else 0 for c in pts]
                    hi = [c.ci_high - c.mean if c.has_ci else 0 for c in pts]
                    ax.errorbar(xs, ys, yerr=[lo, hi], color=color, marker=None, capsize=3,
                                linewidth=1.6, label=s)
                    for c in pts:
                        hollow = c.converged is False
                        any_unconverged |= hollow
                        any_no_ci |= not c.has_ci
                        ax.plot([c.size], [c.mean], marker=marker, color=color, markersize=6,
                                markerfacecolor="white" if hollow else color, zorder=3)
                _size_axis(ax, sizes)
                ax.set_yscale("log")
                ax.set_title(conn_label(n))
                ax.grid(True, which="major", alpha=0.3)
                if k % cols == 0:
                    ax.set_ylabel("throughput (Gbit/s, log scale)")
            for k in range(len(threads), rows * cols):
                axes[k // cols][k % cols].set_visible(False)
            handles = [Line2D([], [], color=style(s, strategies)[0], marker=style(s, strategies)[1],
                              label=s) for s in strategies]
            if any_unconverged:
                handles.append(Line2D([], [], color="gray", marker="o", markerfacecolor="white",
                                      linestyle="none", label="did not converge"))
            fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
            ptitle = "request/response" if pattern == "rr" else "stream"
            fig.suptitle(f"Throughput vs message size: {transport}, {ptitle} "
                         f"(mean, error bars: 95% CI)")
            fig.tight_layout(rect=(0, 0.07, 1, 1))
            name = _save(fig, outdir, "throughput_vs_size_" + _slug(transport, pattern if pattern != "stream" else "") + ".png")
            cap = (f"Mean throughput of each cell's repetitions over {transport} ({ptitle}); "
                   "error bars are the 95% confidence interval")
            if any_no_ci:
                cap += " (cells with one repetition have none)"
            if any_unconverged:
                cap += "; hollow markers: the interval never got within the precision target"
            out.append(Plot(f"throughput_vs_size_{transport}_{pattern}", name,
                            f"Throughput vs message size ({transport}, {ptitle})", cap + "."))
    return out


# ---- throughput vs connections --------------------------------------------------------------

def throughput_vs_threads(cells, outdir):
    out = []
    measured = [c for c in cells if c.mean is not None]
    patterns = distinct(cells, "pattern", PATTERN_ORDER)
    for transport in distinct(measured, "transport", TRANSPORT_ORDER):
        for pattern in patterns:
            g = [c for c in measured if c.transport == transport and c.pattern == pattern]
            threads = distinct(g, "threads")
            if len(threads) < 2:
                continue
            sizes = distinct(g, "size")
            strategies = distinct(g, "strategy", STRATEGY_ORDER)
            rows, cols, figsize = _grid(len(sizes), panel=(4.2, 3.4))
            fig, axes = plt.subplots(rows, cols, figsize=figsize, squeeze=False)
            for k, size in enumerate(sizes):
                ax = axes[k // cols][k % cols]
                for s in strategies:
                    pts = sorted((c for c in g if c.size == size and c.strategy == s),
                                 key=lambda c: c.threads)
                    if not pts:
                        continue
                    color, marker = style(s, strategies)
                    ax.errorbar([c.threads for c in pts], [c.mean for c in pts],
                                yerr=[[c.mean - c.ci_low if c.has_ci else 0 for c in pts],
                                      [c.ci_high - c.mean if c.has_ci else 0 for c in pts]],
                                color=color, marker=marker, capsize=3, label=s)
                ax.set_xscale("log", base=2)
                ax.set_xticks(threads)
                ax.set_xticklabels([str(t) for t in threads])
                ax.minorticks_off()
                ax.set_xlim(threads[0] / 1.4, threads[-1] * 1.4)
                ax.set_ylim(bottom=0)
                ax.set_title(f"{format_size(size)} messages")
                ax.set_xlabel("connections (sender + receiver thread each)")
                if k % cols == 0:
                    ax.set_ylabel("throughput (Gbit/s)")
                ax.grid(True, alpha=0.3)
            for k in range(len(sizes), rows * cols):
                axes[k // cols][k % cols].set_visible(False)
            handles = [Line2D([], [], color=style(s, strategies)[0], marker=style(s, strategies)[1],
                              label=s) for s in strategies]
            fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
            ptitle = "request/response" if pattern == "rr" else "stream"
            fig.suptitle(f"Throughput vs connections: {transport}, {ptitle} "
                         "(mean, error bars: 95% CI)")
            fig.tight_layout(rect=(0, 0.07, 1, 1))
            name = _save(fig, outdir, "throughput_vs_threads_" + _slug(transport, pattern if pattern != "stream" else "") + ".png")
            out.append(Plot(f"throughput_vs_threads_{transport}_{pattern}", name,
                            f"Throughput vs connections ({transport}, {ptitle})",
                            f"One panel per message size; {len(threads)} connection counts "
                            f"({', '.join(map(str, threads))}) over {transport}."))
    if not out:
        counts = sorted({c.threads for c in measured})
        why = ("every cell ran with the same connection count "
               f"({', '.join(map(str, counts))})" if counts else "no cell has a throughput measurement")
        return [Skipped("throughput_vs_threads", "Throughput vs connections", why)]
    return out


# ---- copies per byte -------------------------------------------------------------------------

def copies_per_byte(cells, outdir):
    """Stacked bars of the ledger's parts: one panel per transport (and pattern), a group of
    bars per strategy, one bar per message size (connection counts pooled by bytes sent)."""
    if not cells:
        return [Skipped("copies_per_byte", "Copies per byte", "the report has no cells")]
    if not any(c.ledger_state == "ok" for c in cells):
        reasons = sorted({c.ledger_why for c in cells if c.ledger_why})
        return [Skipped("copies_per_byte", "Copies per byte",
                        "no cell has a copy ledger: " + "; ".join(reasons))]
    patterns = distinct(cells, "pattern", PATTERN_ORDER)
    groups = [(t, p) for t in distinct(cells, "transport", TRANSPORT_ORDER) for p in patterns
              if any(c.transport == t and c.pattern == p for c in cells)]
    widths = []
    for t, p in groups:
        g = [c for c in cells if c.transport == t and c.pattern == p]
        widths.append(sum(len(distinct([c for c in g if c.strategy == s], "size"))
                          for s in distinct(g, "strategy")) + len(distinct(g, "strategy")))
    fig, axes = plt.subplots(len(groups), 1, figsize=(max(9.0, 0.42 * max(widths) + 2.5),
                                                      3.9 * len(groups) + 1.0), squeeze=False)
    ymax = 0.0
    for c in cells:
        if c.copies_per_byte is not None:
            ymax = max(ymax, c.copies_per_byte)
        if c.copies_expected is not None:
            ymax = max(ymax, c.copies_expected)
    ytop = max(1.0, ymax) * 1.25
    used_parts = set()
    placeholders = False
    expected_drawn = False
    for row, (t, p) in enumerate(groups):
        ax = axes[row][0]
        g = [c for c in cells if c.transport == t and c.pattern == p]
        x = 0.0
        centers, names = [], []
        for s in distinct(g, "strategy", STRATEGY_ORDER):
            gs = [c for c in g if c.strategy == s]
            start = x
            for size in distinct(gs, "size"):
                pool = [c for c in gs if c.size == size]
                agg = weighted_parts(pool)
                if agg is None:
                    placeholders = True
                    label = "no ledger" if pool[0].ledger_state == "null" else "unsupported"
                    ax.bar(x, ytop * 0.9, width=0.8, color="none", edgecolor="#999999",
                           hatch="//", linewidth=0.8)
                    ax.text(x, ytop * 0.45, label, rotation=90, ha="center", va="center",
                            fontsize=8, color="#333333",
                            bbox=dict(facecolor="white", edgecolor="none", pad=1.5))
                else:
                    cpb, parts, expected = agg
                    if parts:
                        bottom = 0.0
                        for key, _ in LEDGER_PARTS:
                            v = parts[key]
                            if v > 0:
                                used_parts.add(key)
                                ax.bar(x, v, bottom=bottom, width=0.8, color=PART_COLORS[key],
                                       edgecolor="white", linewidth=0.5)
                                bottom += v
                    else:
                        ax.bar(x, cpb, width=0.8, color="#7f7f7f")
                    ax.text(x, cpb + ytop * 0.015, f"{cpb:.2f}", ha="center", va="bottom",
                            fontsize=7)
                    if expected is not None:
                        expected_drawn = True
                        ax.plot([x - 0.4, x + 0.4], [expected, expected], color="black",
                                linestyle="--", linewidth=1)
                ax.text(x, -ytop * 0.03, format_size(size), rotation=90, ha="center", va="top",
                        fontsize=7)
                x += 1
            centers.append((start + x - 1) / 2)
            names.append(s)
            x += 1  # gap between strategies
        ax.set_xticks(centers)
        ax.set_xticklabels(names, fontsize=10)
        ax.tick_params(axis="x", length=0, pad=38)
        ax.set_xlim(-0.8, x - 1.2)
        ax.set_ylim(0, ytop)
        ax.set_ylabel("CPU copies per byte sent")
        ax.set_title(group_label(t, p, patterns) + (" (request/response)" if p == "rr" and len(patterns) <= 1 else ""))
        ax.grid(True, axis="y", alpha=0.3)
    handles = [Patch(color=PART_COLORS[k], label=lbl) for k, lbl in LEDGER_PARTS if k in used_parts]
    if expected_drawn:
        handles.append(Line2D([], [], color="black", linestyle="--", label="expected"))
    if placeholders:
        handles.append(Patch(facecolor="none", edgecolor="#999999", hatch="//",
                             label="no ledger / unsupported (not 0)"))
    fig.legend(handles=handles, loc="lower center", ncol=min(3, len(handles)), frameon=False,
               fontsize=9)
    fig.suptitle("Copies per byte from the kernel ledger, by strategy and message size\n"
                 "(bar label: total; connection counts pooled, weighted by bytes sent)")
    fig.tight_layout(rect=(0, (0.25 + 0.22 * math.ceil(len(handles) / 3)) / fig.get_figheight(), 1,
                           1 - 0.25 / fig.get_figheight()))
    name = _save(fig, outdir, "copies_per_byte.png")
    cap = ("Each bar stacks where the bytes were copied (user memcpy, kernel at send, zerocopy "
           "fallback, deferred to local delivery, receive); the dashed line is the expected "
           "total for the strategy")
    if placeholders:
        cap += "; hatched bars mark cells without a ledger figure (no tracer, or the kernel could not count it), not zero copies"
    return [Plot("copies_per_byte", name, "Copies per byte", cap + ".")]


# ---- counters (CPU-s/GiB, cycles/byte, context switches) -----------------------------------

def _counter_reasons(cells, figure):
    reasons = set()
    for c in cells:
        for scope in COUNTER_SCOPES:
            v = c.counter(figure, scope)
            if isinstance(v, Unsupported):
                reasons.add(v.reason)
    return sorted(reasons)


def counter_plot(cells, outdir, figure, filename, title, ylabel, logy=True):
    label = COUNTER_FIGURES.get(figure, figure)
    have = [c for c in cells
            if any(isinstance(c.counter(figure, s), float) for s in COUNTER_SCOPES)]
    if not have:
        reasons = _counter_reasons(cells, figure)
        why = f"no cell has a {label} figure"
        if reasons:
            why += ": " + "; ".join(reasons)
        elif all(c.counters_why for c in cells) and cells:
            why += ": " + "; ".join(sorted({c.counters_why for c in cells}))
        return [Skipped(figure, title, why)]
    patterns = distinct(cells, "pattern", PATTERN_ORDER)
    groups = [(t, p) for t in distinct(have, "transport", TRANSPORT_ORDER) for p in patterns
              if any(c.transport == t and c.pattern == p for c in have)]
    strategies = distinct(have, "strategy", STRATEGY_ORDER)
    panels = [(t, p, n) for t, p in groups
              for n in distinct([c for c in have if c.transport == t and c.pattern == p], "threads")]
    scopes_seen = set()
    rows, cols, figsize = _grid(len(panels), max_cols=4, panel=(4.4, 3.5))
    figsize = (max(figsize[0], 9.5), figsize[1] + 0.2)
    fig, axes = plt.subplots(rows, cols, figsize=figsize, sharey=True, squeeze=False)
    for k, (t, p, n) in enumerate(panels):
        ax = axes[k // cols][k % cols]
        g = [c for c in have if c.transport == t and c.pattern == p]
        sizes = distinct(g, "size")
        for s in strategies:
            pts = sorted((c for c in g if c.threads == n and c.strategy == s),
                         key=lambda c: c.size)
            color, marker = style(s, strategies)
            for scope, ls, alpha in (("thread", "-", 1.0), ("system", ":", 0.75)):
                xy = [(c.size, c.counter(figure, scope)) for c in pts]
                xy = [(xv, yv) for xv, yv in xy if isinstance(yv, float) and (yv > 0 or not logy)]
                if xy:
                    scopes_seen.add(scope)
                    ax.plot([a for a, _ in xy], [b for _, b in xy], color=color,
                            marker=marker, linestyle=ls, alpha=alpha,
                            markerfacecolor=color if scope == "thread" else "white")
        _size_axis(ax, sizes)
        if logy:
            ax.set_yscale("log")
        ax.set_title(f"{group_label(t, p, patterns)}, {conn_label(n)}")
        ax.grid(True, which="major", alpha=0.3)
        if k % cols == 0:
            ax.set_ylabel(ylabel)
    for k in range(len(panels), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    handles = [Line2D([], [], color=style(s, strategies)[0], marker=style(s, strategies)[1],
                      label=s) for s in strategies]
    if "thread" in scopes_seen:
        handles.append(Line2D([], [], color="gray", linestyle="-",
                              label="sender + receiver threads"))
    if "system" in scopes_seen:
        handles.append(Line2D([], [], color="gray", linestyle=":", marker="o",
                              markerfacecolor="white", label="whole machine (all CPUs)"))
    ncol = min(len(handles), 6 if figsize[0] > 12 else 3)
    fig.legend(handles=handles, loc="lower center", ncol=ncol, frameon=False)
    fig.suptitle(title)
    legend_rows = math.ceil(len(handles) / ncol)
    fig.tight_layout(rect=(0, min(0.3, 0.35 * legend_rows / figsize[1]), 1, 1))
    name = _save(fig, outdir, filename)
    cap = (f"{label[0].upper() + label[1:]} per cell: solid lines count the sender and receiver "
           "threads (perf counters per thread), dotted lines the whole machine (every CPU, "
           "softirq and kernel threads included)")
    return [Plot(figure, name, title, cap + ".")]


def cpu_seconds_per_gib(cells, outdir):
    return counter_plot(cells, outdir, "cpu_seconds_per_gib", "cpu_seconds_per_gib.png",
                        "CPU time per GiB sent", "CPU-seconds per GiB (log scale)")


def cycles_per_byte(cells, outdir):
    return counter_plot(cells, outdir, "cycles_per_byte", "cycles_per_byte.png",
                        "CPU cycles per byte sent", "cycles per byte (log scale)")


def context_switches(cells, outdir):
    return counter_plot(cells, outdir, "context_switches_per_second", "context_switches.png",
                        "Context switches per second", "context switches per second (log scale)")


# ---- latency (rr) ----------------------------------------------------------------------------

def latency(cells, outdir):
    rr = [c for c in cells if c.latency]
    if not rr:
        why = ("no request/response cells (run with --pattern rr for round-trip latency)"
               if not any(c.pattern == "rr" for c in cells)
               else "the rr cells carry no latency figures")
        return [Skipped("latency", "Round-trip latency", why)]
    out = []
    for transport in distinct(rr, "transport", TRANSPORT_ORDER):
        g = [c for c in rr if c.transport == transport]
        threads = distinct(g, "threads")
        strategies = distinct(g, "strategy", STRATEGY_ORDER)
        sizes = distinct(g, "size")
        fig, axes = plt.subplots(len(threads), len(strategies),
                                 figsize=(max(8.0, 4.0 * len(strategies) + 0.6),
                                          3.4 * len(threads) + 1.3),
                                 sharey=True, squeeze=False)
        for r, n in enumerate(threads):
            for k, s in enumerate(strategies):
                ax = axes[r][k]
                pts = sorted((c for c in g if c.threads == n and c.strategy == s),
                             key=lambda c: c.size)
                for key, lbl in LATENCY_KEYS:
                    xy = [(c.size, c.latency.get(key)) for c in pts]
                    xy = [(a, b) for a, b in xy if b is not None and b > 0]
                    if xy:
                        ax.plot([a for a, _ in xy], [b for _, b in xy], marker="o",
                                color=PERCENTILE_STYLE[lbl], label=lbl)
                xy = [(c.size, c.latency.get("max_us")) for c in pts]
                xy = [(a, b) for a, b in xy if b is not None and b > 0]
                if xy:
                    ax.plot([a for a, _ in xy], [b for _, b in xy], color="#7f7f7f",
                            linestyle=":", marker="_", label="max")
                if not pts:
                    ax.text(0.5, 0.5, "not measured", transform=ax.transAxes, ha="center",
                            va="center", color="#777777")
                _size_axis(ax, sizes)
                ax.set_yscale("log")
                ax.set_title(f"{s}, {conn_label(n)}", color=style(s, strategies)[0])
                ax.grid(True, which="major", alpha=0.3)
                if k == 0:
                    ax.set_ylabel("round trip (µs, log scale)")
        handles = [Line2D([], [], color=PERCENTILE_STYLE[l], marker="o", label=l)
                   for _, l in LATENCY_KEYS]
        handles.append(Line2D([], [], color="#7f7f7f", linestyle=":", marker="_", label="max"))
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
        fig.suptitle(f"Round-trip latency percentiles vs message size: {transport}, "
                     "request/response (64-byte answer)")
        fig.tight_layout(rect=(0, 0.08, 1, 1))
        name = _save(fig, outdir, "latency_" + _slug(transport) + ".png")
        out.append(Plot(f"latency_{transport}", name, f"Round-trip latency ({transport})",
                        "Percentiles of every recorded round trip (message out, 64-byte answer "
                        "back), one panel per strategy and connection count."))
    return out


ALL_PLOTS = [
    throughput_vs_size,
    throughput_vs_threads,
    copies_per_byte,
    cpu_seconds_per_gib,
    cycles_per_byte,
    context_switches,
    latency,
]


def draw_all(cells, outdir):
    results = []
    for fn in ALL_PLOTS:
        results.extend(fn(cells, outdir))
    return results


__all__ = ["Plot", "Skipped", "draw_all", "ALL_PLOTS", "order_key"]
