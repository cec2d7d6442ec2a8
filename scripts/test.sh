#!/usr/bin/env bash
# All tests: install what is missing, build, run every test (unit and lab) with CTest; then
# build again with AddressSanitizer and UndefinedBehaviorSanitizer and run them all there.
# Lab tests need root (namespaces, veth, BPF) and skip themselves without it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"

run_suite() {
  local dir=$1 exclude=$2
  shift 2
  echo "== build $dir" >&2
  "$root/scripts/build.sh" "$dir" -DCOPYSCOPE_TESTS=ON "$@"
  echo "== test $dir" >&2
  (cd "$dir" && ctest --output-on-failure --timeout 900 -j1 ${exclude:+-E "$exclude"})
}

run_suite "$root/build-test" ""
# Sanitized: any report aborts the test that caused it. The kernel matrix tests (6.1, and the
# tracepoint-vs-exact comparison on 7.x) boot the same static, unsanitized copyscope in a
# qemu guest either way: they run once, above, each guest booted once.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite "$root/build-asan" "KernelMatrix" -DCOPYSCOPE_SANITIZE=ON
