#!/usr/bin/env bash
# Installs, from Debian's packages, what copyscope needs to build, run and test — only what
# is missing, so it is cheap to run again. Usage: scripts/deps.sh [extra packages...]
set -euo pipefail

packages=(
  cmake g++ make pkg-config                  # build
  clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev   # BPF CO-RE objects and skeletons
  libcli11-dev nlohmann-json3-dev             # command line, report
  libnl-3-dev libnl-route-3-dev               # namespaces and veth over netlink
  libgtest-dev                                # tests
  iproute2                                    # not used by copyscope; handy to inspect a lab
  tcpdump                                     # tests: a packet tap during a cell
  prometheus                                  # tests: promtool check metrics, a scraping server
  python3-matplotlib                          # plots
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# The prometheus package enables and starts its server (listening on every interface, port
# 9090) on a host run by systemd; the tests only need its binaries and start their own.
if [[ " ${missing[*]:-} " == *" prometheus "* ]] && [ -d /run/systemd/system ] &&
  systemctl is-enabled --quiet prometheus 2>/dev/null; then
  echo "deps: stopping and disabling the prometheus service the package started" >&2
  "${sudo_cmd[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
