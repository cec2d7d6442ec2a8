#!/usr/bin/env bash
# The kernel matrix (scripts/kernel_matrix.py, Debian's python3): the same arguments.
exec /usr/bin/python3 "$(dirname "$0")/kernel_matrix.py" "$@"
