"""Kernel packages from Debian's archive through a private apt configuration.

Every suite the matrix needs (bookworm for 6.1, bookworm-backports for 6.12,
trixie-backports, sid) gets its own sources list, package lists and archive cache under the
cache directory; the machine's own apt sources and state are never read or written (a suite
such as sid in the machine's sources would make every later `apt-get install` pull its
libraries). Packages are downloaded and extracted, never installed.

A spec is NAME or NAME/SUITE. NAME without a suite comes from this machine's release
(bookworm, bookworm-updates, bookworm-security). A metapackage (linux-image-cloud-amd64) is
followed to the kernel it depends on; from 7.x Debian splits that kernel into
linux-image-<rel> (small) depending on linux-binary-<rel> (vmlinuz), linux-base-<rel>
(config, System.map) and linux-modules-<rel>, all of which are followed here.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from .util import MatrixError, log

ARCHIVE = "http://deb.debian.org/debian"
SECURITY = "http://deb.debian.org/debian-security"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
# Package lists younger than this are used as they are (a later download that finds its
# version gone from the mirror refreshes them anyway).
LISTS_MAX_AGE_S = 12 * 3600
# The packages that make up one kernel: the image and, from 7.x, its split parts.
KERNEL_PART = re.compile(r"^linux-(image|binary|modules|base)-[0-9]")


def host_codename():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("VERSION_CODENAME="):
                    return line.split("=", 1)[1].strip().strip('"') or "bookworm"
    except OSError:
        pass
    return "bookworm"


def parse_spec(spec):
    """'NAME' or 'NAME/SUITE' -> (name, suite or None)."""
    name, _, suite = spec.partition("/")
    if not name or (spec.count("/") > 1):
        raise MatrixError(f"kernel spec '{spec}': want NAME or NAME/SUITE", status=2)
    return name, (suite or None)


class PrivateApt:
    """apt-get with its own sources, lists and cache for one group of suites."""

    def __init__(self, cache, suite):
        self.codename = host_codename()
        self.key = suite or self.codename
        self.dir = os.path.join(cache, "apt", self.key)
        if suite:
            self.entries = [(ARCHIVE, suite)]
        else:
            c = self.codename
            self.entries = [(ARCHIVE, c), (ARCHIVE, c + "-updates"), (SECURITY, c + "-security")]

    def _layout(self):
        for d in ("lists/partial", "archives/partial", "cache", "etc/preferences.d",
                  "etc/sources.list.d"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        sources = os.path.join(self.dir, "etc", "sources.list")
        text = "".join(f"deb [signed-by={KEYRING}] {uri} {suite} main\n"
                       for uri, suite in self.entries)
        if not os.path.exists(sources) or open(sources).read() != text:
            with open(sources, "w") as f:
                f.write(text)

    def options(self):
        etc = os.path.join(self.dir, "etc")
        return ["-q",
                "-o", "APT::Sandbox::User=root",
                "-o", f"Dir::Etc::sourcelist={etc}/sources.list",
                "-o", f"Dir::Etc::sourceparts={etc}/sources.list.d",
                "-o", f"Dir::Etc::preferences={etc}/preferences",
                "-o", f"Dir::Etc::preferencesparts={etc}/preferences.d",
                "-o", f"Dir::State::Lists={self.dir}/lists",
                "-o", f"Dir::State::status={self.dir}/status",
                "-o", f"Dir::Cache={self.dir}/cache",
                "-o", f"Dir::Cache::archives={self.dir}/archives",
                "-o", "APT::Architectures::=amd64",
                "-o", "Acquire::Languages=none",
                "-o", "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false",
                "-o", "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false",
                "-o", "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"]

    def _lists_age(self):
        stamp = os.path.join(self.dir, "updated")
        try:
            return time.time() - os.stat(stamp).st_mtime
        except OSError:
            return None

    def resolved_since_update(self, resolved):
        """Whether RESOLVED (a spec's last resolution) is newer than these lists while they
        are fresh: then the same packages would be chosen again."""
        age = self._lists_age()
        try:
            return (age is not None and age < LISTS_MAX_AGE_S and os.stat(resolved).st_mtime
                    >= os.stat(os.path.join(self.dir, "updated")).st_mtime)
        except OSError:
            return False

    def update(self, force=False):
        self._layout()
        status = os.path.join(self.dir, "status")
        if not os.path.exists(status):
            open(status, "w").close()  # an empty dpkg status: nothing is installed here
        age = self._lists_age()
        if not force and age is not None and age < LISTS_MAX_AGE_S:
            return
        log(f"apt: package lists for {', '.join(s for _, s in self.entries)} (private, {self.dir})")
        r = subprocess.run(["apt-get", *self.options(), "update"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise MatrixError(f"apt-get update ({self.key}) failed: {last_line(r.stderr)}",
                              status=3)
        open(os.path.join(self.dir, "updated"), "w").close()

    def candidate_file(self, package):
        """The file name the lists give for PACKAGE's candidate, or None."""
        r = subprocess.run(["apt-cache", *self.options(), "show", "--no-all-versions", package],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
        m = re.search(r"^Filename: (\S+)$", r.stdout, re.M)
        return os.path.basename(m.group(1)) if r.returncode == 0 and m else None

    def download(self, package, dest):
        """Downloads PACKAGE into DEST unless the candidate is there; returns the .deb's path."""
        have = self.candidate_file(package)
        if have and os.path.exists(os.path.join(dest, have)):
            return os.path.join(dest, have)
        tmp = tempfile.mkdtemp(prefix=".dl.", dir=dest)
        try:
            r = subprocess.run(["apt-get", *self.options(), "download", package], cwd=tmp,
                               stdin=subprocess.DEVNULL, capture_output=True, text=True)
            debs = glob.glob(os.path.join(tmp, "*.deb"))
            if r.returncode != 0 or len(debs) != 1:
                raise MatrixError(f"apt-get download {package} ({self.key}) failed: "
                                  f"{last_line(r.stderr)}", status=3)
            target = os.path.join(dest, os.path.basename(debs[0]))
            os.replace(debs[0], target)
            return target
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def last_line(text):
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "(no message)"


def deb_field(deb, name):
    r = subprocess.run(["dpkg-deb", "-f", deb, name], capture_output=True, text=True)
    return r.stdout.strip()


def kernel_dependencies(deb):
    """The kernel parts DEB depends on (names only)."""
    out = []
    for alt in deb_field(deb, "Depends").split(","):
        name = alt.split("|")[0].strip().split(" ")[0]
        if KERNEL_PART.match(name):
            out.append(name)
    return out


def fetch_kernel(spec, cache, offline=False):
    """The .deb files of the kernel SPEC names (image and its parts), downloading what is
    missing; offline, or when the archive cannot be reached, the files SPEC resolved to
    last time. Raises MatrixError(status=3) when neither works."""
    name, suite = parse_spec(spec)
    debs_dir = os.path.join(cache, "debs")
    os.makedirs(debs_dir, exist_ok=True)
    resolved = os.path.join(cache, "resolved", spec.replace("/", "@") + ".json")
    error = None
    apt = PrivateApt(cache, suite)
    if not offline and not apt.resolved_since_update(resolved):
        try:
            debs = _download_closure(apt, name, debs_dir)
            os.makedirs(os.path.dirname(resolved), exist_ok=True)
            with open(resolved + ".tmp", "w") as f:
                json.dump([os.path.basename(d) for d in debs], f)
            os.replace(resolved + ".tmp", resolved)
            return debs
        except MatrixError as e:
            error = e
            log(f"{spec}: {e}; trying the cache")
    try:
        with open(resolved) as f:
            debs = [os.path.join(debs_dir, d) for d in json.load(f)]
        if debs and all(os.path.exists(d) for d in debs):
            return debs
    except (OSError, ValueError):
        pass
    raise MatrixError(f"kernel package '{spec}' cannot be had"
                      + (f" ({error})" if error else " (offline and not cached)"), status=3)


def _download_closure(apt, name, debs_dir):
    apt.update()
    todo, seen, debs = [name], set(), []
    while todo:
        pkg = todo.pop(0)
        if pkg in seen:
            continue
        seen.add(pkg)
        try:
            deb = apt.download(pkg, debs_dir)
        except MatrixError:
            # The lists may name a version the mirror has dropped: refresh once, try again.
            apt.update(force=True)
            deb = apt.download(pkg, debs_dir)
        deps = kernel_dependencies(deb)
        if deps and pkg == name and not _holds_kernel(deb):
            os.remove(deb)  # a metapackage: only its dependencies matter
        else:
            debs.append(deb)
        todo += [d for d in deps if d not in seen]
    if not any(_holds_kernel(d) for d in debs):
        raise MatrixError(f"{name}: no package with a kernel (vmlinuz) among "
                          f"{', '.join(sorted(seen))}", status=3)
    return debs


# Where a kernel package keeps the kernel: /boot/vmlinuz-REL (up to 6.x), or
# /usr/lib/modules/REL/vmlinuz (the split packages of 7.x).
VMLINUZ = re.compile(r"\./(boot/vmlinuz-[^/\s]+|(usr/)?lib/modules/[^/\s]+/vmlinuz)$", re.M)


def _holds_kernel(deb):
    r = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True)
    return VMLINUZ.search(r.stdout) is not None
