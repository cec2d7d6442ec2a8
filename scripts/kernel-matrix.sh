#!/usr/bin/env bash
# The kernel matrix: the same fixed-bytes copyscope run on other stock Debian kernels, each
# booted under qemu-system-x86_64 (software emulation, -cpu qemu64,-cx16) from an initramfs that
# holds busybox, a statically linked copyscope and the modules the lab needs. The guest
# prints its JSON report on the serial console (gzip + base64 between markers); the host
# writes it as OUT/kernel-<release>.json, then prints one comparison table across kernels.
#
# Each guest makes up to three runs, one report each:
#   kernel-<release>.json          veth: sender and receiver namespaces in the guest
#   kernel-<release>-nic.json      nic: the guest's own namespace sends through a virtio-net NIC
#                                  (qemu user networking) to a `copyscope sink` on the host's
#                                  127.0.0.1, which the guest reaches as 10.0.2.2: the packets
#                                  leave the guest kernel, so no zerocopy page is copied there
#   kernel-<release>-forward.json  forward: sender -> router -> receiver namespaces in the guest
#                                  (the ledger's by_namespace says where the deferred copy is)
#
# Usage: scripts/kernel-matrix.sh [options]            (as root: apt-get installs what is missing)
#   --kernels LIST    comma-separated apt package specs, NAME or NAME/SUITE; a metapackage
#                     (linux-image-cloud-amd64) is resolved to the kernel it depends on.
#                     Default: linux-image-cloud-amd64,linux-image-cloud-amd64/bookworm-backports
#                     (bookworm's 6.1 cloud kernel and 6.12 from bookworm-backports)
#   --out DIR         where the reports go (default: build-kernels/reports)
#   --cache DIR       downloaded packages and extracted kernels (default: build-kernels/cache,
#                     or $COPYSCOPE_KERNEL_CACHE)
#   --copyscope PATH  the copyscope to boot with; static, or dynamic (its libraries are copied
#                     in). Default: build it statically (-DCOPYSCOPE_STATIC=ON) in --build-dir
#   --build-dir DIR   where the static build lives (default: build-static)
#   --run-args ARGS   arguments of `copyscope run` in the guest (word-split; -o is added)
#                     Default: "--strategy all --size 4K,64K --threads 1 --bytes 64M"
#   --nic-run-args ARGS      the nic run's arguments; the script adds --transport nic --peer.
#                     Default: "--strategy one-copy,zero-copy --size 64K --threads 1 --bytes 64M".
#                     "" skips the nic run (and the guest gets no NIC)
#   --forward-run-args ARGS  the forward run's arguments; the script adds --transport forward.
#                     Default: "--strategy zero-copy --size 64K --threads 1 --bytes 64M"; "" skips it
#   --sink PATH       the copyscope that runs `copyscope sink` on the host (default: --copyscope).
#                     Stopped by its pid after the guest (its log: OUT/kernel-<release>-nic.sink.log)
#   --nic-backend tap|user   how the guest's virtio-net reaches the sink (default: tap)
#                     tap:  a tap device with vnet headers in an anonymous network namespace
#                           the script makes (unshare; it vanishes with its holder process):
#                           qemu, the tap (10.0.2.2/24) and the sink live there, nothing is
#                           added to the host's own namespace. With vnet headers the guest's
#                           virtio-net offers checksum offload, hence scatter-gather and TSO,
#                           like a real NIC.
#                     user: qemu user networking (slirp); the sink on the host's 127.0.0.1,
#                           reached as 10.0.2.2. slirp has no vnet headers, so the guest's
#                           virtio-net has no checksum offload, no scatter-gather: its software
#                           GSO copies every zerocopy page and the completions say COPIED.
#   --modules LIST    modules to load in the guest, with their dependencies (default: veth;
#                     virtio_pci,virtio_net are added for the nic run)
#   --timeout SEC     bound on each guest, boot to power-off (default: 900)
#   --memory MB, --smp N   guest size (default: 1024, 2)
#   --cpu MODEL       qemu -cpu (default: qemu64,-cx16). Without CMPXCHG16B: Debian's 6.12
#                     under bookworm's qemu 7.2 (TCG) dies early in SLUB's cmpxchg16b fast
#                     path ("traps: PANIC: double fault" in kmem_cache_alloc_noprof, EFLAGS
#                     garbage), or with -smp 1 takes a spurious #DB there; with cx16 off the
#                     kernel uses its own emulation and runs clean. -cpu max makes the
#                     guest's copies ~3x slower and its 6.12 oopses in the scheduler.
#   --check-bpf [OBJ] before the run, load each program of the BPF object alone and print
#                     the verifier's whole log of any that fails (scripts/kernel-matrix/
#                     bpf-progcheck.c). OBJ defaults to BUILD_DIR/bpf/copyscope_bpf.bpf.o
#   --check-bpf-args "PROG[=TARGET] ..."  only these programs (=TARGET: retarget an fentry/
#                     fexit program, e.g. cs_zc_complete=msg_zerocopy_callback on 6.1)
#   --offline         no apt at all: only what is installed and cached
#   --no-summary      skip the comparison table
#
# Exit status: 0 every kernel returned a report whose cells all passed with every ledger
# check evaluated (tracer loaded); 1 a guest did not finish, a cell failed, or the tracer
# could not evaluate a check (printed); 2 bad usage; 3 something needed
# cannot be had (qemu, busybox, a kernel package): nothing was booted for that reason.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
here="$root/scripts/kernel-matrix"

