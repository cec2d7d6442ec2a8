"""The nic run's far end: a `copyscope sink`, and with the tap backend the network
namespace qemu's tap lives in.

tap:  an anonymous network namespace held by one process (unshare --net sleep infinity);
      the tap (10.0.2.2/24, vnet headers), qemu and the sink live there, nothing is added to
      the host's own namespace, and it all vanishes with the holder. With vnet headers the
      guest's virtio-net offers checksum offload, hence scatter-gather and TSO.
user: qemu user networking (slirp); the sink on the host's 127.0.0.1, which the guest
      reaches as 10.0.2.2. No vnet headers: no scatter-gather in the guest, so its software
      GSO copies every zerocopy page and the completions say COPIED.
"""
import os
import shutil
import socket
import subprocess
import time

from .util import MatrixError, log

GUEST_PEER = "10.0.2.2"
TAP = "cs-tap0"


class NicNamespace:
    """The tap backend's namespace; `prefix` runs a command inside it."""

    def __init__(self):
        for tool in ("unshare", "nsenter", "ip"):
            if not shutil.which(tool):
                raise MatrixError(f"nic: the tap backend needs {tool} (or use --nic-backend user)")
        self.holder = subprocess.Popen(["unshare", "--net", "sleep", "infinity"],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        own = os.readlink("/proc/self/ns/net")
        for _ in range(50):
            try:
                if os.readlink(f"/proc/{self.holder.pid}/ns/net") != own:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        self.prefix = ["nsenter", f"--net=/proc/{self.holder.pid}/ns/net", "--"]
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "tuntap", "add", "dev", TAP, "mode", "tap", "vnet_hdr"],
                    ["ip", "addr", "add", f"{GUEST_PEER}/24", "dev", TAP],
                    ["ip", "link", "set", TAP, "up"]):
            r = subprocess.run(self.prefix + cmd, capture_output=True, text=True)
            if r.returncode:
                self.close()
                raise MatrixError(f"nic: {' '.join(cmd)}: {r.stderr.strip()} "
                                  "(or use --nic-backend user)")

    def close(self):
        """The namespace (and its tap) goes with its last process."""
        if self.holder and self.holder.poll() is None:
            self.holder.kill()
            self.holder.wait()


class Sink:
    """`copyscope sink` on a free port, in PREFIX's namespace (tap) or on 127.0.0.1 (user)."""

    def __init__(self, binary, prefix, address, connections, idle_timeout, log_path):
        self.binary, self.prefix, self.address = binary, prefix, address
        self.proc, self.port, self.status, self.log_path = None, None, None, log_path
        for _ in range(5):
            self.port = self._free_port()
            with open(log_path, "w") as out:
                self.proc = subprocess.Popen(
                    prefix + [binary, "sink", "--listen", f"{address}:{self.port}",
                              "--connections", str(connections), "--idle-timeout",
                              str(idle_timeout)],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
            for _ in range(50):
                if self._listening() or self.proc.poll() is not None:
                    break
                time.sleep(0.1)
            if self._listening() and self.proc.poll() is None:
                log(f"sink: pid {self.proc.pid} on {address}:{self.port} (connections "
                    f"{connections}" + (f", in the namespace of pid {prefix[1].split('/')[2]})"
                                        if prefix else ")"))
                return
            self.stop()
        raise MatrixError(f"sink: could not listen on {address} ({self._last_log_line()})")

    def _free_port(self):
        code = ("import socket, sys; s = socket.socket(); s.bind((sys.argv[1], 0)); "
                "print(s.getsockname()[1])")
        if not self.prefix:
            with socket.socket() as s:
                s.bind((self.address, 0))
                return s.getsockname()[1]
        r = subprocess.run(self.prefix + ["/usr/bin/python3", "-c", code, self.address],
                           capture_output=True, text=True, check=True)
        return int(r.stdout)

    def _listening(self):
        try:
            with open(self.log_path) as f:
                return "listening on" in f.read()
        except OSError:
            return False

    def _last_log_line(self):
        try:
            with open(self.log_path) as f:
                lines = f.read().strip().splitlines()
            return lines[-1] if lines else "no output"
        except OSError:
            return "no log"

    def stop(self):
        """After the guest: a sink that served its connections has exited; else stop it."""
        if not self.proc:
            return
        try:
            rc = self.proc.wait(timeout=2)
            self.status = f"exited {rc}"
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.status = "stopped by the matrix"
        log(f"sink: pid {self.proc.pid} {self.status}")
        self.proc = None


def sink_connections(args):
    """How many connections a nic run with ARGS makes (cells x connections) when it is a
    fixed-bytes run (one repetition, no warm-up); 0 (serve until idle or stopped) when that
    cannot be told."""
    opts, i = {}, 0
    while i < len(args):
        a = args[i]
        if a.startswith("--") and "=" in a:
            k, v = a.split("=", 1)
            opts[k] = v
            i += 1
        elif a.startswith("--") and i + 1 < len(args) and not args[i + 1].startswith("--"):
            opts[a] = args[i + 1]
            i += 2
        else:
            opts[a] = None
            i += 1
    if "--bytes" not in opts or any(k in opts for k in (
            "--repetitions", "--warmup", "--preset", "--max-repetitions", "--min-repetitions")):
        return 0
    try:
        s = opts["--strategy"]
        strategies = 4 if s == "all" else len(s.split(","))
        sizes = len(opts["--size"].split(","))
        threads = sum(int(t) for t in opts["--threads"].split(","))
    except (KeyError, ValueError, AttributeError):
        return 0
    return strategies * sizes * threads
