#!/usr/bin/env bash
# system-rootfs.sh DIR
#
# Busybox rootfs (see busybox-rootfs.sh) set up for a *system container*:
# /sbin/init is busybox init, driven by /etc/inittab.  LXC mounts /proc,
# /sys and /dev itself, so inittab does not.
# Prints the absolute path of DIR as the last line of stdout.
set -euo pipefail

prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd -P)

usage() { echo "usage: $prog DIR" >&2; }
die() { echo "$prog: error: $*" >&2; exit 1; }

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
esac
if [ "$#" -ne 1 ] || [ -z "$1" ]; then usage; exit 2; fi

out=$("$here/busybox-rootfs.sh" "$1") || exit $?
dir=$(printf '%s\n' "$out" | tail -n 1)
[ -n "$dir" ] && [ -x "$dir/bin/busybox" ] || die "busybox-rootfs.sh did not produce a rootfs"

mkdir -p "$dir/sbin"
ln -sfn /bin/busybox "$dir/sbin/init"

cat > "$dir/etc/inittab" <<'INITTAB'
::sysinit:/bin/mount -t tmpfs tmpfs /run
::sysinit:/bin/hostname -F /etc/hostname
::respawn:/bin/sleep 100000
::shutdown:/bin/echo init-shutdown
::ctrlaltdel:/sbin/reboot
INITTAB

echo "$dir"