kernels="linux-image-cloud-amd64,linux-image-cloud-amd64/bookworm-backports"
out="$root/build-kernels/reports"
cache="${COPYSCOPE_KERNEL_CACHE:-$root/build-kernels/cache}"
copyscope=""
build_dir="$root/build-static"
run_args="--strategy all --size 4K,64K --threads 1 --bytes 64M"
nic_run_args="--strategy one-copy,zero-copy --size 64K --threads 1 --bytes 64M"
forward_run_args="--strategy zero-copy --size 64K --threads 1 --bytes 64M"
sink_bin=""
nic_backend=tap
modules="veth"
timeout_s=900
memory=1024
smp=2
cpu=qemu64,-cx16
offline=0
summary=1
check_bpf=""
check_bpf_args=""

die() { echo "kernel-matrix: $*" >&2; exit 1; }
usage_error() { echo "kernel-matrix: $*" >&2; echo "see the header of $0 for the options" >&2; exit 2; }
unavailable() { echo "kernel-matrix: unavailable: $*" >&2; exit 3; }
log() { echo "kernel-matrix: $*" >&2; }

while (($#)); do
  case $1 in
    --kernels) kernels=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --cache) cache=${2:?}; shift 2 ;;
    --copyscope) copyscope=${2:?}; shift 2 ;;
    --build-dir) build_dir=${2:?}; shift 2 ;;
    --run-args) run_args=${2:?}; shift 2 ;;
    --nic-run-args) nic_run_args=${2?}; shift 2 ;;
    --forward-run-args) forward_run_args=${2?}; shift 2 ;;
    --sink) sink_bin=${2:?}; shift 2 ;;
    --nic-backend) nic_backend=${2:?}; shift 2 ;;
    --modules) modules=${2:?}; shift 2 ;;
    --timeout) timeout_s=${2:?}; shift 2 ;;
    --memory) memory=${2:?}; shift 2 ;;
    --smp) smp=${2:?}; shift 2 ;;
    --cpu) cpu=${2:?}; shift 2 ;;
    --offline) offline=1; shift ;;
    --check-bpf-args) check_bpf_args=${2:?}; shift 2 ;;
    --check-bpf)
      if [[ ${2:-} == *.o ]]; then check_bpf=$2; shift 2; else check_bpf=default; shift; fi ;;
    --no-summary) summary=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) usage_error "unknown option '$1'" ;;
  esac
done
[[ $timeout_s =~ ^[0-9]+$ && $timeout_s -gt 0 ]] || usage_error "--timeout '$timeout_s': want whole seconds > 0"
[[ $memory =~ ^[0-9]+$ && $memory -ge 256 ]] || usage_error "--memory '$memory': want MB >= 256"
[[ $smp =~ ^[0-9]+$ && $smp -ge 1 ]] || usage_error "--smp '$smp': want >= 1"
[[ -n $kernels ]] || usage_error "--kernels is empty"
for a in "$run_args" "$nic_run_args" "$forward_run_args"; do
  case " $a " in
    *" -o "*|*" --output "*) usage_error "run arguments '$a': leave -o/--output out, the guest picks it" ;;
    *" --transport "*|*" --peer "*) usage_error "run arguments '$a': leave --transport/--peer out, the script sets them per run" ;;
  esac
