#!/usr/bin/python3
"""The kernel matrix: copyscope on Debian's stock kernels under qemu. `--help` for options.

Needs Debian's python3 (standard library only) and root (apt-get for what is missing, the
nic run's tap namespace, the host run's namespaces)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from copyscope_matrix.matrix import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
