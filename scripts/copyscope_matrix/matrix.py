"""The matrix: for each kernel, fetch it, build its initramfs, boot it (again once if it
hangs), bring its reports back and judge them; then the summary and, with
--hooks-compare, the tracepoint-vs-exact comparison."""
import os
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from copyscope_report.model import ReportError, parse_report  # noqa: E402

from . import aptcache, guest, hooks_compare, initramfs, kernel, summary  # noqa: E402
from . import trace_check  # noqa: E402
from .nic import GUEST_PEER, TAP, NicNamespace, Sink, sink_connections  # noqa: E402
from .options import ROOT, TRACED, parse, transport_of  # noqa: E402
from .util import MatrixError, log, write_json_atomic  # noqa: E402

HOST_TOOLS = ["qemu-system-x86", "busybox-static", "cpio", "gzip", "xz-utils", "zstd",
              "binutils", "iproute2", "util-linux"]
TRACEPOINTS = "-tracepoints"  # run-name suffix of the --hooks prefer-tracepoints twin


def report_file(release, run):
    return f"kernel-{release}.json" if run == "veth" else f"kernel-{release}-{run}.json"


def trace_file(release):
    return f"kernel-{release}-trace.json"


def guest_runs(o):
    """[(name, args)] in the order the guest makes them; the nic peer is filled in later.
    The traced run is made once: --hooks-compare does not twin it."""
    runs = []
    for name, args in o.runs:
        transport = transport_of(name)
        extra = ["--transport", transport] if transport != "veth" else []
        if o.hooks_compare and name != TRACED:
            runs.append((name, args + extra + ["--hooks", "auto"]))
            runs.append((name + TRACEPOINTS, args + extra + ["--hooks", "prefer-tracepoints"]))
        else:
            runs.append((name, args + extra))
    return runs


def host_tools(o):
    if not o.offline:
        r = subprocess.run([os.path.join(ROOT, "scripts", "deps.sh"), *HOST_TOOLS])
        if r.returncode:
            log(f"installing {' '.join(HOST_TOOLS)} failed; going on with what is installed")
    if not shutil.which("qemu-system-x86_64"):
        raise MatrixError("unavailable: qemu-system-x86_64 is not installed "
                          "(apt-get install qemu-system-x86)", status=3)
    o.busybox = initramfs.find_static_busybox()
    if not o.busybox:
        raise MatrixError("unavailable: no statically linked busybox "
                          "(apt-get install busybox-static)", status=3)
    for t in ("cpio", "gzip", "readelf", "strip", "dpkg-deb"):
        if not shutil.which(t):
            raise MatrixError(f"unavailable: {t} is not installed", status=3)


def build_copyscope(o):
    log(f"building a static copyscope in {o.build_dir}")
    r = subprocess.run([os.path.join(ROOT, "scripts", "build.sh"), o.build_dir,
                        "-DCOPYSCOPE_STATIC=ON", "-DCOPYSCOPE_TESTS=OFF"])
    if r.returncode:
        raise MatrixError(f"the static build failed (scripts/build.sh {o.build_dir} "
                          "-DCOPYSCOPE_STATIC=ON)")
    return os.path.join(o.build_dir, "userspace", "copyscope")


def progcheck(o):
    """(tool, object, args) for --check-bpf, building the tool when it is older than its
    source."""
    if not o.check_bpf:
        return None
    obj = (os.path.join(o.build_dir, "bpf", "copyscope_bpf.bpf.o") if o.check_bpf == "default"
           else o.check_bpf)
    if not os.path.isfile(obj):
        raise MatrixError(f"--check-bpf: no BPF object at '{obj}'", status=2)
    src = os.path.join(initramfs.GUEST_DIR, "bpf-progcheck.c")
    tool = os.path.join(o.cache, "bpf-progcheck")
    if not os.path.exists(tool) or os.stat(src).st_mtime > os.stat(tool).st_mtime:
        r = subprocess.run(["gcc", "-O2", "-Wall", "-static", "-o", tool, src, "-lbpf", "-lelf",
                            "-lz"])
        if r.returncode:
            raise MatrixError(f"building {src} failed")
    return tool, obj, o.check_bpf_args


