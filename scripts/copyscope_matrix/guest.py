"""One boot of a guest under qemu, and what its serial console brings back.

The guest's /init prints every line the host looks for with a "COPYSCOPE-" prefix: uptimes,
the kernel, `copyscope doctor`, each run's status and its JSON report (gzip + base64
between COPYSCOPE-REPORT-BEGIN/END markers naming the run).
"""
import base64
import gzip
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from typing import Dict, Optional

ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1bc")


@dataclass
class Boot:
    console: str  # the console log, plain text
    seconds: float  # host wall time, boot to power-off
    # "finished"; "timeout" (the whole bound), "silent" (no output for too long): hung;
    # "panic": the guest's kernel panicked (panic=-1 with -no-reboot: qemu exits)
    outcome: str


def boot(qemu_cmd, console_path, bound_s, silence_s):
    """Runs QEMU_CMD with the serial console to CONSOLE_PATH until it powers off, or kills
    it (by its pid) at BOUND_S seconds, or after SILENCE_S seconds without a console byte."""
    t0 = time.monotonic()
    with open(console_path, "wb") as out:
        proc = subprocess.Popen(qemu_cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
    outcome, size, quiet_since = "finished", -1, t0
    try:
        while proc.poll() is None:
            now = time.monotonic()
            grown = os.path.getsize(console_path)
            if grown != size:
                size, quiet_since = grown, now
            if now - t0 >= bound_s:
                outcome = "timeout"
                break
            if now - quiet_since >= silence_s:
                outcome = "silent"
                break
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    seconds = time.monotonic() - t0
    with open(console_path, "rb") as f:
        text = ESCAPES.sub("", f.read().decode("utf-8", "replace").replace("\r", ""))
    with open(console_path, "w") as f:  # plain text: no carriage returns, no escapes
        f.write(text)
    if outcome == "finished" and "Kernel panic - not syncing" in text:
        outcome = "panic"
    return Boot(text, seconds, outcome)


@dataclass
class RunResult:
    name: str
    status: Optional[int] = None
    start: Optional[float] = None
    end: Optional[float] = None
    report: Optional[dict] = None
    problem: Optional[str] = None  # why there is no report
    # A run made under `copyscope trace`: the trace's exit status and report
    trace_status: Optional[int] = None
    trace: Optional[dict] = None
    trace_problem: Optional[str] = None

    @property
    def seconds(self):
        return self.end - self.start if self.start is not None and self.end is not None else None


@dataclass
class Console:
    boot_seconds: Optional[float]  # uptime when /init started
    end_seconds: Optional[float]  # uptime at power-off
    kernel: Optional[str]
    nic_device: Optional[str]
    doctor: str
    runs: Dict[str, RunResult] = field(default_factory=dict)


def _float(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def _payload(lines, kind, name):
    """(the JSON between COPYSCOPE-KIND-BEGIN/END NAME, why there is none)."""
    what = "report" if kind == "REPORT" else "trace report"
    begin, end = f"COPYSCOPE-{kind}-BEGIN {name} ", f"COPYSCOPE-{kind}-END {name}"
    try:
        i = next(i for i, ln in enumerate(lines) if ln.startswith(begin))
        j = next(j for j in range(i + 1, len(lines)) if lines[j] == end)
    except StopIteration:
        return None, f"the guest brought no {name} {what} back"
    try:
        return json.loads(gzip.decompress(base64.b64decode("".join(lines[i + 1:j])))), None
    except (ValueError, OSError, EOFError) as e:
        return None, f"the {name} {what} on the console does not decode to JSON ({e})"


def _status(text):
    return int(text) if text and text.lstrip("-").isdigit() else None


def read_console(text, run_names, traced=()):
    """The console's markers; TRACED: the runs made under `copyscope trace`."""
    lines = text.splitlines()

    def marker(name):
        for ln in lines:
            if ln.startswith(name + " "):
                return ln[len(name) + 1:]
        return None

    def section(begin, end):
        try:
            i = next(i for i, ln in enumerate(lines) if ln.startswith(begin))
            j = next(j for j in range(i + 1, len(lines)) if lines[j] == end)
        except StopIteration:
            return None
        return lines[i + 1:j]

    doctor = section("COPYSCOPE-DOCTOR-BEGIN", "COPYSCOPE-DOCTOR-END")
    c = Console(_float(marker("COPYSCOPE-UPTIME-INIT")), _float(marker("COPYSCOPE-UPTIME-END")),
                marker("COPYSCOPE-KERNEL"), marker("COPYSCOPE-NIC"),
                "\n".join(doctor) if doctor is not None else "")
    for name in run_names:
        r = RunResult(name)
        r.status = _status(marker(f"COPYSCOPE-RUN-STATUS {name}"))
        r.start = _float(marker(f"COPYSCOPE-UPTIME-RUN-START {name}"))
        r.end = _float(marker(f"COPYSCOPE-UPTIME-RUN-END {name}"))
        r.report, r.problem = _payload(lines, "REPORT", name)
        if name in traced:
            r.trace_status = _status(marker(f"COPYSCOPE-TRACE-STATUS {name}"))
            r.trace, r.trace_problem = _payload(lines, "TRACE", name)
        c.runs[name] = r
    return c
