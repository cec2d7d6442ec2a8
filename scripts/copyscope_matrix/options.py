"""The matrix's command line."""
import argparse
import os
import shlex

from .util import MatrixError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# bookworm's 6.1, 6.12 from bookworm-backports, 7.2 from sid, 7.3 from trixie-backports.
DEFAULT_KERNELS = ("linux-image-cloud-amd64,linux-image-cloud-amd64/bookworm-backports,"
                   "linux-image-cloud-amd64/sid,linux-image-cloud-amd64/trixie-backports")
# --hooks-compare without --kernels: one 7.x kernel (the tracepoint forms need 6.16+).
COMPARE_KERNELS = "linux-image-cloud-amd64/trixie-backports"
# The classroom four by name; the send paths real programs use are runs of their own.
RUN_ARGS = "--strategy two-copy,per-field,one-copy,zero-copy --size 4K,64K --threads 1 --bytes 64M"
NIC_RUN_ARGS = "--strategy one-copy,zero-copy --size 64K --threads 1 --bytes 64M"
FORWARD_RUN_ARGS = "--strategy zero-copy --size 64K --threads 1 --bytes 64M"
# sendfile and io_uring over veth ("paths") and through the NIC ("paths-nic").
PATHS_RUN_ARGS = ("--strategy sendfile,io-uring,io-uring-zc,io-uring-zc-fixed --size 64K "
                  "--threads 1 --bytes 64M")
# UDP MSG_ZEROCOPY with GSO, over veth only: the nic transport's sink receives TCP only.
UDP_RUN_ARGS = ("--protocol udp --strategy zero-copy --udp-gso 1472 --size 64K --threads 1 "
                "--bytes 64M")
# A copyscope run under `copyscope trace` ("traced": the run's report, "trace": the trace's).
TRACE_RUN_ARGS = "--strategy zero-copy,one-copy --size 64K --threads 1 --bytes 16M"
# Each run's transport: veth when absent. The nic ones get --peer, the sink serves them.
RUN_TRANSPORT = {"nic": "nic", "forward": "forward", "paths-nic": "nic"}
TRACED = "traced"


def transport_of(run):
    return RUN_TRANSPORT.get(run, "veth")


