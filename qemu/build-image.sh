#!/usr/bin/env bash
# qemu/build-image.sh ARCH [--kernel default|5.10] [--runtime node|bun]
#
# Builds the test image of ARCH (after qemu/fetch.sh) and prints its path:
#   .cache/qemu/ARCH/initramfs-K.img (initramfs-K-bun.img with --runtime bun), the concatenation of four compressed cpio archives
#   (the kernel unpacks each in turn), each rebuilt only when its inputs change:
#     base       the userland from fetch.sh, /etc, and the sample images of rootfs-samples/
#                built with this architecture's busybox (/srv/rootfs, /srv/sysroot, /srv/emb)
#     modules-K  overlay, loop, squashfs, ext4, veth, bridge and their dependencies, depmod
#     engine     dist/isulad-ARCH (--runtime bun: dist/isulad-bun-ARCH) as /usr/bin/isulad,
#                /usr/bin/isula -> isulad
#     scripts    /init (qemu/guest/init.sh) and the checks (qemu/guest/test.sh)
set -euo pipefail
PROG=qemu/build-image.sh
# shellcheck source=qemu/lib.sh
. "$(dirname "$0")/lib.sh"

usage() { echo "usage: $PROG x86_64|aarch64 [--kernel default|5.10] [--runtime node|bun]" >&2; }
parse_arch_kernel "$@"
[ "$(id -u)" -eq 0 ] || die "must be run as root (the sample images hold root-owned files)"

host_cmds=(cpio:cpio zstd:zstd depmod:kmod modprobe:kmod file:file mkfs.ext4:e2fsprogs mksquashfs:squashfs-tools flock:util-linux)
# busybox-rootfs.sh lists the applets of a foreign busybox under qemu-user.
[ "$arch" = "$(uname -m)" ] || host_cmds+=("qemu-$arch-static:qemu-user-static")
need_commands "${host_cmds[@]}"

dir=$CACHE/$arch
userland=$dir/userland
env=$dir/kernel-$kernel.env
if [ ! -f "$dir/userland.stamp" ] || [ ! -f "$env" ]; then die "run qemu/fetch.sh $arch --kernel $kernel first"; fi
# shellcheck disable=SC1090
. "$env"
[ -x "$engine" ] || die "$engine is missing: npm run build -- --arch $arch$([ "$runtime" = node ] || echo " --runtime $runtime")"
MODULES=(crc32c_generic overlay loop squashfs ext4 veth bridge)

# What an interrupted build leaves half-made goes.
scratch=()
trap 'rm -rf "${scratch[@]}"' EXIT

# sha256 of the given strings and files' contents: a segment's identity.
fingerprint() {
  local x
  for x in "$@"; do
    if [ -f "$x" ]; then sha256sum <"$x"; else printf '%s\n' "$x"; fi
  done | sha256sum | cut -c1-32
}

# pack ROOT OUT: a newc cpio of ROOT, zstd-compressed (the kernel decompresses it while
# unpacking; zstd -3 is the best trade-off between build time and size here).
pack() {
  (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc) | zstd -q -3 -T0 >"$2.tmp"
  mv "$2.tmp" "$2"
}

# segment NAME FINGERPRINT FUNCTION: runs FUNCTION ROOT in a fresh directory and packs it into
# $dir/seg-NAME.cpio.zst, unless the segment with that fingerprint is already there.
segment() {
  local name=$1 fp=$2 fn=$3 out=$dir/seg-$1.cpio.zst tmp
  if [ -f "$out" ] && [ "$(cat "$out.fp" 2>/dev/null)" = "$fp" ]; then echo "$out"; return 0; fi
  log "building segment $name"
  tmp=$(mktemp -d "$dir/.seg-$name.XXXXXX")
  # segment runs in a command substitution: a subshell, with its own EXIT trap.
  # shellcheck disable=SC2064 # expanded now: the locals are gone when it runs
  trap "rm -rf '$tmp' '$out.tmp'" EXIT
  mkdir "$tmp/root"
  "$fn" "$tmp/root"
  pack "$tmp/root" "$out"
  rm -rf "$tmp"
  echo "$fp" >"$out.fp"
  echo "$out"
}

