#!/usr/bin/env bash
# Checks the aarch64 single executable on this x86_64 host under qemu-user: builds it,
# unpacks an arm64 sysroot, then runs `--version`, starts the aarch64 daemon on a temporary
# root and makes one client call with the aarch64 client. Needs qemu-user-static and
# binutils-aarch64-linux-gnu (apt-get install --no-install-recommends). SKIP_BUILD=1 uses
# dist/isulad-aarch64 as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v qemu-aarch64-static >/dev/null || { echo "check-aarch64: qemu-aarch64-static not found: apt-get install --no-install-recommends qemu-user-static" >&2; exit 1; }
# build.sh names what the aarch64 build itself lacks.
[ "${SKIP_BUILD:-}" = 1 ] || bash build/build.sh --arch aarch64
sysroot=$(bash build/arm64-sysroot.sh | tail -n 1)
run() { qemu-aarch64-static -L "$sysroot" "$@"; }
work=$(mktemp -d /tmp/isulad-a64.XXXXXX)
trap '[ -f "$work/p.pid" ] && kill "$(cat "$work/p.pid")" 2>/dev/null; sleep 0.5; rm -rf "$work"' EXIT
ln -s "$PWD/dist/isulad-aarch64" "$work/isula"
run dist/isulad-aarch64 --version
# build/rename-node-env.mjs found its string in the arm64 Node too: no certificate warning.
NODE_EXTRA_CA_CERTS=/nonexistent run dist/isulad-aarch64 --version 2>&1 | { ! grep -q 'extra certs'; } ||
  { echo "check-aarch64: the aarch64 executable still reads NODE_EXTRA_CA_CERTS" >&2; exit 1; }
echo '{}' > "$work/daemon.json"
run dist/isulad-aarch64 -g "$work/root" -S "$work/state" -H "unix://$work/s.sock" -p "$work/p.pid" --config-file "$work/daemon.json" &
for _ in $(seq 300); do [ -S "$work/s.sock" ] && break; sleep 0.1; done
run "$work/isula" -H "unix://$work/s.sock" version | grep -q 'OS/Arch: *linux/arm64'
echo "aarch64: daemon and client answer under qemu-aarch64-static: ok"
