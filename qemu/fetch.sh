#!/usr/bin/env bash
# qemu/fetch.sh ARCH [--kernel default|5.10]
#
# Fetches, for ARCH (x86_64 or aarch64), Debian's packages with a private apt state (never
# installed, the host's dpkg architectures untouched) and unpacks them into the cache:
#   .cache/qemu/ARCH/userland/       Debian 12's glibc, C++ runtime, busybox-static, LXC
#                                    (lxc, liblxc1, liblxc-common) and the util-linux tools
#                                    the engine spawns, with their shared-library closure,
#                                    merged under /usr as Debian 12 lays it out
#   .cache/qemu/ARCH/kernel-K.env    KVER, KDIR (the unpacked kernel package, depmod run),
#                                    KIMAGE (what QEMU boots: on x86_64 the ELF vmlinux taken
#                                    out of the bzImage, booted through PVH; on aarch64 the
#                                    Image), KPKG
# K is `default` (Debian 12's linux-image-ARCH) or `5.10` (Debian 11's). Cached: a run with
# everything in place costs well under a second.
set -euo pipefail
PROG=qemu/fetch.sh
# shellcheck source=qemu/lib.sh
. "$(dirname "$0")/lib.sh"

usage() { echo "usage: $PROG x86_64|aarch64 [--kernel default|5.10]" >&2; }
parse_arch_kernel "$@"
[ "$(id -u)" -eq 0 ] || die "must be run as root (apt-get)"

need_commands dpkg-deb:dpkg depmod:kmod modprobe:kmod readelf:binutils xz:xz-utils zstd:zstd
darch=$(deb_arch_of "$arch")
dir=$CACHE/$arch
mkdir -p "$dir"

# Packages of the userland. A library missing from this list is caught by the closure check
# below, which names it.
USERLAND_PKGS=(libc6 libstdc++6 libgcc-s1 busybox-static
  lxc liblxc1 liblxc-common libcap2 libseccomp2 libselinux1 libpcre2-8-0 libapparmor1
  mount libmount1 libblkid1 libsmartcols1 bsdutils)
# Only these files of a package when not all of it is wanted (bsdutils: `script`, for -t).
declare -A ONLY=([bsdutils]="usr/bin/script")

# Paths nobody reads inside the VM.
prune() {
  local root=$1
  rm -rf "$root"/usr/share/{doc,man,info,locale,lintian,bash-completion,bug} \
    "$root"/etc/{init.d,apparmor.d,default,sysctl.d} "$root"/lib/systemd "$root"/usr/lib/systemd \
    "$root"/usr/share/lxc/{templates,selinux} "$root"/usr/share/{gcc,gdb,initramfs-tools} "$root"/usr/lib/*/gconv
}

# Debian 12 packages still ship /bin, /sbin and /lib; Debian 12 systems merge them into /usr.
merge_usr() {
  local root=$1 d
  for d in bin sbin lib lib64; do
    if [ -d "$root/$d" ] && [ ! -L "$root/$d" ]; then
      mkdir -p "$root/usr/$d"
      cp -a "$root/$d/." "$root/usr/$d/"
      rm -rf "${root:?}/$d"
    fi
    [ -d "$root/usr/$d" ] && ln -sfn "usr/$d" "$root/$d"
  done
  return 0
}

# Every ELF file's NEEDED libraries must be in the tree's library directories.
check_closure() {
  local root=$1 f lib missing=()
  local libdirs=("$root"/usr/lib/*-linux-gnu "$root/usr/lib" "$root/usr/lib64")
  while IFS= read -r f; do
    for lib in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      local found=no d
      for d in "${libdirs[@]}"; do [ -e "$d/$lib" ] && { found=yes; break; }; done
      [ "$found" = yes ] || missing+=("$lib (for ${f#"$root"/})")
    done
  done < <(find "$root" -type f -exec sh -c 'head -c4 "$1" | grep -q "^.ELF"' _ {} \; -print)
  [ "${#missing[@]}" -eq 0 ] || die "shared libraries missing from the userland: ${missing[*]}; add their packages to USERLAND_PKGS"
}

fetch_userland() {
  local debs stamp new pkg deb tmp
  apt_private "$USERLAND_RELEASE" "$darch"
  apt_private_update
  mapfile -t debs < <(apt_fetch "$CACHE/debs/$USERLAND_RELEASE-$darch" "${USERLAND_PKGS[@]}")
  stamp=$dir/userland.stamp
  new=$(printf '%s\n' "${debs[@]##*/}" "script:$(sha256sum "$0" | cut -c1-16)")
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$new" ] && [ -d "$dir/userland/usr" ]; then return 0; fi
  log "unpacking the $arch userland (${#debs[@]} packages)"
  tmp=$(mktemp -d "$dir/.userland.XXXXXX")
  mkdir -p "$tmp/root"
  for deb in "${debs[@]}"; do
    pkg=$(dpkg-deb -f "$deb" Package)
    if [ -n "${ONLY[$pkg]:-}" ]; then
      mkdir -p "$tmp/$pkg"
      dpkg-deb -x "$deb" "$tmp/$pkg"
      # shellcheck disable=SC2086 # a list of paths
      (cd "$tmp/$pkg" && tar -cf - ${ONLY[$pkg]}) | tar -xf - -C "$tmp/root"
      rm -rf "${tmp:?}/$pkg"
    else
      dpkg-deb -x "$deb" "$tmp/root"
    fi
  done
  prune "$tmp/root"
  merge_usr "$tmp/root"
  check_closure "$tmp/root"
  rm -rf "$dir/userland"
  mv "$tmp/root" "$dir/userland"
  rm -rf "$tmp"
  printf '%s\n' "$new" >"$stamp"
}