done
[[ $nic_backend == tap || $nic_backend == user ]] || usage_error "--nic-backend '$nic_backend': want tap or user"
[ -n "$nic_run_args" ] && modules="$modules,virtio_pci,virtio_net"

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
mkdir -p "$out" "$cache/debs" "$cache/kernels" "$cache/resolved"
out=$(cd "$out" && pwd)
cache=$(cd "$cache" && pwd)

# --- host tools ----------------------------------------------------------------------------
host_tools=(qemu-system-x86 busybox-static cpio gzip xz-utils zstd binutils python3)
if ((!offline)); then
  # scripts/deps.sh installs only what is missing (and copyscope's build dependencies).
  if ! "$root/scripts/deps.sh" "${host_tools[@]}"; then
    log "installing ${host_tools[*]} failed; going on with what is installed"
  fi
fi
command -v qemu-system-x86_64 >/dev/null || unavailable "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
busybox=""
for b in /bin/busybox /usr/bin/busybox; do
  if [ -x "$b" ] && ! readelf -l "$b" 2>/dev/null | grep -q INTERP; then busybox=$b; fi
done
[ -n "$busybox" ] || unavailable "no statically linked busybox (apt-get install busybox-static)"
for t in cpio gzip objcopy readelf dpkg-deb; do
  command -v $t >/dev/null || unavailable "$t is not installed"
done

# --- apt: suites and packages --------------------------------------------------------------
apt_opts=(-o APT::Sandbox::User=root -q)
ensure_suite() { # adds SUITE (e.g. bookworm-backports) to apt's sources if no source has it
  local suite=$1 file=/etc/apt/sources.list.d/$1.sources
  if ! grep -rqsw -- "$suite" /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null; then
    log "adding $suite to apt's sources ($file)"
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$suite" | "${sudo_cmd[@]}" tee "$file" >/dev/null
    "${sudo_cmd[@]}" apt-get update -qq || return 1
  elif ! apt-cache policy 2>/dev/null | grep -q -- " $suite/"; then
    log "apt has no package lists for $suite yet: apt-get update"
    "${sudo_cmd[@]}" apt-get update -qq || return 1
  fi
}