def qemu_command(o, k, image, prefix):
    if not o.nic:
        net = ["-nic", "none"]
    elif o.nic_backend == "tap":
        net = ["-netdev", f"tap,id=n0,ifname={TAP},script=no,downscript=no,vhost=off",
               "-device", "virtio-net-pci,netdev=n0,romfile="]
    else:  # slirp: the guest's 10.0.2.2:PORT is this machine's 127.0.0.1:PORT
        net = ["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,romfile="]
    return prefix + ["qemu-system-x86_64", "-accel", "tcg", "-cpu", o.cpu, "-m", str(o.memory),
                     "-smp", str(o.smp), "-nographic", "-no-reboot", *net, "-kernel",
                     k.vmlinuz, "-initrd", image, "-append",
                     "console=ttyS0 panic=-1 loglevel=5 rdinit=/init"]


def attempt(o, k, runs, console_path):
    """One boot with its own sink (and tap namespace); returns (Boot, nic info or None)."""
    ns = sink = None
    try:
        prefix, address = [], "127.0.0.1"
        if o.nic:
            if o.nic_backend == "tap":
                ns = NicNamespace()
                prefix, address = ns.prefix, GUEST_PEER
            nic_runs = [name for name, _ in runs if transport_of(name.replace(TRACEPOINTS, ""))
                        == "nic"]
            counts = [sink_connections(args) for name, args in runs if name in nic_runs]
            connections = 0 if 0 in counts else sum(counts)  # 0: serve until stopped
            # Idle bound: the whole guest (the nic run is not the first); stopped by pid anyway.
            sink = Sink(o.sink, prefix, address, connections, o.timeout + 60,
                        os.path.join(o.out, f"kernel-{k.release}-nic.sink.log"))
            runs = [(n, a + ["--peer", f"{GUEST_PEER}:{sink.port}"] if n in nic_runs else a)
                    for n, a in runs]
        image = os.path.join(k.dir, "initramfs.cpio.gz")
        initramfs.build(k, o, runs, image, o.progcheck, traced={TRACED})
        log(f"{k.release}: booting ({k.package} {k.version}, initramfs "
            f"{os.path.getsize(image) // 1024} KiB, runs {' '.join(n for n, _ in runs)}, bound "
            f"{o.timeout} s, silence {o.silence} s)")
        b = guest.boot(qemu_command(o, k, image, prefix), console_path, o.timeout, o.silence)
        nic = None
        if sink:
            sink.stop()
            nic = {"backend": o.nic_backend, "peer": f"{GUEST_PEER}:{sink.port}" + (
                " (tap with vnet headers in the matrix's own network namespace)"
                if o.nic_backend == "tap" else
                f" (this machine's 127.0.0.1:{sink.port}, qemu user networking)"),
                "sink_log": os.path.basename(sink.log_path), "sink": sink.status}
        return b, nic
    finally:
        if sink:
            sink.stop()
        if ns:
            ns.close()


def boot_kernel(o, k, runs):
    """Boots K, again when it hangs or its kernel panics (up to --retries); returns (Boot, Console, attempts,
    nic)."""
    console_path = os.path.join(o.out, f"kernel-{k.release}.console.log")
    attempts = []
    for n in range(o.retries + 1):
        b, nic = attempt(o, k, runs, console_path)
        attempts.append({"outcome": b.outcome, "host_seconds": round(b.seconds, 1)})
        if b.outcome == "finished":
            break
        what = {"silent": f"hung: no console output for {o.silence} s",
                "timeout": f"hung: not finished within {o.timeout} s",
                "panic": "its kernel panicked"}[b.outcome]
        lines = b.console.strip().splitlines()
        at = next((i for i, ln in enumerate(lines) if "Oops" in ln or "BUG:" in ln), None)
        shown = "\n".join(lines[at:at + 3] + ["..."] + lines[-3:] if at is not None
                          else lines[-5:])
        if n < o.retries:
            log(f"{k.release}: the guest {what} (after {b.seconds:.0f} s); booting it again. "
                f"Its console:\n{shown}")
            os.replace(console_path, console_path.replace(
                ".console.log", f".{b.outcome}-{n + 1}.console.log"))
        else:
            log(f"{k.release}: the guest {what} (after {b.seconds:.0f} s), attempt {n + 1} "
                f"of {o.retries + 1}")
    return b, guest.read_console(b.console, [n for n, _ in runs], traced={TRACED}), attempts, nic


