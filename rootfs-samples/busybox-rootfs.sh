#!/usr/bin/env bash
# busybox-rootfs.sh DIR
#
# Build a minimal root filesystem around Debian's static busybox
# (package busybox-static, /bin/busybox) into DIR.
#
# BUSYBOX=PATH takes another static busybox, e.g. one unpacked from the
# busybox-static .deb of another architecture: the rootfs is then for that
# architecture.  A busybox this host cannot run is run under qemu-user
# (qemu-aarch64-static / qemu-x86_64-static, package qemu-user-static) to
# list its applets.
#
#  * DIR is created if missing.  If DIR exists and is not empty it is refused,
#    unless it is a rootfs this script built earlier (marker file
#    DIR/.isulad-ts-busybox-rootfs): then DIR is printed and nothing is done.
#  * The absolute path of DIR is printed as the last line of stdout;
#    progress/errors go to stderr.
set -euo pipefail

prog=$(basename "$0")
MARKER=.isulad-ts-busybox-rootfs
BUSYBOX=${BUSYBOX:-/bin/busybox}

usage() { echo "usage: $prog DIR" >&2; }
die() { echo "$prog: error: $*" >&2; exit 1; }

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
esac
if [ "$#" -ne 1 ] || [ -z "$1" ]; then usage; exit 2; fi
dir=$1

# --- locate a static busybox ------------------------------------------------
[ -f "$BUSYBOX" ] && [ -x "$BUSYBOX" ] \
  || die "$BUSYBOX not found; run: apt-get install busybox-static"
is_static=no
if command -v file >/dev/null 2>&1; then
  # "statically linked" or "static-pie linked"
  if file -L "$BUSYBOX" | grep -Eq 'statically linked|static-pie linked'; then is_static=yes; fi
elif command -v dpkg >/dev/null 2>&1; then
  if dpkg -S "$BUSYBOX" 2>/dev/null | grep -q '^busybox-static:'; then is_static=yes; fi
fi
[ "$is_static" = yes ] \
  || die "$BUSYBOX is not a static busybox; run: apt-get install busybox-static"

# A busybox for another architecture runs under qemu-user: binfmt_misc may not be
# registered, so call the emulator explicitly (ELF e_machine at offset 18).
run_busybox() {
  local bb=$1 machine emu
  shift
  if "$bb" true 2>/dev/null; then "$bb" "$@"; return; fi
  machine=$(od -An -tu2 -j18 -N2 "$bb" | tr -d ' ')
  case "$machine" in
    62) emu=qemu-x86_64-static ;;
    183) emu=qemu-aarch64-static ;;
    40) emu=qemu-arm-static ;;
    *) die "$bb does not run on this host (ELF machine $machine)" ;;
  esac
  command -v "$emu" >/dev/null 2>&1 \
    || die "$bb is for another architecture; to list its applets: apt-get install qemu-user-static"
  "$emu" "$bb" "$@"
}
target_arch=$(run_busybox "$BUSYBOX" uname -m) || die "cannot run $BUSYBOX"

# --- target directory ---------------------------------------------------------
if [ -e "$dir" ] && [ ! -d "$dir" ]; then
  die "$dir exists and is not a directory"
fi
if [ -d "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
  if [ -f "$dir/$MARKER" ]; then
    (cd "$dir" && pwd -P)
    exit 0
  fi
  die "$dir exists and is not empty (and is not a rootfs made by $prog)"
fi
mkdir -p "$dir" || die "cannot create $dir"
dir=$(cd "$dir" && pwd -P)

umask 022
echo "$prog: building busybox rootfs in $dir" >&2

# --- layout -----------------------------------------------------------------
for d in bin sbin usr/bin usr/sbin etc proc sys dev tmp root run var/log home; do
  mkdir -p "$dir/$d"
done
chmod 1777 "$dir/tmp"
chmod 0700 "$dir/root"
mkdir -p "$dir/home/app"
if [ "$(id -u)" -eq 0 ]; then chown 1000:1000 "$dir/home/app"; fi

cp "$BUSYBOX" "$dir/bin/busybox"
chmod 0755 "$dir/bin/busybox"

# --- applet symlinks --------------------------------------------------------
applets=$(run_busybox "$dir/bin/busybox" --list-full) || die "cannot run $dir/bin/busybox --list-full"
n=0
while IFS= read -r a; do
  [ -n "$a" ] || continue
  case "$a" in
    bin/busybox) continue ;;      # the binary itself
    */*) ;;                       # bin/ls, usr/bin/[, sbin/init, ...
    *) continue ;;                # top-level applets (linuxrc): keep / clean
  esac
  mkdir -p "$dir/$(dirname "$a")"
  ln -sfn /bin/busybox "$dir/$a"
  n=$((n + 1))
done <<<"$applets"
[ "$n" -gt 0 ] || die "busybox --list-full returned no applets"

# --- /etc ----------------------------------------------------------------------
cat > "$dir/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
PASSWD
cat > "$dir/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
app:x:1000:
GROUP
echo busybox > "$dir/etc/hostname"
: > "$dir/etc/hosts"
: > "$dir/etc/resolv.conf"

# marker written last: a half-built DIR is never mistaken for a finished one
echo "busybox-rootfs.sh $target_arch" > "$dir/$MARKER"

echo "$prog: installed $n applet links" >&2
echo "$dir"
