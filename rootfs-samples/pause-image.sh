#!/bin/sh
# Builds the pod sandbox (pause) image for offline sites: one layer holding /pause, a static
# program compiled here from pause/pause.c (it reaps zombies and exits on SIGTERM/SIGINT, which
# a shell loop does only between its own children). Needs gcc with a static libc (libc6-dev),
# umoci and skopeo.
#
#   pause-image.sh --layout DIR [--name NAME:TAG]        OCI layout DIR (tag from NAME), prints DIR
#   pause-image.sh --archive FILE [--name NAME:TAG]      docker-archive for `isula load -i FILE`
#   pause-image.sh --push HOST:PORT/REPO:TAG [--insecure] pushes to a registry
# NAME defaults to localhost/pause:3.9 (what pod-sandbox-image then names).
set -eu
usage() { echo "usage: $0 (--layout DIR | --archive FILE | --push REF [--insecure]) [--name NAME:TAG]" >&2; exit 2; }
fail() { echo "pause-image.sh: $*" >&2; exit 1; }
mode=; target=; name=localhost/pause:3.9; tls=true
while [ $# -gt 0 ]; do
  case "$1" in
    --layout|--archive|--push) [ $# -ge 2 ] || usage; mode=${1#--}; target=$2; shift 2 ;;
    --name) [ $# -ge 2 ] || usage; name=$2; shift 2 ;;
    --insecure) tls=false; shift ;;
    *) usage ;;
  esac
done
[ -n "$mode" ] || usage
for tool in gcc umoci skopeo; do command -v "$tool" >/dev/null || fail "$tool is not installed"; done
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -static -Os -s -o "$work/pause" "$here/pause/pause.c" || fail "cannot compile a static pause (is libc6-dev installed?)"
tag=${name##*:}
case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
layout=$work/layout
[ "$mode" = layout ] && layout=$target
umoci init --layout "$layout" >/dev/null 2>&1 || [ -d "$layout/blobs" ] || fail "cannot create $layout"
umoci new --image "$layout:$tag"
umoci unpack --rootless --image "$layout:$tag" "$work/bundle" >/dev/null
install -m 0755 "$work/pause" "$work/bundle/rootfs/pause"
umoci repack --image "$layout:$tag" "$work/bundle"
umoci config --image "$layout:$tag" --os linux --architecture "$arch" --config.entrypoint /pause --config.stopsignal SIGTERM \
  --config.user 65535:65535 --config.workingdir /
umoci gc --layout "$layout"
case "$mode" in
  layout) echo "$layout" ;;
  archive)
    rm -f "$target"
    skopeo copy -q "oci:$layout:$tag" "docker-archive:$target:$name" >&2
    echo "$(cd "$(dirname "$target")" && pwd)/$(basename "$target")" ;;
  push)
    skopeo copy -q --dest-tls-verify=$tls "oci:$layout:$tag" "docker://$target" >&2
    echo "$target" ;;
esac
