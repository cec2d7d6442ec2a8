#!/bin/sh
# Regenerates vmlinux/<arch>/vmlinux.h from the running kernel's BTF, for CO-RE.
# CO-RE relocates field offsets at load time, so one header serves every kernel that has
# BTF; regenerate it only to reach types or fields that a newer kernel added.
# Usage: scripts/gen-vmlinux.sh [BTF_FILE]   (default /sys/kernel/btf/vmlinux)
set -eu
btf=${1:-/sys/kernel/btf/vmlinux}
case "$(uname -m)" in
  x86_64) arch=x86 ;;
  aarch64) arch=arm64 ;;
  *) echo "gen-vmlinux.sh: unsupported architecture $(uname -m) (x86_64 or aarch64)" >&2; exit 2 ;;
esac
if [ ! -r "$btf" ]; then
  echo "gen-vmlinux.sh: cannot read BTF at $btf (kernel built without CONFIG_DEBUG_INFO_BTF?)" >&2
  exit 1
fi
bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/vmlinux/$arch/vmlinux.h"
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
"$bpftool" btf dump file "$btf" format c > "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "wrote $out from $btf ($(uname -r))"
