"""Reading copyscope reports into flat, plot-ready cells.

Only the standard library. A figure the kernel could not give is kept as an
`Unsupported(reason)` value, never turned into 0; a missing figure is None.
"""
import json
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional

SCHEMA = "copyscope-report"

# Strategy order and names as the README uses them; unknown strategies sort after these.
STRATEGY_ORDER = ["two-copy", "per-field", "one-copy", "zero-copy",
                  "sendfile", "io-uring", "io-uring-zc", "io-uring-zc-fixed"]
# Strategies whose ledger carries a verdict: did the kernel avoid the copy it was asked to?
VERDICT_STRATEGIES = ["zero-copy", "sendfile", "io-uring-zc", "io-uring-zc-fixed"]
TRANSPORT_ORDER = ["veth", "loopback", "forward", "nic"]
PATTERN_ORDER = ["stream", "rr"]

# copies_per_byte_parts keys, in stacking order, with their legend labels.
LEDGER_PARTS = [
    ("user", "user (application memcpy)"),
    ("kernel_send", "kernel send copy"),
    ("zerocopy_fallback", "zerocopy fallback (copied at send)"),
    ("deferred", "deferred (copied at local delivery)"),
    ("receive", "receive copy"),
]

# counters.derived figures, with units for axes and tables.
COUNTER_FIGURES = {
    "cpu_seconds_per_gib": "CPU-seconds per GiB",
    "cycles_per_byte": "cycles per byte",
    "instructions_per_byte": "instructions per byte",
    "cache_misses_per_kib": "cache misses per KiB",
    "context_switches_per_second": "context switches per second",
}
COUNTER_SCOPES = ["thread", "system"]

LATENCY_KEYS = [("p50_us", "p50"), ("p90_us", "p90"), ("p99_us", "p99"), ("p999_us", "p99.9")]


class ReportError(Exception):
    """The file is missing, not JSON, or not a copyscope report."""


@dataclass(frozen=True)
class Unsupported:
    reason: str

    def __str__(self):
        return "unsupported"


def order_key(order, value):
    return (order.index(value), "") if value in order else (len(order), str(value))


def path_strategy(raw):
    """The strategy as plots, tables and crossovers show it: beyond a tcp stream received by
    copy, the path is part of it ("zero-copy udp gso 1472", "zero-copy zerocopy-rx"), so a
    path's cells form a series of their own."""
    name = str(raw.get("strategy", "?"))
    if raw.get("protocol") == "udp":
        name += " udp"
        if raw.get("udp_gso"):
            name += " gso %d" % int(raw["udp_gso"])
    if raw.get("receive") == "zerocopy":
        name += " zerocopy-rx"
    return name