# The ELF vmlinux inside an x86 bzImage (XZ or ZSTD payload), if it has the PVH entry note:
# QEMU then boots it directly, and the guest does not decompress itself under TCG.
extract_pvh_vmlinux() {
  local image=$1 out=$2 off
  off=$(LC_ALL=C grep -obUaP '\xfd\x37\x7a\x58\x5a\x00' "$image" | head -n 1 | cut -d: -f1) || true
  if [ -n "$off" ]; then
    tail -c +$((off + 1)) "$image" | xz -dc >"$out.tmp" 2>/dev/null || true # trailing data
  else
    off=$(LC_ALL=C grep -obUaP '\x28\xb5\x2f\xfd' "$image" | head -n 1 | cut -d: -f1) || true
    [ -z "$off" ] || tail -c +$((off + 1)) "$image" | zstd -dcq >"$out.tmp" 2>/dev/null || true
  fi
  # XEN_ELFNOTE_PHYS32_ENTRY (18): the PVH entry point.
  if [ -s "$out.tmp" ] && readelf -n "$out.tmp" 2>/dev/null | grep -q 'Xen .*(0x00000012)'; then
    mv "$out.tmp" "$out"
  else
    rm -f "$out.tmp"
    return 1
  fi
}

# The newest linux-image-ARCH (metapackage) version whose kernel package the mirror really
# serves, and prints that package's .deb path: an index can list a file the mirror lacks
# (bullseye-security's arm64 kernel, here).
fetch_kernel_deb() {
  local release=$1 meta=linux-image-$darch pool=$CACHE/debs/$1-$darch ver dep file
  mkdir -p "$pool"
  for ver in $("${APT_CACHE[@]}" madison "$meta" | awk -F'|' '{ gsub(/ /, "", $2); print $2 }'); do
    # "Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)" → linux-image-6.1.0-56-amd64=6.1.192-2
    dep=$("${APT_CACHE[@]}" show "$meta=$ver" 2>/dev/null | sed -n 's/^Depends: \(linux-image-[^ ,]*\) (= \([^)]*\)).*/\1=\2/p' | head -n 1)
    [ -n "$dep" ] || continue
    file=$(find "$pool" -maxdepth 1 -name "${dep%%=*}_${dep#*=}_*.deb" | head -n 1)
    if [ -z "$file" ]; then
      if ! (cd "$pool" && "${APT_GET[@]}" download -qq "$dep" >&2); then
        log "$dep is listed but cannot be downloaded; trying an older one"
        continue
      fi
      file=$(find "$pool" -maxdepth 1 -name "${dep%%=*}_${dep#*=}_*.deb" | head -n 1)
    fi
    [ -n "$file" ] && echo "$file" && return 0
  done
  die "no $meta of $release could be downloaded"
}

fetch_kernel() {
  local release deb kdir kver env image old
  release=$(kernel_release_of "$kernel")
  apt_private "$release" "$darch"
  apt_private_update
  env=$dir/kernel-$kernel.env
  # Resolved since the lists last changed: nothing to ask apt.
  if [ -f "$env" ] && [ "$env" -nt "$APT_STATE/updated" ]; then
    kdir=$(sed -n 's/^KDIR=//p' "$env")
    [ ! -f "$kdir/.done" ] || return 0
  fi
  deb=$(fetch_kernel_deb "$release")
  kdir=$dir/kernels/$(basename "$deb" .deb)
  if [ -f "$env" ] && grep -qx "KDIR=$kdir" "$env" && [ -f "$kdir/.done" ]; then touch "$env"; return 0; fi
  log "unpacking $(basename "$deb")"
  rm -rf "$kdir"
  mkdir -p "$kdir"
  dpkg-deb -x "$deb" "$kdir"
  kver=$(find "$kdir/lib/modules" "$kdir/usr/lib/modules" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | head -n 1) || true
  [ -n "$kver" ] || die "no modules in $(basename "$deb")"
  [ -d "$kdir/lib/modules/$kver" ] || { mkdir -p "$kdir/lib"; ln -sfn ../usr/lib/modules "$kdir/lib/modules"; }
  depmod -b "$kdir" "$kver"
  image=$kdir/boot/vmlinuz-$kver
  [ -f "$image" ] || die "no /boot/vmlinuz-$kver in $(basename "$deb")"
  if [ "$arch" = x86_64 ]; then
    if extract_pvh_vmlinux "$image" "$kdir/vmlinux"; then image=$kdir/vmlinux; else log "no PVH vmlinux in $kver: booting the bzImage"; fi
  fi
  touch "$kdir/.done"
  old=$(sed -n 's/^KDIR=//p' "$env" 2>/dev/null || true)
  printf 'KVER=%s\nKDIR=%s\nKIMAGE=%s\nKPKG=%s\n' "$kver" "$kdir" "$image" "$(dpkg-deb -f "$deb" Package)" >"$env.tmp"
  mv "$env.tmp" "$env"
  # The kernel this one replaces (a newer point release), unless another K still uses it.
  if [ -n "$old" ] && [ "$old" != "$kdir" ] && ! grep -qx "KDIR=$old" "$dir"/kernel-*.env; then rm -rf "$old"; fi
}

fetch_userland
fetch_kernel
