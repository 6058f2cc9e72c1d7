#!/usr/bin/env bash
# qemu/test-all.sh [--full] [--runtime node|bun]
#
# qemu/run.sh for x86_64 and aarch64 on Debian 12's kernels, one VM after the other (each
# takes both cores). --full adds Debian 11's 5.10 kernel on x86_64 and the cgroup v1
# (hybrid) layout on x86_64; aarch64 with 5.10 is left out: lxc-attach fails on that kernel
# (see qemu/README.md). --runtime is passed to every run. Every run goes to the end; exits 1
# if any failed.
set -euo pipefail
PROG=qemu/test-all.sh
here=$(cd "$(dirname "$0")" && pwd -P)

usage() { echo "usage: $PROG [--full] [--runtime node|bun]" >&2; }
full=no runtime=node
while [ "$#" -gt 0 ]; do
  case "$1" in
    --full) full=yes; shift ;;
    --runtime) [ "$#" -ge 2 ] || { usage; exit 2; }; runtime=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage; exit 2 ;;
  esac
done
case "$runtime" in node | bun) ;; *) usage; exit 2 ;; esac

runs=("x86_64" "aarch64")
[ "$full" = no ] || runs+=("x86_64 --kernel 5.10" "x86_64 --cgroup v1")

failed=()
for r in "${runs[@]}"; do
  r="$r --runtime $runtime"
  echo "=== qemu/run.sh $r"
  # shellcheck disable=SC2086 # the run's arguments are split on purpose
  bash "$here/run.sh" $r || failed+=("$r")
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "$PROG: failed: $(printf '[%s] ' "${failed[@]}")" >&2
  exit 1
fi
echo "$PROG: all ${#runs[@]} runs passed"