def _number(value):
    """A finite float, or None (null, missing, {"unsupported": ...}, NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _figure(value):
    """A float, an Unsupported, or None."""
    if isinstance(value, dict) and "unsupported" in value:
        return Unsupported(str(value["unsupported"]))
    return _number(value)


def format_size(n):
    """64 -> '64 B', 4096 -> '4 KiB', 1536 -> '1.5 KiB', 1048576 -> '1 MiB'."""
    if n is None:
        return "?"
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            v = n / scale
            return f"{v:g} {unit}" if v == int(v) else f"{v:.3g} {unit}"
    return f"{int(n)} B"


# ---- the ledger -------------------------------------------------------------------------------
# The ledger's figures are read generically: every number directly in "ledger" and in each
# "ledger.by_namespace.<namespace>" is a figure (a figure the kernel could not give is
# Unsupported), so figures added to the report show up here without a change. These keys
# hold numbers that are not figures (identifiers, or the expectation a figure is checked
# against).
NOT_FIGURES = {"inode", "copies_per_byte_expected", "this_host_copies_per_byte_expected"}

# Which hook of ledger.hooks a figure comes from, by its name: (pattern, hooks), the first
# match wins. A figure derived from several hooks (copies per byte) lists them all; the
# application's own counts ("app") need no hook. A figure no pattern matches has hooks None
# (evidence not known to this reader).
FIGURE_HOOKS = [
    ("copies_per_byte", ("send", "deferred_copy", "receive_copy")),
    ("deferred_copy_retransmit", ("delivery",)),
    ("deferred_copy", ("deferred_copy",)),
    ("copy_site_no_sg", ("transmit_copies",)),
    ("copy_site_skb_copy", ("transmit_copies",)),
    ("copy_site_", ("deferred_copy",)),
    ("delivered_", ("delivery",)),
    ("pinned_pages", ("pinned_pages",)),
    ("retransmit", ("retransmits",)),
    ("receive_copy", ("receive_copy",)),
    ("kernel_send_copy", ("send",)),
    ("send_copy", ("send",)),
    ("zerocopy_transmitted", ("transmit",)),
    ("zerocopy_pinned", ("send",)),
    ("zerocopy_fallback", ("send",)),
    ("zerocopy_no_sockopt", ("send",)),
    ("app_", ()),
    ("user_copy", ()),
]


def figure_hooks(name):
    """The ledger.hooks names figure NAME comes from; () for the application's own counts,
    None when not known."""
    for pattern, hooks in FIGURE_HOOKS:
        if pattern in name:
            return hooks
    return None


@dataclass(frozen=True)
class Hook:
    """One entry of ledger.hooks: the form that ran and whether its count is exact."""
    name: str
    mechanism: Optional[str]
    exact: Optional[bool]  # None when the hook did not run (unsupported)
    unsupported: Optional[str] = None


@dataclass
class Ledger:
    tracer_available: bool
    tracer_reason: Optional[str]
    hook_mode: Optional[str]
    tracer_note: Optional[str]
    hooks: Dict[str, Hook]
    # name -> float | Unsupported, the top-level figures and those of each namespace
    figures: Dict[str, object]
    by_namespace: Dict[str, Dict[str, object]]
    raw_by_namespace: Dict[str, Dict[str, float]]
    checks_not_evaluated: List[str]
    receiver_in_this_kernel: Optional[bool]
    transport: Optional[str]
    completions: Optional[int]
    completions_copied: Optional[int]
    zerocopy_sends: Optional[int]
    verdict: Optional[str]
    # io_uring SEND_ZC on 6.10+: notifications flagged COPIED only because they were stacked
    # on an earlier request's skb (nothing copied); None where not classified
    stacked_copied: Optional[int] = None

    def figure(self, name, namespace=None):
        """float, Unsupported or None."""
        figs = self.figures if namespace is None else self.by_namespace.get(namespace, {})
        return figs.get(name)

    def evidence(self, name):
        """"exact", "inferred", "unsupported" or "unknown" for figure NAME, from the hooks
        it comes from (the weakest of them)."""
        hooks = figure_hooks(name)
        if hooks is None:
            return "unknown"
        levels = []
        for h in hooks:
            hook = self.hooks.get(h)
            if hook is None or hook.unsupported:
                levels.append("unsupported")
            else:
                levels.append("exact" if hook.exact else "inferred")
        for level in ("unsupported", "inferred"):
            if level in levels:
                return level
        return "exact"

    def mechanism(self, hook):
        h = self.hooks.get(hook)
        return h.mechanism if h else None

    def deferred_by_namespace(self):
        """(namespace -> deferred copy bytes, raw): the ledger's figure, or the namespace's
        raw counter where the figure is unsupported (raw True then)."""
        out, raw = {}, False
        for ns, figs in self.by_namespace.items():
            d = figs.get("deferred_copy_bytes")
            if not isinstance(d, float):
                d = self.raw_by_namespace.get(ns, {}).get("deferred_bytes")
                raw = raw or d is not None
            if d is not None:
                out[ns] = d
        return out, raw

    def pinned_bytes(self):
        """(zerocopy pinned bytes, raw): the figure, else the sum of the raw counters."""
        p = self.figures.get("zerocopy_pinned_bytes")
        if isinstance(p, float):
            return p, False
        raw = [r["zc_pinned_bytes"] for r in self.raw_by_namespace.values()
               if "zc_pinned_bytes" in r]
        return (sum(raw), True) if raw else (None, False)


def _figures(d):
    """The numeric (or unsupported) scalars of one ledger object: name -> figure."""
    out = {}
    for k, v in d.items():
        if k in NOT_FIGURES or isinstance(v, bool):
            continue
        f = _figure(v)
        if isinstance(v, dict) and not isinstance(f, Unsupported):
            continue  # a nested object, not a figure
        if f is not None:
            out[k] = f
    return out


def _int(v):
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def parse_ledger(led):
    """A Ledger from a cell's "ledger" object, or None when there is none (no tracer)."""
    if not isinstance(led, dict):
        return None
    tracer = led.get("tracer") if isinstance(led.get("tracer"), dict) else {}
    hooks = {}
    for name, h in (led.get("hooks") or {}).items():
        if not isinstance(h, dict):
            continue
        if "unsupported" in h:
            hooks[name] = Hook(name, None, None, str(h["unsupported"]))
        else:
            hooks[name] = Hook(name, h.get("mechanism"), {"exact": True, "inferred": False}.get(
                h.get("count")))
    by_ns, raw = {}, {}
    for ns, v in (led.get("by_namespace") or {}).items():
        if isinstance(v, dict):
            by_ns[ns] = _figures(v)
            r = v.get("raw") if isinstance(v.get("raw"), dict) else {}
            raw[ns] = {k: x for k, x in ((k, _number(x)) for k, x in r.items()) if x is not None}
    zc = led.get("zerocopy_notifications")
    uring = led.get("io_uring_notifications")
    if not isinstance(zc, dict) and isinstance(uring, dict) and uring.get("notifications"):
        # io_uring SEND_ZC: a notification per request, flagged IORING_NOTIF_USAGE_ZC_COPIED
        zc = {"completions": uring.get("notifications"),
              "completions_copied": uring.get("notifications_copied"),
              "sends": uring.get("requests")}
    zc = zc if isinstance(zc, dict) else {}
    here = led.get("receiver_in_this_kernel")
    verdict = led.get("verdict")
    return Ledger(
        tracer_available=bool(tracer.get("available", False)),
        tracer_reason=tracer.get("reason") if isinstance(tracer.get("reason"), str) else None,
        hook_mode=tracer.get("hook_mode") if isinstance(tracer.get("hook_mode"), str) else None,
        tracer_note=tracer.get("note") if isinstance(tracer.get("note"), str) else None,
        hooks=hooks,
        figures=_figures(led),
        by_namespace=by_ns,
        raw_by_namespace=raw,
        checks_not_evaluated=[c if isinstance(c, str) else json.dumps(c)
                              for c in led.get("checks_not_evaluated") or []],
        receiver_in_this_kernel=here if isinstance(here, bool) else None,
        transport=led.get("transport") if isinstance(led.get("transport"), str) else None,
        completions=_int(zc.get("completions")),
        completions_copied=_int(zc.get("completions_copied")),
        zerocopy_sends=_int(zc.get("sends")),
        verdict=verdict if isinstance(verdict, str) else None,
        stacked_copied=_stacked(uring),
    )


