"""A copyscope run traced by `copyscope trace`, checked against itself.

The traced command is copyscope's own run: it counts its bytes sent per cell and the
zerocopy completions it read from its error queue, independently of the trace. Per sending
connection of the trace (bytes sent > 0), paired with the run's cell:
  - the trace's bytes sent == the cell's bytes sent;
  - zero-copy: pinned == bytes sent, and the completions the trace saw the run read (sends
    completed, flagged COPIED) == the run's own counts;
  - any other strategy: nothing pinned;
and the trace's hook forms are the run's where both name a hook (the run's ledger, in the
same guest, shows which forms load there: fentry/fexit on stock kernels).

Pairing: a connection that pinned bytes is a zero-copy cell's, one that pinned none another
strategy's; within each kind, in order of bytes sent (the checks above then compare the two
lists). The receiving connections (bytes sent 0) are not paired.
"""

# The run's strategies whose sender pins pages per send (MSG_ZEROCOPY).
PINNING = {"zero-copy"}


def _num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def sending_connections(trace):
    """[(process comm, connection)] of the trace's connections that sent bytes."""
    out = []
    for p in trace.get("processes") or []:
        for c in p.get("connections") or []:
            if (_num((c.get("ledger") or {}).get("bytes_sent")) or 0) > 0:
                out.append((p.get("comm", "?"), c))
    return out


def _endpoint(c):
    loc, rem = c.get("local") or {}, c.get("remote") or {}
    return (f"{c.get('protocol', '?')} {loc.get('address')}:{loc.get('port')} -> "
            f"{rem.get('address')}:{rem.get('port')}")


def hook_forms(hooks):
    """{hook: mechanism} of a report's "hooks" (the unsupported ones left out)."""
    return {n: h["mechanism"] for n, h in (hooks or {}).items()
            if isinstance(h, dict) and h.get("mechanism")}


def _pair(cells, conns):
    """[(cell, connection)] by kind (pinning or not), in order of bytes sent; problems."""
    pairs, problems = [], []
    for pinning in (True, False):
        cs = sorted((c for c in cells if (c.get("strategy") in PINNING) == pinning),
                    key=lambda c: c.get("bytes_sent") or 0)
        ks = sorted((k for k in conns if ((_num(k[1]["ledger"].get("zerocopy_pinned_bytes"))
                                           or 0) > 0) == pinning),
                    key=lambda k: k[1]["ledger"]["bytes_sent"])
        if len(cs) != len(ks):
            kind = "pinning" if pinning else "not pinning"
            problems.append(f"{len(cs)} {kind} cell(s) in the run, {len(ks)} {kind} sending "
                            "connection(s) in the trace")
        pairs += list(zip(cs, ks))
    return pairs, problems


def _row(cell, comm, conn):
    """One paired connection: its figures and what did not hold."""
    led, zc = conn["ledger"], cell.get("zerocopy") or {}
    comp = led.get("completions") if isinstance(led.get("completions"), dict) else {}
    row = {"strategy": cell.get("strategy"), "size": cell.get("message_size"),
           "connection": _endpoint(conn), "comm": comm,
           "run_bytes_sent": cell.get("bytes_sent"), "trace_bytes_sent": led.get("bytes_sent"),
           "pinned": led.get("zerocopy_pinned_bytes"),
           "send_copy": led.get("kernel_send_copy_bytes"),
           "run_completions": zc.get("completions"), "run_copied": zc.get("completions_copied"),
           "trace_completions": _num(comp.get("sends")), "trace_copied": _num(comp.get("copied")),
           "verdict": conn.get("verdict"), "failed": []}
    fails = row["failed"]
    if row["trace_bytes_sent"] != row["run_bytes_sent"]:
        fails.append(f"bytes sent {row['trace_bytes_sent']} != the run's {row['run_bytes_sent']}")
    if cell.get("strategy") in PINNING:
        if row["pinned"] != row["run_bytes_sent"]:
            fails.append(f"pinned {row['pinned']} != bytes sent {row['run_bytes_sent']}")
        if row["trace_completions"] != row["run_completions"]:
            fails.append(f"completions {row['trace_completions']} != the "
                         f"{row['run_completions']} the run read")
        if row["trace_copied"] != row["run_copied"]:
            fails.append(f"COPIED {row['trace_copied']} != the {row['run_copied']} the run read")
    elif _num(row["pinned"]):
        fails.append(f"pinned {row['pinned']} by a {cell.get('strategy')} cell")
    return row


def check(run, trace):
    """(rows, problems) of the traced run's report RUN against the trace's report TRACE."""
    if not isinstance(trace, dict) or trace.get("schema") != "copyscope-trace":
        return [], ["the trace's report is not a copyscope-trace report"]
    problems = []
    end = trace.get("end") or {}
    if end.get("reason") != "command_exited" or end.get("exit_status") != 0:
        problems.append(f"the trace ended {end.get('reason')} with exit status "
                        f"{end.get('exit_status')} ({end.get('detail') or 'no detail'})")
    missed = (trace.get("tracer") or {}).get("missed_events")
    if missed:
        problems.append(f"the tracer missed {missed} kernel events")
    cells = [c for c in (run or {}).get("cells") or [] if isinstance(c, dict)]
    pairs, unpaired = _pair(cells, sending_connections(trace))
    problems += unpaired
    rows = [_row(cell, comm, conn) for cell, (comm, conn) in pairs]
    for r in rows:
        problems += [f"{r['strategy']} {r['size']} B ({r['connection']}): {f}"
                     for f in r["failed"]]
    # The run's own ledger says which forms load in this kernel; the trace must use them.
    theirs = hook_forms(trace.get("hooks"))
    for cell in cells:
        mine = hook_forms((cell.get("ledger") or {}).get("hooks"))
        for hook in sorted(set(mine) & set(theirs)):
            if mine[hook] != theirs[hook]:
                problems.append(f"hook {hook}: the trace used {theirs[hook]}, the run's "
                                f"{cell.get('strategy')} cell {mine[hook]}")
    return rows, sorted(set(problems), key=problems.index)
