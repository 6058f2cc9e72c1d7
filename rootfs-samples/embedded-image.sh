#!/usr/bin/env bash
# embedded-image.sh [--name NAME:TAG] [--size MIB] [--device PATH] DIR
# embedded-image.sh --detach DIR
#
# Build a sample iSulad "embedded image" for the host architecture (or for the
# architecture of $BUSYBOX, see busybox-rootfs.sh) in DIR:
#   DIR/rootfs.img     ext4 image of a busybox rootfs (layer 0), attached to a
#                      loop device; the loop device is layer 0's pathInHost
#   DIR/app.img        squashfs application layer (layer 1), mounted at /app
#   DIR/test.manifest  embedded manifest (application/embedded.manifest+json)
#   DIR/test.sgn       "sha256:<hex sha256 of test.manifest>", no newline
# The absolute manifest path is printed as the LAST line of stdout; progress
# goes to stderr.  Re-running on the same DIR is safe: if rootfs.img is already
# attached, that loop device (and the image) are reused; app.img, the manifest
# and the sgn are rewritten (atomically, via rename).
#
# --detach DIR   detach every loop device backed by DIR/rootfs.img, exit 0.
# --device PATH  do not attach rootfs.img: write PATH as layer 0's pathInHost.
#                Whoever loads the image attaches rootfs.img first and makes
#                PATH that device (e.g. a symlink to the loop device), as on
#                another machine (a test VM).  Needs neither root nor losetup;
#                rootfs.img is rebuilt on every run.
#
# Environment: EMBEDDED_IMAGE_NAME (default test:v1, --name wins),
#              EMBEDDED_ROOTFS_SIZE_MB (default 16, --size wins).
# Needs root (losetup), unless --device is given.
set -euo pipefail

prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd -P)

usage() {
  echo "usage: $prog [--name NAME:TAG] [--size MIB] [--device PATH] DIR | $prog --detach DIR" >&2
}
die() { echo "$prog: error: $*" >&2; exit 1; }
log() { echo "$prog: $*" >&2; }

name=${EMBEDDED_IMAGE_NAME:-test:v1}
size_mb=${EMBEDDED_ROOTFS_SIZE_MB:-16}
detach=no
device=
dir=

while [ "$#" -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --detach) detach=yes; shift ;;
    --name) [ "$#" -ge 2 ] || { usage; exit 2; }; name=$2; shift 2 ;;
    --name=*) name=${1#--name=}; shift ;;
    --size) [ "$#" -ge 2 ] || { usage; exit 2; }; size_mb=$2; shift 2 ;;
    --size=*) size_mb=${1#--size=}; shift ;;
    --device) [ "$#" -ge 2 ] || { usage; exit 2; }; device=$2; shift 2 ;;
    --device=*) device=${1#--device=}; shift ;;
    --) shift; break ;;
    -*) echo "$prog: error: unknown option $1" >&2; usage; exit 2 ;;
    *) [ -z "$dir" ] || { usage; exit 2; }; dir=$1; shift ;;
  esac
done
if [ "$#" -gt 0 ]; then
  [ -z "$dir" ] && [ "$#" -eq 1 ] || { usage; exit 2; }
  dir=$1
fi
[ -n "$dir" ] || { usage; exit 2; }

if [ -z "$device" ] || [ "$detach" = yes ]; then
  [ "$(id -u)" -eq 0 ] || die "must be run as root (needs losetup)"
fi

# loop devices whose backing file is $1 (by inode via losetup -j, plus any
# loop still pointing at a deleted file of that path, via sysfs)
loops_of() {
  local img=$1 line f bf
  if [ -e "$img" ]; then
    losetup -j "$img" 2>/dev/null | while IFS= read -r line; do
      [ -n "$line" ] && echo "${line%%:*}"
    done
  fi
  for f in /sys/block/loop*/loop/backing_file; do
    [ -r "$f" ] || continue
    bf=$(cat "$f" 2>/dev/null) || continue
    if [ "$bf" = "$img (deleted)" ]; then
      f=${f#/sys/block/}; echo "/dev/${f%%/*}"
    fi
  done
}

# ------------------------------------------------------------------ --detach
if [ "$detach" = yes ]; then
  [ -d "$dir" ] || exit 0
  adir=$(cd "$dir" && pwd -P)
  for l in $(loops_of "$adir/rootfs.img" | sort -u); do
    # if it is still mounted, losetup -d only sets autoclear; that is fine
    if losetup -d "$l" 2>/dev/null; then log "detached $l"; else log "warning: could not detach $l"; fi
  done
  exit 0
fi

# ---------------------------------------------------------------- checks
case "$name" in
  ''|*[!A-Za-z0-9._/:@-]*) die "invalid image name '$name' (expected NAME:TAG)" ;;
esac
case "$size_mb" in
  ''|*[!0-9]*) die "invalid size '$size_mb' (MiB, integer)" ;;
