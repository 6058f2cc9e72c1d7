#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, as root: install what is needed, build the
# single executable, start the daemon on a temporary root, load the embedded sample image,
# run containers from it and from an external rootfs, show their output, and clean up.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "main-job: run as root (containers need it)" >&2; exit 1; }

if [ "${SKIP_SETUP:-}" != 1 ]; then bash build/setup.sh; fi
npm run build

work=$(mktemp -d /tmp/isulad-demo.XXXXXX)
sock="unix://$work/isulad.sock"
isula() { ./dist/isula -H "$sock" "$@"; }
cleanup() {
  isula rm -f $(isula ps -aq 2>/dev/null) >/dev/null 2>&1 || true
  if [ -n "${daemon:-}" ]; then kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
  rootfs-samples/embedded-image.sh --detach "$work/emb" >/dev/null 2>&1 || true
  # liblxc's lock directory for this root, and the engine's parent cgroups once empty.
  rm -rf "$work" "/run/lxc/lock$work"
  rmdir /sys/fs/cgroup/isulad /sys/fs/cgroup/isulad.monitor /sys/fs/cgroup/*/isulad /sys/fs/cgroup/*/isulad.monitor 2>/dev/null || true
}
trap cleanup EXIT

echo '{}' > "$work/daemon.json"
./dist/isulad -g "$work/root" -S "$work/state" -H "$sock" -p "$work/isulad.pid" --config-file "$work/daemon.json" &
daemon=$!
for _ in $(seq 100); do [ -S "$work/isulad.sock" ] && break; sleep 0.1; done
[ -S "$work/isulad.sock" ] || { echo "main-job: the daemon did not start" >&2; exit 1; }

show() { echo "+ isula $*"; isula "$@"; }
show version
show info
manifest=$(rootfs-samples/embedded-image.sh "$work/emb" | tail -n 1)
show load -i "$manifest" -t embedded
show images
show run --rm test:v1 /app/hello.sh
show run --rm test:v1 sh -c 'echo "rootfs: $(cat /etc/hostname), app layer: $(cat /app/VERSION), c=$c"'
rootfs-samples/busybox-rootfs.sh "$work/bb" >/dev/null
show run --rm --external-rootfs "$work/bb" none sh -c 'echo hello from an external rootfs; uname -r'