def judge(o, k, run, report):
    """Problems of one report: a failed cell, a tracer that could not evaluate a check."""
    problems = []
    try:
        rep = parse_report(report, report_file(k.release, run))
    except ReportError as e:
        return [str(e)]
    for c in rep.cells:
        where = f"{run}: {c.strategy} {c.transport} {c.size} B"
        led = c.ledger
        if led is None or not led.tracer_available:
            problems.append(f"{where}: tracer unavailable: "
                            f"{led.tracer_reason if led else 'no ledger'}")
            continue
        # A receiver outside the guest (nic) is outside every hook's reach by design: its
        # receive-side checks cannot run anywhere in the guest, and the ledger says so.
        # UDP: the delivery hook follows zerocopy skbs to TCP only; the ledger says so.
        skipped = [n for n in led.checks_not_evaluated
                   if not (c.transport == "nic" and led.receiver_in_this_kernel is False)
                   and not (" udp" in c.strategy and '"reason": "udp:' in n)]
        if skipped:
            problems.append(f"{where}: checks not evaluated: {skipped[0][:300]}")
        if c.passed is False:
            failed = [ch.name for ch in c.checks if not ch.passed]
            problems.append(f"{where}: failed {'; '.join(failed) or c.error or 'its checks'}")
    return problems


MISSED_EVENTS = "tracer: no kernel events missed"


def missed_events_only(console, runs):
    """Whether every run reported and the only checks that failed, in any cell, were the
    tracer's own: the kernel skipped a BPF program run (its recursion protection: a program
    interrupted by a softirq that runs it again on the same CPU). Such a run measured less
    than happened and says so; it is not a finding about the kernel, so it is run again."""
    failed = set()
    for name, _ in runs:
        r = console.runs[name]
        if r.report is None:
            return False
        try:
            rep = parse_report(r.report, name)
        except ReportError:
            return False
        for c in rep.cells:
            if c.passed is False:
                names = {ch.name for ch in c.checks if not ch.passed}
                if not names or c.error:
                    return False
                failed |= names
    return failed == {MISSED_EVENTS}


def run_kernel(o, spec):
    """Fetches, boots and judges one kernel; returns (report paths by run, problems)."""
    k = kernel.extract(aptcache.fetch_kernel(spec, o.cache, o.offline), o.cache)
    runs = guest_runs(o)
    for n in range(o.retries + 1):
        b, console, attempts, nic = boot_kernel(o, k, runs)
        if n == o.retries or b.outcome != "finished" or not missed_events_only(console, runs):
            break
        log(f"{k.release}: the only failed check was \"{MISSED_EVENTS}\" (the kernel skipped a "
            "BPF program run, so a count is short); running the guest once more")
    problems, paths = [], {}
    if b.outcome != "finished":
        problems.append(f"the guest did not finish in {len(attempts)} boot(s) ("
                        + ", ".join(a["outcome"] for a in attempts) + ")")
    meta_runs = {}
    for name, args in runs:
        r = console.runs[name]
        path = os.path.join(o.out, report_file(k.release, name))
        if os.path.exists(path):
            os.remove(path)
        if r.report is not None:
            write_json_atomic(path, r.report)
            paths[name] = path
            if r.status != 0:
                problems.append(f"{name}: copyscope run exited {r.status} in the guest (a "
                                "cell failed its checks; the report says which)")
            problems += judge(o, k, name, r.report)
        elif b.outcome == "finished":
            problems.append(r.problem)
        meta_runs[name] = {"run_seconds": r.seconds, "run_status": r.status,
                           "run_args": " ".join(shlex.quote(a) for a in args),
                           "report": os.path.basename(path) if name in paths else None}
        if name == TRACED:
            problems += traced_problems(o, k, r, b.outcome, paths, meta_runs[name])
    veth = meta_runs.get("veth", {})
    meta = {"spec": spec, "package": k.package, "version": k.version, "release": k.release,
            "boot_seconds": console.boot_seconds, "run_seconds": veth.get("run_seconds"),
            "guest_seconds": console.end_seconds, "host_wall_seconds": round(b.seconds, 2),
            "attempts": attempts, "run_status": veth.get("run_status"),
            "run_args": o.run_args, "console": os.path.basename(
                os.path.join(o.out, f"kernel-{k.release}.console.log")),
            "hooks_compare": o.hooks_compare, "runs": meta_runs}
    if nic:
        meta["nic"] = dict(nic, guest_device=console.nic_device)
    write_json_atomic(os.path.join(o.out, f"kernel-{k.release}.meta.json"), meta)
    log(f"{k.release}: reports {' '.join(paths) or 'none'} in {o.out} (boot "
        f"{console.boot_seconds} s in the guest, host wall {b.seconds:.1f} s, "
        f"{len(attempts)} boot(s))")
    if problems:
        print(f"==================== guest console ({k.release}): {o.out}/"
              f"{meta['console']}", file=sys.stderr)
        print(b.console, file=sys.stderr)
        print(f"==================== end of guest console ({k.release})", file=sys.stderr)
        for p in problems:
            log(f"{k.release}: {p}")
    return paths, problems


