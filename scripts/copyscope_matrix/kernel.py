"""A downloaded kernel, extracted once into the cache: its vmlinuz, release and modules.

Up to 6.x Debian ships /boot/vmlinuz-REL and /lib/modules/REL in one package; from 7.x
the kernel is /usr/lib/modules/REL/vmlinuz in linux-binary-REL and the modules (.ko.xz) in
linux-modules-REL. Modules are staged uncompressed with their dependencies, read from each
module's .modinfo section (no kmod needed on this machine).
"""
import gzip
import lzma
import os
import re
import shutil
import struct
import subprocess

from .aptcache import deb_field
from .util import MatrixError, log


class Kernel:
    def __init__(self, directory):
        self.dir = directory
        self.tree = os.path.join(directory, "tree")
        self.vmlinuz = os.path.join(directory, "vmlinuz")
        with open(os.path.join(directory, "release")) as f:
            self.release = f.read().strip()
        with open(os.path.join(directory, "package")) as f:
            fields = dict(line.split(": ", 1) for line in f.read().splitlines() if ": " in line)
        self.package = fields.get("Package", "")
        self.version = fields.get("Version", "")
        self.modules_dir = next((d for d in (os.path.join(self.tree, "lib/modules", self.release),
                                             os.path.join(self.tree, "usr/lib/modules",
                                                          self.release))
                                 if os.path.isdir(d)), None)

    def builtin(self, name):
        path = os.path.join(self.modules_dir or "", "modules.builtin")
        pattern = re.compile(r"/" + module_pattern(name) + r"\.ko$")
        try:
            with open(path) as f:
                return any(pattern.search(line.strip()) for line in f)
        except OSError:
            return False

    def find_module(self, name):
        """The module file's path relative to the modules dir, or None."""
        if not self.modules_dir:
            return None
        pattern = re.compile(module_pattern(name) + r"\.ko(\.xz|\.zst|\.gz)?$")
        for root, _, files in os.walk(self.modules_dir):
            for f in files:
                if pattern.fullmatch(f):
                    return os.path.relpath(os.path.join(root, f), self.modules_dir)
        return None


def module_pattern(name):
    """Module names treat - and _ alike."""
    return "".join("[-_]" if c in "-_" else re.escape(c) for c in name)


def extract(debs, cache):
    """Extracts the kernel's packages once; returns its Kernel."""
    image = next((d for d in debs if _has_vmlinuz_name(d)), debs[0])
    name = os.path.basename(image)[:-4]
    directory = os.path.join(cache, "kernels", name)
    if os.path.exists(os.path.join(directory, ".done")):
        return Kernel(directory)
    shutil.rmtree(directory, ignore_errors=True)
    tree = os.path.join(directory, "tree")
    os.makedirs(tree)
    for deb in debs:
        r = subprocess.run(["dpkg-deb", "-x", deb, tree], capture_output=True, text=True)
        if r.returncode != 0:
            raise MatrixError(f"dpkg-deb -x {deb}: {r.stderr.strip()}")
    found = []
    for pattern in (r"boot/vmlinuz-(.+)", r"(?:usr/)?lib/modules/([^/]+)/vmlinuz"):
        for root, _, files in os.walk(tree):
            for f in files:
                rel = os.path.relpath(os.path.join(root, f), tree)
                m = re.fullmatch(pattern, rel)
                if m:
                    found.append((rel, m.group(1)))
    if not found:
        raise MatrixError(f"{', '.join(map(os.path.basename, debs))}: no vmlinuz")
    rel_path, release = found[0]
    # qemu boots the bzImage as it is (it carries its own decompressor).
    shutil.copy(os.path.join(tree, rel_path), os.path.join(directory, "vmlinuz"))
    with open(os.path.join(directory, "release"), "w") as f:
        f.write(release + "\n")
    with open(os.path.join(directory, "package"), "w") as f:
        f.write(f"Package: {deb_field(image, 'Package')}\nVersion: {deb_field(image, 'Version')}\n")
    open(os.path.join(directory, ".done"), "w").close()
    return Kernel(directory)


def _has_vmlinuz_name(deb):
    base = os.path.basename(deb)
    return base.startswith("linux-binary-") or (base.startswith("linux-image-") and
                                                not base.startswith("linux-image-cloud"))


def decompress(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".zst"):
        r = subprocess.run(["zstd", "-qdc", path], capture_output=True)
        if r.returncode != 0:
            raise MatrixError(f"zstd -d {path} failed (apt-get install zstd)")
        return r.stdout
    return data


def modinfo_depends(ko):
    """The depends= list of an ELF64 module's .modinfo section."""
    if ko[:4] != b"\x7fELF" or ko[4] != 2:
        return []
    shoff, = struct.unpack_from("<Q", ko, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", ko, 0x3A)

    def section(i):
        name, _, _, _, off, size = struct.unpack_from("<IIQQQQ", ko, shoff + i * shentsize)
        return name, off, size

    _, str_off, _ = section(shstrndx)
    for i in range(shnum):
        name, off, size = section(i)
        end = ko.index(b"\0", str_off + name)
        if ko[str_off + name:end] == b".modinfo":
            for entry in ko[off:off + size].split(b"\0"):
                if entry.startswith(b"depends="):
                    return [d for d in entry[8:].decode().split(",") if d]
    return []


def stage_modules(kernel, names, stage):
    """Copies the modules NAMES and their dependencies, uncompressed, into
    STAGE/lib/modules/REL; returns their paths there in load order."""
    order, seen = [], set()

    def add(name):
        key = name.replace("-", "_")
        if key in seen:
            return
        seen.add(key)
        if kernel.builtin(name):
            return
        rel = kernel.find_module(name)
        if rel is None:
            raise MatrixError(f"module {name}: not in {kernel.package} {kernel.version}")
        ko = decompress(os.path.join(kernel.modules_dir, rel))
        for dep in modinfo_depends(ko):
            add(dep)
        rel = re.sub(r"\.(xz|zst|gz)$", "", rel)
        target = os.path.join(stage, "lib/modules", kernel.release, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(ko)
        order.append(rel)

    for n in names:
        add(n)
    if order:
        log(f"{kernel.release}: modules {', '.join(os.path.basename(m) for m in order)}")
    return order