esac
[ "$size_mb" -ge 8 ] || die "size must be at least 8 MiB"
case "$device" in
  '') ;;
  /*[!A-Za-z0-9._/-]*|/) die "invalid device path '$device'" ;;
  /*) ;;
  *) die "--device wants an absolute path, got '$device'" ;;
esac
tools="mkfs.ext4 mksquashfs sha256sum flock"
[ -n "$device" ] || tools="$tools losetup"
for t in $tools; do
  command -v "$t" >/dev/null 2>&1 || die "$t not found (apt-get install e2fsprogs squashfs-tools util-linux coreutils)"
done
if [ -e "$dir" ] && [ ! -d "$dir" ]; then die "$dir exists and is not a directory"; fi
mkdir -p "$dir" || die "cannot create $dir"
dir=$(cd "$dir" && pwd -P)

# serialise concurrent runs on the same DIR
exec 9>"$dir/.embedded-image.lock"
flock 9

tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

img=$dir/rootfs.img
manifest=$dir/test.manifest
sgn=$dir/test.sgn

# ---------------------------------------------------- layer 0: rootfs.img
loops=()
[ -n "$device" ] || mapfile -t loops < <(loops_of "$img" | sort -u)
loopdev=
for l in "${loops[@]}"; do
  if [ -z "$loopdev" ] && [ -f "$img" ] && losetup -j "$img" | grep -q "^$l:"; then
    loopdev=$l                       # reuse the first live attachment
  else
    losetup -d "$l" 2>/dev/null || true   # extra / stale attachment
  fi
done

if [ -n "$loopdev" ]; then
  log "rootfs.img already attached to $loopdev, reusing it"
else
  log "building rootfs.img (${size_mb} MiB ext4)"
  "$here/busybox-rootfs.sh" "$tmp/rootfs" >/dev/null
  mkdir -p "$tmp/rootfs/app"           # mount point of the app layer
  mkfs.ext4 -q -F -L rootfs -E root_owner=0:0 -d "$tmp/rootfs" "$tmp/rootfs.img" "${size_mb}M" >&2 \
    || die "mkfs.ext4 failed"
  mv -f "$tmp/rootfs.img" "$img"
  if [ -n "$device" ]; then
    loopdev=$device
    log "rootfs.img not attached: layer 0 is $device, to be attached by whoever loads the image"
  else
    loopdev=$(losetup --find --show "$img") || die "losetup --find --show $img failed"
    log "attached rootfs.img to $loopdev"
  fi
fi
[ -n "$device" ] || case "$loopdev" in /dev/loop*) ;; *) die "unexpected loop device '$loopdev'" ;; esac

# ------------------------------------------------------- layer 1: app.img
mkdir -p "$tmp/app"
cat > "$tmp/app/hello.sh" <<'HELLO'
#!/bin/sh
echo "hello from the embedded app layer"
HELLO
chmod 0755 "$tmp/app/hello.sh"
echo "1.0" > "$tmp/app/VERSION"
chmod 0644 "$tmp/app/VERSION"
chmod 0755 "$tmp/app"
sq_opts=(-noappend -quiet -all-root -no-xattrs)
# reproducible timestamps when supported (squashfs-tools >= 4.5)
if mksquashfs -help 2>&1 | grep -q -- '-all-time'; then
  sq_opts+=(-all-time 0 -mkfs-time 0)
fi
mksquashfs "$tmp/app" "$tmp/app.img" "${sq_opts[@]}" >/dev/null || die "mksquashfs failed"
mv -f "$tmp/app.img" "$dir/app.img"   # rename: a mounted old app.img is untouched
app_size=$(stat -c %s "$dir/app.img")
app_sha=$(sha256sum "$dir/app.img" | cut -d' ' -f1)

# ----------------------------------------------------------- manifest + sgn
created=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
cat > "$tmp/test.manifest" <<MANIFEST
{
    "schemaVersion": 1,
    "mediaType": "application/embedded.manifest+json",
    "imageName": "$name",
    "created": "$created",
    "config": {
        "ENV": ["c=d e", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "ENTRYPOINT": [],
        "WORKDIR": "/"
    },
    "layers": [
        {
            "mediaType": "application/squashfs.image.rootfs.diff.img",
            "size": 0,
            "digest": "",
            "pathInHost": "$loopdev",
            "pathInContainer": ""
        },
        {
            "mediaType": "application/squashfs.image.rootfs.diff.img",
            "size": $app_size,
            "digest": "sha256:$app_sha",
            "pathInHost": "app.img",
            "pathInContainer": "/app"
        }
    ]
}
MANIFEST
man_sha=$(sha256sum "$tmp/test.manifest" | cut -d' ' -f1)
printf 'sha256:%s' "$man_sha" > "$tmp/test.sgn"
mv -f "$tmp/test.manifest" "$manifest"
mv -f "$tmp/test.sgn" "$sgn"

log "image $name: layer0=$loopdev layer1=app.img ($app_size bytes)"
echo "$manifest"
