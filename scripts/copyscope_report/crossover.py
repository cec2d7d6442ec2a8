"""The crossover questions of the original assignment, answered from measured means.

"At what message size does one-copy beat two-copy (and zero-copy beat two-copy)?"
For one transport, pattern and connection count: the crossover is the smallest measured
size from which the faster strategy's mean throughput stays above the other's at every
larger measured size. Whether that lead is clear is judged from the 95% confidence
intervals: overlapping intervals (or a cell with one repetition and so no interval) mean
the lead is within the noise.
"""
from dataclasses import dataclass, field
from typing import List, Optional

from .model import PATTERN_ORDER, TRANSPORT_ORDER, distinct, format_size

QUESTIONS = [("one-copy", "two-copy"), ("zero-copy", "two-copy"),
             # the send paths real programs use, each against two-copy
             ("sendfile", "two-copy"), ("io-uring", "two-copy"), ("io-uring-zc", "two-copy"),
             ("io-uring-zc-fixed", "two-copy")]


@dataclass
class Point:
    size: int
    mean: float
    low: Optional[float] = None  # 95% CI, None when there is no interval
    high: Optional[float] = None


@dataclass
class Crossover:
    challenger: str
    baseline: str
    status: str  # "from" | "always" | "never" | "no-data"
    sizes: List[int] = field(default_factory=list)  # sizes measured for both
    from_size: Optional[int] = None  # first size of the final winning run
    overlap: List[int] = field(default_factory=list)  # sizes >= from_size where CIs overlap
    no_ci: List[int] = field(default_factory=list)  # sizes >= from_size lacking an interval
    clear_from: Optional[int] = None  # smallest size from which every lead is outside the CIs
    earlier_leads: List[int] = field(default_factory=list)  # leads below from_size, lost again
    ratio_at_largest: Optional[float] = None  # challenger / baseline mean at the largest size

    def sentence(self):
        """The answer in words, e.g. 'from 4 KiB (CIs overlap at 4 KiB; clear from 64 KiB)'."""
        if self.status == "no-data":
            return "not measured (no size with both strategies)"
        lo, hi = format_size(self.sizes[0]), format_size(self.sizes[-1])
        rng = f"{lo}" if lo == hi else f"{lo} to {hi}"
        if self.status == "never":
            text = f"never in the measured range ({rng})"
            if self.earlier_leads:
                text += "; ahead only at " + ", ".join(format_size(s) for s in self.earlier_leads)
            return text
        always = self.status == "always"
        text = "at every measured size" if always else f"from {format_size(self.from_size)}"
        notes = [rng] if always else []
        if self.overlap:
            notes.append("CIs overlap at " + ", ".join(format_size(s) for s in self.overlap))
        if self.no_ci:
            notes.append("no CI (one repetition) at " + ", ".join(format_size(s) for s in self.no_ci))
        if self.overlap or self.no_ci:
            if self.clear_from is not None:
                notes.append(f"clear from {format_size(self.clear_from)}")
            else:
                notes.append("not a clear win")
        if self.earlier_leads:
            notes.append("also ahead at " + ", ".join(format_size(s) for s in self.earlier_leads)
                         + " but behind again above")
        if notes:
            text += " (" + "; ".join(notes) + ")"
        return text


def _overlap(a, b):
    """True when the intervals overlap, None when one of them is missing."""
    if a.low is None or a.high is None or b.low is None or b.high is None:
        return None
    return a.low <= b.high and b.low <= a.high


def crossover(challenger_points, baseline_points, challenger="one-copy", baseline="two-copy"):
    """challenger_points, baseline_points: {size: Point} (or lists of Point)."""
    if not isinstance(challenger_points, dict):
        challenger_points = {p.size: p for p in challenger_points}
    if not isinstance(baseline_points, dict):
        baseline_points = {p.size: p for p in baseline_points}
    sizes = sorted(s for s in challenger_points if s in baseline_points
                   and challenger_points[s].mean is not None and baseline_points[s].mean is not None)
    result = Crossover(challenger, baseline, "no-data", sizes=sizes)
    if not sizes:
        return result
    ahead = [challenger_points[s].mean > baseline_points[s].mean for s in sizes]
    first = len(sizes)
    while first > 0 and ahead[first - 1]:
        first -= 1
    last = sizes[-1]
    if baseline_points[last].mean > 0:
        result.ratio_at_largest = challenger_points[last].mean / baseline_points[last].mean
    result.earlier_leads = [s for s, a in zip(sizes[:first], ahead[:first]) if a]
    if first == len(sizes):
        result.status = "never"
        return result
    result.status = "always" if first == 0 else "from"
    result.from_size = sizes[first]
    clear = [True] * len(sizes)
    for i in range(first, len(sizes)):
        s = sizes[i]
        ov = _overlap(challenger_points[s], baseline_points[s])
        if ov is None:
            result.no_ci.append(s)
            clear[i] = False
        elif ov:
            result.overlap.append(s)
            clear[i] = False
    j = len(sizes)
    while j > first and clear[j - 1]:
        j -= 1
    result.clear_from = sizes[j] if j < len(sizes) else None
    return result


def points_of(cells):
    """{size: Point} from cells of one strategy (the last cell of a size wins)."""
    out = {}
    for c in cells:
        if c.mean is not None:
            out[c.size] = Point(c.size, c.mean, c.ci_low, c.ci_high)
    return out


@dataclass
class Answer:
    transport: str
    pattern: str
    threads: int
    results: List[Crossover]


def crossovers(cells, questions=QUESTIONS):
    """One Answer per (transport, pattern, threads) where both strategies of some question
    were measured."""
    answers = []
    for transport in distinct(cells, "transport", TRANSPORT_ORDER):
        for pattern in distinct(cells, "pattern", PATTERN_ORDER):
            group = [c for c in cells if c.transport == transport and c.pattern == pattern]
            for threads in distinct(group, "threads"):
                g = [c for c in group if c.threads == threads]
                results = []
                for ch, base in questions:
                    a = [c for c in g if c.strategy == ch]
                    b = [c for c in g if c.strategy == base]
                    if a and b:
                        results.append(crossover(points_of(a), points_of(b), ch, base))
                if results:
                    answers.append(Answer(transport, pattern, threads, results))
    return answers