# Prints the path of the cached .deb of the kernel image that SPEC names.
fetch_kernel_deb() {
  local spec=$1 name suite="" key deb pkg tmp
  name=${spec%%/*}
  [[ $spec == */* ]] && suite=${spec#*/}
  key=$(printf '%s' "$spec" | tr '/' '@')
  if ((!offline)); then
    if [ -n "$suite" ]; then ensure_suite "$suite" || return 3; fi
    tmp=$(mktemp -d "$cache/debs/.dl.XXXXXX")
    if ! (cd "$tmp" && apt-get "${apt_opts[@]}" download "$spec" >/dev/null 2>"$tmp/err"); then
      log "apt-get download $spec failed: $(tail -n1 "$tmp/err")"
      rm -rf "$tmp"
    else
      deb=$(ls "$tmp"/*.deb)
      # A metapackage: follow its Depends to the real linux-image package.
      pkg=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-image-[^ ]*\).*/\1/p' | head -n1)
      if [ -n "$pkg" ] && ! dpkg-deb -c "$deb" | grep -q '/boot/vmlinuz'; then
        rm -f "$deb"
        if ! (cd "$tmp" && apt-get "${apt_opts[@]}" download "$pkg${suite:+/$suite}" >/dev/null 2>"$tmp/err" ||
              apt-get "${apt_opts[@]}" download "$pkg" >/dev/null 2>"$tmp/err"); then
          log "apt-get download $pkg failed: $(tail -n1 "$tmp/err")"
          rm -rf "$tmp"
          tmp=""
        fi
      fi
      if [ -n "$tmp" ]; then
        deb=$(ls "$tmp"/*.deb)
        mv -f "$deb" "$cache/debs/"
        echo "$cache/debs/$(basename "$deb")" >"$cache/resolved/$key"
        rm -rf "$tmp"
      fi
    fi
  fi
  # Offline, or the mirror could not be reached: the last package this spec resolved to.
  if [ -s "$cache/resolved/$key" ] && [ -f "$(cat "$cache/resolved/$key")" ]; then
    cat "$cache/resolved/$key"
    return 0
  fi
  return 3
}

# Extracts a kernel .deb once; prints the directory (vmlinuz, release, the package tree).
extract_kernel() {
  local deb=$1 dir
  dir="$cache/kernels/$(basename "$deb" .deb)"
  if [ ! -f "$dir/.done" ]; then
    rm -rf "$dir"
    mkdir -p "$dir/tree"
    dpkg-deb -x "$deb" "$dir/tree"
    local vmlinuz
    vmlinuz=$(ls "$dir"/tree/boot/vmlinuz-* 2>/dev/null | head -n1)
    [ -n "$vmlinuz" ] || { log "$deb holds no /boot/vmlinuz-*"; return 1; }
    # qemu boots the bzImage as it is (it carries its own LZ4 decompressor).
    cp "$vmlinuz" "$dir/vmlinuz"
    basename "$vmlinuz" | sed 's/^vmlinuz-//' >"$dir/release"
    dpkg-deb -f "$deb" Package Version >"$dir/package"
    touch "$dir/.done"
  fi
  echo "$dir"
}

# Copies module NAME and its dependencies (from each .ko's .modinfo "depends=", no kmod
# needed on the host) into STAGE/lib/modules/REL, uncompressed, and appends them to the
# load list in dependency order.
declare -A module_done
add_module() {
  local kdir=$1 stage=$2 name=$3 rel file dep tmpko
  rel=$(cat "$kdir/release")
  [ -n "${module_done[$name]:-}" ] && return 0
  module_done[$name]=1
  grep -qE "/${name//[-_]/[-_]}\.ko$" "$kdir/tree/lib/modules/$rel/modules.builtin" 2>/dev/null && return 0
  file=$(find "$kdir/tree/lib/modules/$rel" -regextype posix-extended \
    -regex ".*/${name//[-_]/[-_]}\.ko(\.xz|\.zst|\.gz)?" | head -n1)
  [ -n "$file" ] || { log "module $name: not in $(cat "$kdir/package" | tr '\n' ' ')"; return 1; }
  tmpko="$stage/.mod.$name.ko" # one per module: the dependencies below are staged meanwhile
  case $file in
    *.ko.xz) xz -dc "$file" >"$tmpko" ;;
    *.ko.zst) zstd -qdc "$file" >"$tmpko" ;;
    *.ko.gz) gzip -dc "$file" >"$tmpko" ;;
    *) cp "$file" "$tmpko" ;;
  esac
  for dep in $(objcopy -O binary --only-section=.modinfo "$tmpko" /dev/stdout 2>/dev/null |
               tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do
    add_module "$kdir" "$stage" "$dep" || return 1
  done
  local rel_path="${file#"$kdir/tree/lib/modules/$rel/"}"
  rel_path=${rel_path%.xz}; rel_path=${rel_path%.zst}; rel_path=${rel_path%.gz}
  mkdir -p "$stage/lib/modules/$rel/$(dirname "$rel_path")"
  mv "$tmpko" "$stage/lib/modules/$rel/$rel_path"
  echo "$rel_path" >>"$stage/etc/copyscope/modules"
}

# Copies a dynamically linked program's libraries and loader into STAGE.
copy_libraries() {
  local bin=$1 stage=$2 lib
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    mkdir -p "$stage$(dirname "$lib")"
    cp -L "$lib" "$stage$lib"
  done
}

