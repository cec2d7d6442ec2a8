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
STRATEGY_ORDER = ["two-copy", "per-field", "one-copy", "zero-copy"]
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


@dataclass
class Report:
    path: str
    schema_version: object
    tool: dict
    host: dict
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
        strategy=str(raw.get("strategy", "?")),
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
        tool=doc.get("tool") if isinstance(doc.get("tool"), dict) else {},
        host=doc.get("host") if isinstance(doc.get("host"), dict) else {},
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
