#!/usr/bin/env bash
# qemu/run.sh x86_64|aarch64 [--kernel default|5.10] [--cgroup v2|v1] [--runtime node|bun]
#             [--timeout SECONDS]
#
# Boots a test VM of that architecture under QEMU (TCG) and runs the engine's checks in it
# (qemu/guest/test.sh): Debian's kernel (12's default, or 11's 5.10 with --kernel 5.10), a
# busybox initramfs with Debian 12's glibc, LXC and util-linux for that architecture,
# dist/isulad-ARCH (--runtime bun: the Bun executable dist/isulad-bun-ARCH), and the sample
# images of rootfs-samples/. Installs the host packages it needs; the executable must be built
# first (npm run build -- --arch ARCH [--runtime bun]). Everything is cached in .cache/qemu/;
# the serial log of the last run is kept as .cache/qemu/logs/ARCH-K-CG[-bun].log.
#
# Prints the guest's result lines (`ok - ...`, `not ok - ...`, `qemu-ARCH: N passed, M
# failed`), then the times from QEMU start to the first container and to the end marker.
# Exits 0 only if every check passed and the end marker came; the VM is always stopped.
set -euo pipefail
PROG=qemu/run.sh
# shellcheck source=qemu/lib.sh
. "$(dirname "$0")/lib.sh"

usage() { echo "usage: $PROG x86_64|aarch64 [--kernel default|5.10] [--cgroup v2|v1] [--runtime node|bun] [--timeout SECONDS]" >&2; }
arch='' kernel=default cgroup=v2 runtime=node limit=600
while [ "$#" -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --kernel) [ "$#" -ge 2 ] || { usage; exit 2; }; kernel=$2; shift 2 ;;
    --kernel=*) kernel=${1#--kernel=}; shift ;;
    --cgroup) [ "$#" -ge 2 ] || { usage; exit 2; }; cgroup=$2; shift 2 ;;
    --cgroup=*) cgroup=${1#--cgroup=}; shift ;;
    --runtime) [ "$#" -ge 2 ] || { usage; exit 2; }; runtime=$2; shift 2 ;;
    --runtime=*) runtime=${1#--runtime=}; shift ;;
    --timeout) [ "$#" -ge 2 ] || { usage; exit 2; }; limit=$2; shift 2 ;;
    --timeout=*) limit=${1#--timeout=}; shift ;;
    x86_64 | aarch64) [ -z "$arch" ] || { usage; exit 2; }; arch=$1; shift ;;
    *) usage; exit 2 ;;
  esac
done
check_arch_kernel
case "$cgroup" in v1 | v2) ;; *) usage; exit 2 ;; esac
case "$limit" in '' | *[!0-9]*) usage; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || die "must be run as root (apt-get, root-owned sample images)"

case "$arch" in
  x86_64)
    need_commands qemu-system-x86_64:qemu-system-x86
    # -cpu max: every feature TCG has (SSE4.2 for crc32c, RDRAND for early entropy).
    # no_timer_check: under a loaded host TCG can fail the IO-APIC timer check and panic.
    qemu=(qemu-system-x86_64 -M q35 -cpu max)
    console=ttyS0 extra_append="no_timer_check"
    ;;
  aarch64)
    need_commands qemu-system-aarch64:qemu-system-arm
    qemu=(qemu-system-aarch64 -M virt -cpu cortex-a57)
    console=ttyAMA0 extra_append=""
    ;;
esac

[ -x "$engine" ] || die "$engine is missing: run npm run build -- --arch $arch$([ "$runtime" = node ] || echo " --runtime $runtime") first"

t_build=$EPOCHREALTIME
bash "$QEMU_DIR/fetch.sh" "$arch" --kernel "$kernel"
image=$(bash "$QEMU_DIR/build-image.sh" "$arch" --kernel "$kernel" --runtime "$runtime" | tail -n 1)
# shellcheck disable=SC1090
. "$CACHE/$arch/kernel-$kernel.env"
t_built=$EPOCHREALTIME