build_initramfs() { # KDIR COPYSCOPE OUTFILE
  local kdir=$1 bin=$2 img=$3 stage a
  stage="$kdir/stage"
  rm -rf "$stage"
  mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc/copyscope,proc,sys,dev,tmp,run}
  cp "$busybox" "$stage/bin/busybox"
  cp "$here/init" "$stage/init"
  chmod 755 "$stage/init"
  strip -o "$stage/bin/copyscope" "$bin" 2>/dev/null || cp "$bin" "$stage/bin/copyscope"
  if readelf -l "$bin" | grep -q INTERP; then copy_libraries "$bin" "$stage"; fi
  : >"$stage/etc/copyscope/modules"
  module_done=()
  for m in ${modules//,/ }; do add_module "$kdir" "$stage" "$m" || return 1; done
  if [ -n "$check_bpf" ]; then
    cp "$progcheck" "$stage/bin/bpf-progcheck"
    cp "$check_bpf" "$stage/etc/copyscope/check.bpf.o"
    echo "$check_bpf_args" >"$stage/etc/copyscope/check-args"
  fi
  # One file per run, its arguments one per line; the guest runs them in name order.
  mkdir -p "$stage/etc/copyscope/runs"
  write_run() { # FILE ARGS...
    local f=$1 a
    shift
    : >"$f"
    for a in "$@"; do echo "$a" >>"$f"; done
  }
  # shellcheck disable=SC2086
  write_run "$stage/etc/copyscope/runs/1-veth" $run_args
  if [ -n "$nic_run_args" ]; then
    # shellcheck disable=SC2086
    write_run "$stage/etc/copyscope/runs/2-nic" $nic_run_args --transport nic --peer "10.0.2.2:$sink_port"
    : >"$stage/etc/copyscope/nic"
  fi
  if [ -n "$forward_run_args" ]; then
    # shellcheck disable=SC2086
    write_run "$stage/etc/copyscope/runs/3-forward" $forward_run_args --transport forward
  fi
  # The initial console, for the kernel's own use before /init mounts devtmpfs.
  mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
  (cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$img.tmp"
  mv "$img.tmp" "$img"
  rm -rf "$stage"
}

# --- copyscope -----------------------------------------------------------------------------
if [ -z "$copyscope" ]; then
  log "building a static copyscope in $build_dir"
  "$root/scripts/build.sh" "$build_dir" -DCOPYSCOPE_STATIC=ON -DCOPYSCOPE_TESTS=OFF ||
    die "the static build failed (scripts/build.sh $build_dir -DCOPYSCOPE_STATIC=ON)"
  copyscope="$build_dir/userspace/copyscope"
fi
[ -x "$copyscope" ] || usage_error "--copyscope '$copyscope': not an executable file"
if [ -n "$check_bpf" ]; then
  [ "$check_bpf" = default ] && check_bpf="$build_dir/bpf/copyscope_bpf.bpf.o"
  [ -f "$check_bpf" ] || usage_error "--check-bpf: no BPF object at '$check_bpf'"
  progcheck="$cache/bpf-progcheck"
  if [ ! -x "$progcheck" ] || [ "$here/bpf-progcheck.c" -nt "$progcheck" ]; then
    gcc -O2 -Wall -static -o "$progcheck" "$here/bpf-progcheck.c" -lbpf -lelf -lz ||
      die "building $here/bpf-progcheck.c failed"
  fi
fi

# --- the host's sink for the nic run ---------------------------------------------------------
[ -n "$sink_bin" ] || sink_bin=$copyscope
if [ -n "$nic_run_args" ]; then
  [ -x "$sink_bin" ] || usage_error "--sink '$sink_bin': not an executable file"
  "$sink_bin" sink --help >/dev/null 2>&1 ||
    usage_error "--sink '$sink_bin': this copyscope has no 'sink' command (rebuild it)"
fi
# How many connections the nic run makes: cells x connections, when it is a fixed-bytes run
# (one repetition, no warm-up); 0 (serve until idle or stopped) when that cannot be told.
sink_connections() {
  python3 - "$nic_run_args" <<'EOF'
import shlex, sys
args, opts, i = shlex.split(sys.argv[1]), {}, 0
while i < len(args):
    a = args[i]
    if a.startswith("--") and "=" in a:
        k, v = a.split("=", 1); opts[k] = v; i += 1
    elif a.startswith("--") and i + 1 < len(args) and not args[i + 1].startswith("--"):
        opts[a] = args[i + 1]; i += 2
    else:
        opts[a] = None; i += 1
try:
    if "--bytes" not in opts or any(k in opts for k in ("--repetitions", "--warmup", "--preset",
                                                        "--max-repetitions", "--min-repetitions")):
        raise ValueError
    s = opts["--strategy"]
    strategies = 4 if s == "all" else len(s.split(","))
    sizes = len(opts["--size"].split(","))
    threads = sum(int(t) for t in opts["--threads"].split(","))
    print(strategies * sizes * threads)
except (KeyError, ValueError, AttributeError):
    print(0)
EOF
}
sink_pid=""
sink_port=""
sink_log=""
sink_addr=127.0.0.1
# tap backend: an anonymous network namespace held by one process (its pid in ns_holder);
# in_ns runs a command in it (nsenter execs, so $! is the command's own pid).
ns_holder=""
in_ns=()
make_nic_namespace() {
  command -v unshare >/dev/null && command -v nsenter >/dev/null && command -v ip >/dev/null ||
    { log "nic: the tap backend needs unshare, nsenter and ip (or use --nic-backend user)"; return 1; }
  unshare --net sleep infinity </dev/null >/dev/null 2>&1 &
  ns_holder=$!
  local i
  for i in $(seq 1 50); do
    [ "$(readlink "/proc/$ns_holder/ns/net" 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ] && break
    sleep 0.1
  done
  in_ns=(nsenter "--net=/proc/$ns_holder/ns/net" --)
  if ! { "${in_ns[@]}" ip link set lo up &&
         "${in_ns[@]}" ip tuntap add dev cs-tap0 mode tap vnet_hdr &&
         "${in_ns[@]}" ip addr add 10.0.2.2/24 dev cs-tap0 &&
         "${in_ns[@]}" ip link set cs-tap0 up; }; then
    log "nic: could not make a tap device in a private network namespace (or use --nic-backend user)"
    drop_nic_namespace
    return 1
  fi
  sink_addr=10.0.2.2
}
drop_nic_namespace() { # the namespace (and its tap) goes with its last process
  [ -n "$ns_holder" ] || return 0
  kill "$ns_holder" 2>/dev/null || true
  wait "$ns_holder" 2>/dev/null || true
  ns_holder=""
  in_ns=()
  sink_addr=127.0.0.1
}
start_sink() { # LOG: a sink on a free port of 127.0.0.1; sets sink_pid and sink_port
  local log=$1 n try i
  n=$(sink_connections)
  for try in 1 2 3 4 5; do
    sink_port=$("${in_ns[@]}" python3 -c 'import socket, sys; s = socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$sink_addr")
    # Idle bound: the whole guest (the nic run is not the first); stopped by pid anyway.
    "${in_ns[@]}" "$sink_bin" sink --listen "$sink_addr:$sink_port" --connections "$n" \
      --idle-timeout $((timeout_s + 60)) </dev/null >"$log" 2>&1 &
    sink_pid=$!
    for i in $(seq 1 50); do
      grep -q 'listening on' "$log" 2>/dev/null && break
      kill -0 "$sink_pid" 2>/dev/null || break
      sleep 0.1
    done
    if grep -q 'listening on' "$log" 2>/dev/null && kill -0 "$sink_pid" 2>/dev/null; then
      log "sink: pid $sink_pid on $sink_addr:$sink_port (connections $n${ns_holder:+, in the namespace of pid $ns_holder})"
      return 0
    fi
    kill "$sink_pid" 2>/dev/null || true
    wait "$sink_pid" 2>/dev/null || true
    sink_pid=""
  done
  log "sink: could not listen on 127.0.0.1 ($(tail -n1 "$log"))"
  return 1
}
sink_status=""
stop_sink() { # after the guest: a sink that served its connections has exited; else stop it
  [ -n "$sink_pid" ] || return 0
  local i rc=0
  for i in $(seq 1 20); do kill -0 "$sink_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$sink_pid" 2>/dev/null; then
    kill "$sink_pid" 2>/dev/null || true
    for i in $(seq 1 30); do kill -0 "$sink_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$sink_pid" 2>/dev/null || true
    wait "$sink_pid" 2>/dev/null || true
    sink_status="stopped by the script"
  else
    wait "$sink_pid" 2>/dev/null || rc=$?
    sink_status="exited $rc"
  fi
  log "sink: pid $sink_pid $sink_status"
  sink_pid=""
}

# --- the runs ------------------------------------------------------------------------------
qemu_pid=""
cleanup() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null
  [ -n "$ns_holder" ] && kill "$ns_holder" 2>/dev/null
  true
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

runs=(veth)
[ -n "$nic_run_args" ] && runs+=(nic)
[ -n "$forward_run_args" ] && runs+=(forward)
declare -A run_args_of=([veth]="$run_args" [nic]="$nic_run_args --transport nic"
                        [forward]="$forward_run_args --transport forward")

failed=0
reports=()
IFS=',' read -r -a kernel_list <<<"$kernels"
for spec in "${kernel_list[@]}"; do
  rc=0
  deb=$(fetch_kernel_deb "$spec") || rc=$?
  if ((rc)); then
    log "kernel package '$spec' cannot be had (apt could not download it and nothing is cached)"
    if ((${#kernel_list[@]} == 1)); then unavailable "kernel package '$spec'"; fi
    failed=1
    continue
  fi
  kdir=$(extract_kernel "$deb") || { failed=1; continue; }
  release=$(cat "$kdir/release")
  img="$kdir/initramfs.cpio.gz"
  net=(-nic none)
  sink_status=""
  if [ -n "$nic_run_args" ]; then
    sink_log="$out/kernel-$release-nic.sink.log"
    if [ "$nic_backend" = tap ]; then
      make_nic_namespace || { failed=1; continue; }
      net=(-netdev tap,id=n0,ifname=cs-tap0,script=no,downscript=no,vhost=off
           -device virtio-net-pci,netdev=n0,romfile=)
    else
      # slirp: the guest's 10.0.2.2:PORT is the host's 127.0.0.1:PORT; nothing else is forwarded.
      net=(-netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile=)
    fi
    start_sink "$sink_log" || { drop_nic_namespace; failed=1; continue; }
  fi
  if ! build_initramfs "$kdir" "$copyscope" "$img"; then
    log "$release: initramfs failed"
    stop_sink
    drop_nic_namespace
    failed=1
    continue
  fi

  console="$out/kernel-$release.console.log"
  log "$release: booting ($(basename "$deb"), initramfs $(($(stat -c %s "$img") / 1024)) KiB, runs ${runs[*]}, bound ${timeout_s}s)"
  t0=$(date +%s.%N)
  # stdin from /dev/null; the serial console to the log. Killed at the bound, by its pid.
  "${in_ns[@]}" qemu-system-x86_64 -accel tcg -cpu "$cpu" -m "$memory" -smp "$smp" -nographic -no-reboot \
    "${net[@]}" -kernel "$kdir/vmlinuz" -initrd "$img" \
    -append "console=ttyS0 panic=-1 loglevel=5 rdinit=/init" \
    </dev/null >"$console" 2>&1 &
  qemu_pid=$!
  timed_out=0
  deadline=$(($(date +%s) + timeout_s))
  while kill -0 "$qemu_pid" 2>/dev/null; do
    if (($(date +%s) >= deadline)); then
      timed_out=1
      kill "$qemu_pid" 2>/dev/null || true
      sleep 1
      kill -9 "$qemu_pid" 2>/dev/null || true
      break
    fi
    sleep 0.5
  done
  wait "$qemu_pid" 2>/dev/null || true
  qemu_pid=""
  t1=$(date +%s.%N)
  stop_sink
  drop_nic_namespace
  # Plain text: no carriage returns, no terminal escapes (SeaBIOS, copyscope's progress line).
  tr -d '\r' <"$console" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' >"$console.tmp" &&
    mv "$console.tmp" "$console"

  fail_loudly() {
    echo "==================== guest console ($release): $console" >&2
    cat "$console" >&2
    echo "==================== end of guest console ($release)" >&2
    log "$release: $*"
    failed=1
  }
  if ((timed_out)); then fail_loudly "the guest did not finish within ${timeout_s}s (killed)"; fi

  marker() { sed -n "s/^$1 //p" "$console" | head -n1; }
  run_marker() { sed -n "s/^$1 $2 //p" "$console" | head -n1; } # MARKER RUN
  got=()
  for name in "${runs[@]}"; do
    json="$out/kernel-$release.json"
    [ "$name" = veth ] || json="$out/kernel-$release-$name.json"
    rm -f "$json"
    if ! grep -q "^COPYSCOPE-REPORT-END $name\$" "$console"; then
      ((timed_out)) || fail_loudly "the guest brought no $name report back"
      continue
    fi
    if ! sed -n "/^COPYSCOPE-REPORT-BEGIN $name /,/^COPYSCOPE-REPORT-END $name\$/p" "$console" |
        sed '1d;$d' | base64 -d 2>/dev/null | gzip -dc >"$json.tmp" 2>/dev/null ||
        ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$json.tmp" 2>/dev/null; then
      rm -f "$json.tmp"
      fail_loudly "the $name report on the console does not decode to JSON"
      continue
    fi
    mv "$json.tmp" "$json"
    reports+=("$json")
    got+=("$name")
  done

  runs_json="{"
  for name in "${runs[@]}"; do
    rs=$(run_marker COPYSCOPE-RUN-STATUS "$name")
    report=""
    for g in "${got[@]}"; do
      if [ "$g" = "$name" ]; then
        report="kernel-$release.json"
        [ "$name" = veth ] || report="kernel-$release-$name.json"
      fi
    done
    runs_json+="\"$name\": {\"start\": \"$(run_marker COPYSCOPE-UPTIME-RUN-START "$name")\", "
    runs_json+="\"end\": \"$(run_marker COPYSCOPE-UPTIME-RUN-END "$name")\", \"status\": \"$rs\", "
    runs_json+="\"report\": \"$report\", \"run_args\": \"${run_args_of[$name]}\"},"
  done
  runs_json="${runs_json%,}}"
  python3 - "$out/kernel-$release.meta.json" <<EOF
import json, os, sys
def num(s):
    try: return float(s)
    except (TypeError, ValueError): return None
init, last = num("$(marker COPYSCOPE-UPTIME-INIT)"), num("$(marker COPYSCOPE-UPTIME-END)")
runs = {}
for name, r in json.loads('''$runs_json''').items():
    start, end = num(r["start"]), num(r["end"])
    runs[name] = {
        "run_seconds": (end - start) if end is not None and start is not None else None,
        "run_status": int(r["status"]) if r["status"].lstrip("-").isdigit() else None,
        "run_args": r["run_args"], "report": r["report"] or None,
    }
veth = runs.get("veth", {})
meta = {
    "spec": "$spec", "package": """$(sed -n 's/^Package: //p' "$kdir/package")""",
    "version": """$(sed -n 's/^Version: //p' "$kdir/package")""", "release": "$release",
    "boot_seconds": init, "run_seconds": veth.get("run_seconds"),
    "guest_seconds": last, "host_wall_seconds": round($t1 - $t0, 2),
    "run_status": veth.get("run_status"), "run_args": """$run_args""",
    "console": os.path.basename("$console"), "runs": runs,
}
if "nic" in runs:
    meta["nic"] = {"guest_device": """$(marker COPYSCOPE-NIC)""" or None,
                   "backend": "$nic_backend",
                   "peer": "10.0.2.2:$sink_port" + (" (host 127.0.0.1:$sink_port, qemu user networking)"
                       if "$nic_backend" == "user" else " (tap with vnet headers in the script's own network namespace)"),
                   "sink_log": os.path.basename("$sink_log"), "sink": "$sink_status"}
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f: json.dump(meta, f, indent=2); f.write("\n")
os.replace(tmp, sys.argv[1])
EOF
  log "$release: reports ${got[*]:-none} in $out (boot $(marker COPYSCOPE-UPTIME-INIT) s, host wall $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s)"
  for name in "${got[@]}"; do
    json="$out/kernel-$release.json"
    [ "$name" = veth ] || json="$out/kernel-$release-$name.json"
    run_status=$(run_marker COPYSCOPE-RUN-STATUS "$name")
    if [ "$run_status" != 0 ]; then
      fail_loudly "$name: copyscope run exited $run_status in the guest (a cell failed its checks; the report says which)"
    fi
    # A stock kernel lets every hook load: checks the tracer could not evaluate there are a
    # failure of the matrix, even when copyscope (rightly, on a kernel that lacks them) passes.
    if ! python3 - "$json" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
bad = []
for c in report.get("cells", []):
    led = c.get("ledger") or {}
    tracer = led.get("tracer") or {}
    why = None
    if not tracer.get("available", False):
        why = "tracer unavailable: " + str(led.get("copies_per_byte"))
    else:
        # A receiver outside the guest (nic) is outside every hook's reach by design: its
        # receive-side checks cannot run anywhere in the guest, and the ledger says so.
        skipped = [n for n in led.get("checks_not_evaluated") or []
                   if not (c.get("transport") == "nic" and led.get("receiver_in_this_kernel") is False)]
        if skipped:
            why = "checks not evaluated: " + json.dumps(skipped[0])
    if why:
        bad.append(f'{c.get("strategy")} {c.get("transport")} {c.get("message_size")} B: {why.splitlines()[0][:300]}')
for b in bad:
    print("  " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
    then
      log "$release: $name: the ledger's checks did not all run in the guest (cells above); see $console"
      failed=1
    fi
  done
done

if ((summary)) && ((${#reports[@]})); then
  python3 "$root/scripts/kernel-summary.py" "${reports[@]}" | tee "$out/kernel-summary.txt"
fi
exit "$failed"
