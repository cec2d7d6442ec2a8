"""What every part of the matrix shares: its error type, its log line, small helpers."""
import os
import sys


class MatrixError(Exception):
    """A failure with the matrix's exit status: 1 failed, 2 bad usage, 3 cannot be had."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


def log(message):
    print(f"kernel-matrix: {message}", file=sys.stderr, flush=True)


def write_json_atomic(path, doc):
    import json

    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