def _stacked(uring):
    s = uring.get("flagged_copied_stacked") if isinstance(uring, dict) else None
    return _int(s.get("notifications")) if isinstance(s, dict) else None


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool


@dataclass(frozen=True)
class Host:
    kernel_release: Optional[str] = None
    cpu_model: Optional[str] = None
    cores: Optional[int] = None
    btf_present: Optional[bool] = None
    lockdown: Optional[str] = None


def parse_host(h):
    h = h if isinstance(h, dict) else {}
    text = lambda k: str(h[k]) if h.get(k) not in (None, "") else None  # noqa: E731
    btf = h.get("btf_present")
    return Host(text("kernel_release"), text("cpu_model"), _int(h.get("cores")),
                btf if isinstance(btf, bool) else None, text("lockdown"))


@dataclass
class Cell:
    source: int  # index of the report this cell came from
    index: int  # position in that report
    strategy: str
    transport: str
    pattern: str
    size: int
    threads: int
    repetitions: int
    passed: Optional[bool]
    error: Optional[str]
    # throughput, Gbit/s
    mean: Optional[float]
    stddev: Optional[float]
    ci_low: Optional[float]
    ci_high: Optional[float]
    ci_relative: Optional[float]
    converged: Optional[bool]  # None: a single repetition was asked, no convergence test
    # ledger
    ledger_state: str  # "ok", "null" (no tracer), "unsupported"
    ledger_why: Optional[str]
    copies_per_byte: Optional[float]
    parts: Optional[Dict[str, float]]
    copies_expected: Optional[float]
    bytes_sent: Optional[float]
    deferred_percent: Optional[float]
    verdict: Optional[str]
    # latency (rr), microseconds
    latency: Optional[Dict[str, float]]
    # counters.derived: scope -> figure -> float | Unsupported ; a scope may be Unsupported
    counters: Dict[str, object] = field(default_factory=dict)
    counters_why: Optional[str] = None  # counters null / absent
    ledger: Optional[Ledger] = None  # the whole ledger, typed; None without a tracer
    checks: List[Check] = field(default_factory=list)
    bytes_received: Optional[float] = None

    @property
    def key(self):
        """What identifies a cell across reports of the same plan."""
        return (self.strategy, self.transport, self.pattern, self.size, self.threads)

    @property
    def has_ci(self):
        return self.ci_low is not None and self.ci_high is not None

    @property
    def ci_half(self):
        if not self.has_ci or self.mean is None:
            return None
        return max(self.ci_high - self.mean, self.mean - self.ci_low)

    def counter(self, figure, scope="thread"):
        """float, Unsupported or None for one derived counter figure."""
        s = self.counters.get(scope)
        if isinstance(s, Unsupported):
            return s
        if not isinstance(s, dict):
            return Unsupported(self.counters_why) if self.counters_why else None
        return s.get(figure)

    @property
    def is_zero_copy(self):
        return self.strategy == "zero-copy"

    @property
    def has_verdict_strategy(self):
        return self.strategy in VERDICT_STRATEGIES