# The sample images for this architecture, from rootfs-samples/ with its busybox.
build_samples() {
  local samples=$dir/samples fp
  fp=$(fingerprint "$userland/usr/bin/busybox" "$REPO_DIR"/rootfs-samples/*.sh)
  if [ "$(cat "$samples/.fp" 2>/dev/null)" = "$fp" ]; then return 0; fi
  log "building the sample images with the $arch busybox"
  rm -rf "$samples"
  mkdir -p "$samples"
  export BUSYBOX=$userland/usr/bin/busybox
  "$REPO_DIR/rootfs-samples/busybox-rootfs.sh" "$samples/rootfs" >/dev/null
  "$REPO_DIR/rootfs-samples/system-rootfs.sh" "$samples/sysroot" >/dev/null
  # Layer 0 is attached inside the VM; the manifest names the symlink made to its loop device.
  "$REPO_DIR/rootfs-samples/embedded-image.sh" --device /dev/isulad-qemu-rootfs "$samples/emb" >/dev/null
  rm -f "$samples/emb/.embedded-image.lock"
  echo "$fp" >"$samples/.fp"
}

fill_base() {
  local root=$1
  cp -a "$userland/." "$root/"
  # /init is a busybox script; the other applet links are made by /init itself.
  ln -s busybox "$root/usr/bin/sh"
  mkdir -p "$root"/{proc,sys,dev,run,tmp,root,srv,var/lib,var/log,etc,usr/local/bin}
  chmod 1777 "$root/tmp"
  chmod 0700 "$root/root"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'PRETTY_NAME="iSulad-TS QEMU test image (Debian 12 userland)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' >"$root/etc/os-release"
  : >"$root/etc/hosts"
  cp -a "$dir/samples/rootfs" "$root/srv/rootfs"
  cp -a "$dir/samples/sysroot" "$root/srv/sysroot"
  cp -a "$dir/samples/emb" "$root/srv/emb"
}

fill_modules() {
  local root=$1 m f rel mdir=/lib/modules/$KVER
  for m in "${MODULES[@]}"; do
    # "insmod PATH" per module and dependency (softdeps included); "builtin NAME" for built-ins.
    modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
  done | sort -u | while IFS= read -r f; do
    rel=${f#"$(readlink -f "$KDIR$mdir")"/}
    rel=${rel#"$KDIR$mdir"/}
    mkdir -p "$root/usr$mdir/$(dirname "$rel")"
    cp "$f" "$root/usr$mdir/$rel"
  done
  for f in modules.builtin modules.builtin.modinfo modules.order; do
    [ ! -f "$KDIR$mdir/$f" ] || cp "$KDIR$mdir/$f" "$root/usr$mdir/"
  done
  # depmod -b wants ROOT/lib/modules; in the image /lib is a link to usr/lib (merged /usr).
  ln -s usr/lib "$root/lib"
  depmod -b "$root" "$KVER"
  rm "$root/lib"
  [ -n "$(find "$root/usr$mdir" -name '*.ko')" ] || die "no modules found for ${MODULES[*]} in $KVER"
}

fill_engine() {
  local root=$1
  mkdir -p "$root/usr/bin"
  cp "$engine" "$root/usr/bin/isulad"
  chmod 0755 "$root/usr/bin/isulad"
  ln -s isulad "$root/usr/bin/isula"
}

fill_scripts() {
  local root=$1
  mkdir -p "$root/usr/local/bin"
  install -m 0755 "$QEMU_DIR/guest/init.sh" "$root/init"
  install -m 0755 "$QEMU_DIR/guest/test.sh" "$root/usr/local/bin/isulad-qemu-test"
}

build_samples
seg_base=$(segment base "$(fingerprint "$dir/userland.stamp" "$dir/samples/.fp" "$0")" fill_base)
seg_modules=$(segment "modules-$kernel" "$(fingerprint "$KDIR" "$KVER" "${MODULES[*]}" "$0")" fill_modules)
seg_engine=$(segment "engine$variant" "$(fingerprint "$(stat -c '%s %Y %i' "$engine")" "$0")" fill_engine)
seg_scripts=$(segment scripts "$(fingerprint "$QEMU_DIR/guest/init.sh" "$QEMU_DIR/guest/test.sh" "$0")" fill_scripts)

image=$dir/initramfs-$kernel$variant.img
fp=$(fingerprint "$(cat "$seg_base.fp" "$seg_modules.fp" "$seg_engine.fp" "$seg_scripts.fp")")
if [ ! -f "$image" ] || [ "$(cat "$image.fp" 2>/dev/null)" != "$fp" ]; then
  scratch+=("$image.tmp")
  cat "$seg_base" "$seg_modules" "$seg_engine" "$seg_scripts" >"$image.tmp"
  mv "$image.tmp" "$image"
  echo "$fp" >"$image.fp"
fi
echo "$image"