def traced_problems(o, k, r, outcome, paths, meta):
    """Writes the trace's report beside the traced run's and checks one against the other."""
    path = os.path.join(o.out, trace_file(k.release))
    if os.path.exists(path):
        os.remove(path)
    meta["trace_status"] = r.trace_status
    if r.trace is None:
        return [r.trace_problem] if outcome == "finished" else []
    write_json_atomic(path, r.trace)
    paths["trace"] = path
    meta["trace_report"] = os.path.basename(path)
    if r.report is None:
        return []
    _, problems = trace_check.check(r.report, r.trace)
    return [f"trace: {p}" for p in problems]


def run_host(o):
    """The veth and forward runs on this machine's own kernel (for the summary)."""
    release = os.uname().release
    paths, problems = {}, []
    for name, args in o.runs:
        transport = transport_of(name)
        if transport == "nic" or name == TRACED:
            continue  # a sink would have to be outside this kernel; the trace is the guests'
        extra = ["--transport", transport] if transport != "veth" else []
        path = os.path.join(o.out, f"host-{release}" + ("" if name == "veth" else f"-{name}")
                            + ".json")
        log(f"host {release}: copyscope run {' '.join(args + extra)}")
        t0 = time.monotonic()
        r = subprocess.run([o.copyscope, "run", *args, *extra, "--quiet", "-o", path],
                           stdin=subprocess.DEVNULL)
        log(f"host {release}: {name} exited {r.returncode} after {time.monotonic() - t0:.1f} s")
        if r.returncode != 0:
            problems.append(f"host {name}: copyscope run exited {r.returncode}")
        if os.path.exists(path):
            paths[name] = path
    return paths, problems


def main(argv):
    try:
        o = parse(argv)
        if o.build_only:
            build_copyscope(o)
            return 0
        os.makedirs(o.out, exist_ok=True)
        os.makedirs(o.cache, exist_ok=True)
        o.out, o.cache = os.path.abspath(o.out), os.path.abspath(o.cache)
        host_tools(o)
        o.copyscope = os.path.abspath(o.copyscope or build_copyscope(o))
        if not os.access(o.copyscope, os.X_OK):
            raise MatrixError(f"--copyscope '{o.copyscope}': not an executable file", status=2)
        o.sink = o.sink or o.copyscope
        if o.nic and subprocess.run([o.sink, "sink", "--help"],
                                    capture_output=True).returncode:
            raise MatrixError(f"--sink '{o.sink}': this copyscope has no 'sink' command",
                              status=2)
        o.progcheck = progcheck(o)
    except MatrixError as e:
        log(str(e))
        return e.status
    failed, reports = False, {}
    for spec in o.kernel_list:
        try:
            paths, problems = run_kernel(o, spec)
        except MatrixError as e:
            log(f"{spec}: {e}")
            if e.status == 3 and len(o.kernel_list) == 1:
                return 3
            failed = True
            continue
        reports[spec] = paths
        failed = failed or bool(problems)
    if o.host:
        paths, problems = run_host(o)
        reports["host"] = paths
        failed = failed or bool(problems)
    auto = [p for paths in reports.values() for n, p in paths.items()
            if not n.endswith(TRACEPOINTS)]  # the trace's report too: the summary pairs it
    if not o.no_summary and auto:
        text = summary.render_paths(auto)
        print(text)
        with open(os.path.join(o.out, "kernel-summary.txt"), "w") as f:
            f.write(text + "\n")
    if o.hooks_compare:
        texts = []
        for spec in o.kernel_list:
            paths = reports.get(spec, {})
            pairs = [(n, paths.get(n), paths.get(n + TRACEPOINTS)) for n, _ in o.runs
                     if n != TRACED]
            ok, text = hooks_compare.compare_paths(spec, pairs)
            print(text)
            texts.append(text)
            failed = failed or not ok
        with open(os.path.join(o.out, "hooks-compare.txt"), "w") as f:
            f.write("\n\n".join(texts) + "\n")
    return 1 if failed else 0