mkdir -p "$CACHE/logs"
serial=$CACHE/logs/$arch-$kernel-$cgroup$variant.log
work=$(mktemp -d /tmp/isulad-qemu.XXXXXX)
qpid='' tailpid=''
cleanup() {
  local rc=$?
  # The VM is stopped whatever happened: timeout(1)'s child goes with it.
  if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
    kill -TERM "$qpid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$qpid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$qpid" 2>/dev/null || true
  fi
  [ -z "$tailpid" ] || kill "$tailpid" 2>/dev/null || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

append="console=$console quiet loglevel=3 panic=-1 $extra_append isulad_qemu.cgroup=$cgroup"
log "booting $arch ($runtime), kernel $KVER ($KPKG), cgroup $cgroup, TCG, timeout ${limit} s"
: >"$serial"
t0=$EPOCHREALTIME
timeout -k 10 "$limit" "${qemu[@]}" -accel tcg -smp 2 -m 2048 -nodefaults -display none -no-reboot \
  -serial stdio -kernel "$KIMAGE" -initrd "$image" -append "$append" \
  </dev/null >"$serial" 2>"$work/qemu.err" &
qpid=$!

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
t_init='' t_first='' t_end='' end_rc='' summary='' version_ms=''
exec 3< <(tail -n +1 -F --pid="$qpid" "$serial" 2>/dev/null)
tailpid=$!
while IFS= read -r line <&3; do
  line=${line%$'\r'}
  case "$line" in
    'ok - '* | 'not ok - '* | '# '*) echo "$line" ;;
    "qemu-$arch: "*' passed, '*' failed'*) summary=$line; echo "$line" ;;
    'ISULAD-QEMU-END rc='*) t_end=$EPOCHREALTIME; end_rc=${line#*rc=}; end_rc=${end_rc%% *}; break ;;
    *) echo "  | $line" ;; # the kernel's own messages (a panic, an oops)
  esac
  case "$line" in
    '# kernel '*) t_init=$EPOCHREALTIME ;;
    '# first container ran') t_first=$EPOCHREALTIME ;;
    '# isula version took '*) version_ms=${line#'# isula version took '}; version_ms=${version_ms%% *} ;;
  esac
done
# poweroff -f follows the marker; a VM that does not stop is stopped.
for _ in $(seq 30); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$qpid" 2>/dev/null; then kill -TERM "$qpid" 2>/dev/null || true; fi
qrc=0
wait "$qpid" || qrc=$?
qpid=''

size=$(du -m "$image" | cut -f1)
printf '%s: %s (%s), kernel %s, cgroup %s: image %s MB (built in %s s); from QEMU start: init %s s, first container %s s, end marker %s s; isula version in the guest %s ms\n' \
  "$PROG" "$arch" "$runtime" "$KVER" "$cgroup" "$size" "$(elapsed "$t_build" "$t_built")" "${t_init:+$(elapsed "$t0" "$t_init")}" \
  "${t_first:+$(elapsed "$t0" "$t_first")}" "${t_end:+$(elapsed "$t0" "$t_end")}" "${version_ms:-?}"

if [ -z "$t_end" ]; then
  [ ! -s "$work/qemu.err" ] || log "QEMU: $(tr '\n' ' ' <"$work/qemu.err")"
  case "$qrc" in 124 | 137) die "no end marker within $limit s (serial log: $serial)" ;; esac
  die "QEMU ended (exit $qrc) without the end marker (serial log: $serial)"
fi
[ -n "$summary" ] || die "the guest printed no summary line (serial log: $serial)"
case "$summary" in *' 0 failed'*) ;; *) die "checks failed in the guest (serial log: $serial)" ;; esac
[ "$end_rc" = 0 ] || die "the guest's checks exited $end_rc (serial log: $serial)"