@dataclass
class Report:
    path: str
    schema_version: object
    tool_version: Optional[str]
    host: Host
    command_line: List[str]
    started_at: Optional[str]
    complete: Optional[bool]
    interrupted: Optional[str]
    preset: Optional[str]
    cells: List[Cell]


def parse_cell(raw, source=0, index=0):
    t = raw.get("throughput") if isinstance(raw.get("throughput"), dict) else {}
    mean = _number(t.get("mean"))
    reps = raw.get("repetitions")
    samples = t.get("samples")
    if not isinstance(reps, int):
        reps = len(samples) if isinstance(samples, list) else (1 if mean is not None else 0)
    if mean is None:
        mean = _number(raw.get("gbit_per_second"))
    if reps == 0 and raw.get("error"):
        mean = None  # a cell that failed before measuring anything has no throughput
    ci_low, ci_high = _number(t.get("ci95_low")), _number(t.get("ci95_high"))
    if ci_low is None or ci_high is None:
        ci_low = ci_high = None
    conv = t.get("converged")
    conv = conv if isinstance(conv, bool) else None

    ledger = raw.get("ledger")
    state, why = "ok", None
    cpb = parts = expected = sent = deferred = verdict = None
    if not isinstance(ledger, dict):
        state, why = "null", "no ledger (run without the tracer)"
    else:
        c = _figure(ledger.get("copies_per_byte"))
        if isinstance(c, Unsupported):
            state, why = "unsupported", c.reason
        elif c is None:
            state, why = "unsupported", "copies_per_byte missing"
        else:
            cpb = c
            rp = ledger.get("copies_per_byte_parts")
            if isinstance(rp, dict):
                parts = {k: (_number(rp.get(k)) or 0.0) for k, _ in LEDGER_PARTS}
        expected = _number(ledger.get("copies_per_byte_expected"))
        sent = _number(ledger.get("app_bytes_sent"))
        deferred = _number(ledger.get("deferred_copy_percent"))
        v = ledger.get("verdict")
        verdict = v if isinstance(v, str) else None
    if sent is None:
        sent = _number(raw.get("bytes_sent"))

    lat = raw.get("latency")
    latency = None
    if isinstance(lat, dict):
        latency = {k: _number(lat.get(k)) for k in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us", "mean_us")}
        if all(v is None for v in latency.values()):
            latency = None

    counters, counters_why = {}, None
    rc = raw.get("counters")
    if isinstance(rc, dict) and "unsupported" in rc:
        counters_why = str(rc["unsupported"])
    elif not isinstance(rc, dict):
        counters_why = "no counters (run with --counters none)"
    else:
        derived = rc.get("derived")
        if isinstance(derived, dict):
            for scope, figs in derived.items():
                if isinstance(figs, dict) and "unsupported" in figs and len(figs) == 1:
                    counters[scope] = Unsupported(str(figs["unsupported"]))
                elif isinstance(figs, dict):
                    counters[scope] = {k: _figure(v) for k, v in figs.items()}
                else:
                    counters[scope] = Unsupported("no derived figures")
        else:
            counters_why = "no derived counter figures"

    passed = raw.get("passed")
    return Cell(
        source=source,
        index=index,
        strategy=path_strategy(raw),
        transport=str(raw.get("transport", "?")),
        pattern=str(raw.get("pattern") or "stream"),
        size=int(raw.get("message_size") or 0),
        threads=int(raw.get("threads") or 1),
        repetitions=reps,
        passed=passed if isinstance(passed, bool) else None,
        error=raw.get("error") if isinstance(raw.get("error"), str) else None,
        mean=mean,
        stddev=_number(t.get("stddev")),
        ci_low=ci_low,
        ci_high=ci_high,
        ci_relative=_number(t.get("ci95_relative")),
        converged=conv,
        ledger_state=state,
        ledger_why=why,
        copies_per_byte=cpb,
        parts=parts,
        copies_expected=expected,
        bytes_sent=sent,
        deferred_percent=deferred,
        verdict=verdict,
        latency=latency,
        counters=counters,
        counters_why=counters_why,
        ledger=parse_ledger(ledger),
        checks=[Check(str(k.get("name", "?")), k.get("passed") is True)
                for k in raw.get("checks") or [] if isinstance(k, dict)],
        bytes_received=_number(raw.get("bytes_received")),
    )


def parse_report(doc, path="<report>", source=0):
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        got = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise ReportError(f"{path}: not a copyscope report (schema {got!r}, expected {SCHEMA!r})")
    cells = doc.get("cells")
    if not isinstance(cells, list):
        raise ReportError(f"{path}: no 'cells' list")
    complete = doc.get("complete")
    cl = doc.get("command_line")
    if isinstance(cl, str):
        cl = [cl]
    return Report(
        path=path,
        schema_version=doc.get("schema_version"),
        tool_version=(doc.get("tool") or {}).get("version") if isinstance(doc.get("tool"), dict)
        else None,
        host=parse_host(doc.get("host")),
        command_line=[str(a) for a in cl] if isinstance(cl, list) else [],
        started_at=doc.get("started_at"),
        complete=complete if isinstance(complete, bool) else None,
        interrupted=doc.get("interrupted") if isinstance(doc.get("interrupted"), str) else None,
        preset=doc.get("preset"),
        cells=[parse_cell(c, source, i) for i, c in enumerate(cells) if isinstance(c, dict)],
    )


def load_report(path, source=0):
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as e:
        raise ReportError(f"{path}: {e.strerror or e}") from e
    except ValueError as e:
        raise ReportError(f"{path}: not JSON: {e}") from e
    return parse_report(doc, path, source)


def sorted_cells(cells):
    return sorted(
        cells,
        key=lambda c: (
            order_key(TRANSPORT_ORDER, c.transport),
            order_key(PATTERN_ORDER, c.pattern),
            order_key(STRATEGY_ORDER, c.strategy),
            c.size,
            c.threads,
            c.source,
            c.index,
        ),
    )


def distinct(cells, attr, order=None):
    vals = {getattr(c, attr) for c in cells}
    if order is not None:
        return sorted(vals, key=lambda v: order_key(order, v))
    return sorted(vals)


def weighted_parts(cells):
    """Copies per byte and its parts over several cells, weighted by bytes sent.

    Only cells with a supported ledger count. Returns (cpb, parts, expected) or None."""
    ok = [c for c in cells if c.ledger_state == "ok" and c.copies_per_byte is not None]
    if not ok:
        return None
    weights = [c.bytes_sent if c.bytes_sent else 1.0 for c in ok]
    total = sum(weights)
    cpb = sum(c.copies_per_byte * w for c, w in zip(ok, weights)) / total
    parts = None
    with_parts = [(c, w) for c, w in zip(ok, weights) if c.parts]
    if with_parts:
        tw = sum(w for _, w in with_parts)
        parts = {k: sum(c.parts[k] * w for c, w in with_parts) / tw for k, _ in LEDGER_PARTS}
    exp = [c.copies_expected for c in ok if c.copies_expected is not None]
    expected = exp[0] if exp and all(abs(e - exp[0]) < 1e-9 for e in exp) else None
    return cpb, parts, expected
