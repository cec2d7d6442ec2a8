"""The guest's initramfs: busybox, scripts/kernel-matrix/init, a copyscope, the lab's
modules and one file per run (its arguments, one per line; the guest runs them in name
order and prints each report between markers naming the run). A run named in
etc/copyscope/traced/ is made under `copyscope trace`, whose report follows the run's."""
import os
import shutil
import subprocess

from .kernel import stage_modules
from .util import MatrixError

GUEST_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "kernel-matrix")


def is_static(binary):
    r = subprocess.run(["readelf", "-l", binary], capture_output=True, text=True)
    return r.returncode == 0 and "INTERP" not in r.stdout


def find_static_busybox():
    for b in ("/bin/busybox", "/usr/bin/busybox"):
        if os.access(b, os.X_OK) and is_static(b):
            return b
    return None


def _copy_libraries(binary, stage):
    r = subprocess.run(["ldd", binary], capture_output=True, text=True)
    for word in r.stdout.split():
        if word.startswith("/"):
            target = stage + word
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy(word, target)


def build(kernel, plan, runs, image, progcheck=None, traced=()):
    """Writes IMAGE (gzip'd newc cpio) for KERNEL. RUNS: [(name, [args...])] in order;
    PLAN: the matrix options (busybox, copyscope, modules, nic); TRACED: the names of the runs
    to make under `copyscope trace`."""
    stage = os.path.join(kernel.dir, "stage")
    shutil.rmtree(stage, ignore_errors=True)
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc/copyscope/runs", "etc/copyscope/traced",
              "proc", "sys", "dev", "tmp", "run"):
        os.makedirs(os.path.join(stage, d))
    shutil.copy(plan.busybox, os.path.join(stage, "bin/busybox"))
    shutil.copy(os.path.join(GUEST_DIR, "init"), os.path.join(stage, "init"))
    os.chmod(os.path.join(stage, "init"), 0o755)
    binary = os.path.join(stage, "bin/copyscope")
    if subprocess.run(["strip", "-o", binary, plan.copyscope], capture_output=True).returncode:
        shutil.copy(plan.copyscope, binary)
    if not is_static(plan.copyscope):
        _copy_libraries(plan.copyscope, stage)
    order = stage_modules(kernel, plan.modules, stage)
    with open(os.path.join(stage, "etc/copyscope/modules"), "w") as f:
        f.write("".join(m + "\n" for m in order))
    if progcheck:
        tool, obj, args = progcheck
        shutil.copy(tool, os.path.join(stage, "bin/bpf-progcheck"))
        shutil.copy(obj, os.path.join(stage, "etc/copyscope/check.bpf.o"))
        with open(os.path.join(stage, "etc/copyscope/check-args"), "w") as f:
            f.write(args + "\n")
    for i, (name, args) in enumerate(runs, 1):
        with open(os.path.join(stage, "etc/copyscope/runs", f"{i:02d}-{name}"), "w") as f:
            f.write("".join(a + "\n" for a in args))
        if name in traced:
            open(os.path.join(stage, "etc/copyscope/traced", name), "w").close()
    if plan.nic:
        open(os.path.join(stage, "etc/copyscope/nic"), "w").close()
    # The initial console, for the kernel's own use before /init mounts devtmpfs.
    subprocess.run(["mknod", "-m", "600", os.path.join(stage, "dev/console"), "c", "5", "1"],
                   capture_output=True)
    files = subprocess.run(["find", ".", "-print0"], cwd=stage, capture_output=True,
                           check=True).stdout
    with open(image + ".tmp", "wb") as out:
        cpio = subprocess.Popen(["cpio", "--null", "-o", "-H", "newc", "--quiet"], cwd=stage,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        gz = subprocess.Popen(["gzip", "-1"], stdin=cpio.stdout, stdout=out)
        cpio.stdout.close()
        cpio.communicate(files)
        gz.wait()
    if cpio.returncode or gz.returncode:
        raise MatrixError(f"{kernel.release}: cpio/gzip of the initramfs failed")
    os.replace(image + ".tmp", image)
    shutil.rmtree(stage, ignore_errors=True)