def default_cache():
    if os.environ.get("COPYSCOPE_KERNEL_CACHE"):
        return os.environ["COPYSCOPE_KERNEL_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "copyscope", "kernels")


DESCRIPTION = """\
The kernel matrix: the same fixed-bytes copyscope run on other stock Debian kernels, each
booted under qemu-system-x86_64 (software emulation) from an initramfs that holds busybox, a
statically linked copyscope and the modules the lab needs. The guest prints its JSON
reports on the serial console; they are written as OUT/kernel-<release>[-<run>].json, with
OUT/kernel-<release>.meta.json (boot and run times, packages) and the console log beside.

Each guest makes up to seven runs, one report each:
  kernel-<release>.json            veth: sender and receiver namespaces in the guest
  kernel-<release>-nic.json        nic: the guest's own namespace sends through a virtio-net
                                   NIC to a `copyscope sink` on this machine's side
  kernel-<release>-forward.json    forward: sender -> router -> receiver namespaces
  kernel-<release>-paths.json      sendfile and io_uring over veth
  kernel-<release>-paths-nic.json  the same through the NIC
  kernel-<release>-udp.json        UDP zerocopy with GSO over veth
  kernel-<release>-traced.json     a copyscope run under `copyscope trace`, whose report is
  kernel-<release>-trace.json      checked against the run's: per connection, bytes sent,
                                   pinned bytes, completions flagged COPIED, hook forms
With --hooks-compare every run is made twice in the same guest, with --hooks auto (the
exact fentry/fexit forms) and --hooks prefer-tracepoints (the forms a kernel without
fentry uses; reports kernel-<release>-<run>-tracepoints.json), and the ledger's figures of
the two are printed side by side.
Kernel packages come from Debian's archive through a private apt configuration in the cache
directory (the machine's own apt sources are not touched); nothing is installed from them.
"""

EPILOG = """\
exit status: 0 every kernel returned its reports and every cell passed with every ledger
check evaluated (and, with --hooks-compare, the tracepoint figures equal the exact ones);
1 a guest did not finish, a cell failed, a check could not be evaluated or a comparison
did not hold (printed); 2 bad usage; 3 something needed cannot be had (qemu, busybox, a
kernel package): nothing was booted for that reason.
"""


def parser():
    p = argparse.ArgumentParser(prog="kernel_matrix.py", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("--kernels", help="comma-separated apt package specs, NAME or NAME/SUITE; a metapackage "
      "(linux-image-cloud-amd64) is followed to its kernel. Default: 6.1 (bookworm), 6.12 "
      "(bookworm-backports), 7.2 (sid), 7.3 (trixie-backports); with --hooks-compare: 7.3")
    a("--out", default=os.path.join(ROOT, "build-kernels", "reports"),
      help="where the reports go (default: build-kernels/reports)")
    a("--cache", default=default_cache(),
      help="downloaded packages, private apt state, extracted kernels (default: "
      "$COPYSCOPE_KERNEL_CACHE or ~/.cache/copyscope/kernels); later runs reuse it")
    a("--copyscope", help="the copyscope to boot with; static, or dynamic (its libraries are "
      "copied in). Default: build it statically (-DCOPYSCOPE_STATIC=ON) in --build-dir")
    a("--build-dir", default=os.path.join(ROOT, "build-static"),
      help="where the static build lives (default: build-static)")
    a("--build-only", action="store_true",
      help="build the static copyscope in --build-dir and stop (no kernel, no boot)")
    a("--run-args", default=RUN_ARGS, help=f"the veth run's `copyscope run` arguments "
      f"(word-split; -o is added). Default: \"{RUN_ARGS}\"")
    a("--nic-run-args", default=NIC_RUN_ARGS, help="the nic run's arguments; --transport nic "
      f"--peer are added. Default: \"{NIC_RUN_ARGS}\"; \"\" skips it and paths-nic (no NIC in "
      "the guest)")
    a("--forward-run-args", default=FORWARD_RUN_ARGS, help="the forward run's arguments; "
      f"--transport forward is added. Default: \"{FORWARD_RUN_ARGS}\"; \"\" skips it")
    a("--paths-run-args", default=PATHS_RUN_ARGS, help="the paths runs' arguments, over veth "
      f"and (--transport nic is added) through the NIC. Default: \"{PATHS_RUN_ARGS}\"; \"\" "
      "skips both")
    a("--udp-run-args", default=UDP_RUN_ARGS, help="the udp run's arguments (veth). Default: "
      f"\"{UDP_RUN_ARGS}\"; \"\" skips it")
    a("--trace-run-args", default=TRACE_RUN_ARGS, help="the traced run's arguments (veth): the "
      "guest runs `copyscope trace --quiet -o ... -- copyscope run ARGS`. Default: "
      f"\"{TRACE_RUN_ARGS}\"; \"\" skips it")
    a("--sink", help="the copyscope that runs `copyscope sink` (default: --copyscope); stopped "
      "by its pid after the guest (log: OUT/kernel-<release>-nic.sink.log)")
    a("--nic-backend", choices=("tap", "user"), default="tap",
      help="tap (default): a tap with vnet headers in an anonymous network namespace the "
      "matrix makes (qemu, tap and sink live there); user: qemu user networking (slirp), the "
      "sink on 127.0.0.1; slirp has no vnet headers, so the guest's virtio-net has no "
      "scatter-gather and copies every zerocopy page in software GSO")
    a("--modules", default="veth", help="modules to load in the guest, with their "
      "dependencies (default: veth; virtio_pci,virtio_net are added for the nic run)")
    a("--timeout", type=int, default=900, help="bound on each guest, boot to power-off (s)")
    a("--silence", type=int, default=300,
      help="a guest whose console stays silent this long is hung (s, default 300)")
    a("--retries", type=int, default=1,
      help="boots again a guest that hung, ran out of time or whose kernel panicked, this "
      "many times (default 1)")
    a("--memory", type=int, default=1024, help="guest memory, MB (default 1024)")
    a("--smp", type=int, default=2, help="guest CPUs (default 2)")
    a("--cpu", default="qemu64,-cx16",
      help="qemu -cpu (default qemu64,-cx16: without CMPXCHG16B; Debian's 6.12 and later "
      "double-fault in SLUB's cmpxchg16b path under bookworm's qemu 7.2 TCG; -cpu max "
      "makes the guest's copies ~3x slower)")
    a("--check-bpf", nargs="?", const="default", metavar="OBJ",
      help="before the runs, load each program of the BPF object alone in the guest and "
      "print the verifier's whole log of any that fails (default OBJ: "
      "BUILD_DIR/bpf/copyscope_bpf.bpf.o)")
    a("--check-bpf-args", default="", metavar="'PROG[=TARGET] ...'",
      help="only these programs (=TARGET retargets an fentry/fexit program)")
    a("--hooks-compare", action="store_true",
      help="run every cell with --hooks auto and --hooks prefer-tracepoints in the same guest "
      "and check that the tracepoint path's figures equal the exact ones (deferred copy "
      "within 0.5%%, every other figure to the byte)")
    a("--host", action=argparse.BooleanOptionalAction, default=None,
      help="also make the veth and forward runs on this machine's own kernel, for the "
      "summary (default on, off with --hooks-compare; needs root: it makes namespaces)")
    a("--offline", action="store_true", help="no apt at all: only what is installed and cached")
    a("--no-summary", action="store_true", help="skip the comparison table")
    return p


def split_run_args(text, what):
    try:
        args = shlex.split(text)
    except ValueError as e:
        raise MatrixError(f"{what} '{text}': {e}", status=2)
    for bad, why in ((("-o", "--output"), "leave -o/--output out, the guest picks it"),
                     (("--transport", "--peer"), "leave --transport/--peer out, the matrix "
                      "sets them per run")):
        if any(a in bad or any(a.startswith(b + "=") for b in bad) for a in args):
            raise MatrixError(f"{what} '{text}': {why}", status=2)
    return args


def parse(argv):
    p = parser()
    o = p.parse_args(argv)
    for name, low in (("timeout", 1), ("silence", 1), ("memory", 256), ("smp", 1),
                      ("retries", 0)):
        if getattr(o, name) < low:
            p.error(f"--{name} {getattr(o, name)}: want >= {low}")
    o.kernels = o.kernels or (COMPARE_KERNELS if o.hooks_compare else DEFAULT_KERNELS)
    if o.host is None:
        o.host = not o.hooks_compare
    o.kernel_list = [k for k in o.kernels.split(",") if k]
    if not o.kernel_list:
        p.error("--kernels is empty")
    try:
        o.runs = [("veth", split_run_args(o.run_args, "--run-args"))]
        if o.nic_run_args:
            o.runs.append(("nic", split_run_args(o.nic_run_args, "--nic-run-args")))
        if o.forward_run_args:
            o.runs.append(("forward", split_run_args(o.forward_run_args, "--forward-run-args")))
        if o.paths_run_args:
            paths = split_run_args(o.paths_run_args, "--paths-run-args")
            o.runs.append(("paths", paths))
            if o.nic_run_args:
                o.runs.append(("paths-nic", paths))
        if o.udp_run_args:
            o.runs.append(("udp", split_run_args(o.udp_run_args, "--udp-run-args")))
        if o.trace_run_args:
            o.runs.append((TRACED, split_run_args(o.trace_run_args, "--trace-run-args")))
    except MatrixError as e:
        p.error(str(e))
    if o.hooks_compare and any("--hooks" in a or "--no-trace" in a for _, args in o.runs
                               for a in args):
        p.error("--hooks-compare sets --hooks per run: leave --hooks/--no-trace out of the "
                "run arguments")
    o.nic = any(transport_of(name) == "nic" for name, _ in o.runs)
    o.modules = [m for m in o.modules.split(",") if m]
    if o.nic:
        o.modules += ["virtio_pci", "virtio_net"]
    return o
