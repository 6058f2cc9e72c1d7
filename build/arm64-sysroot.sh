#!/usr/bin/env bash
# Unpacks Debian's arm64 glibc and C++ runtime (never installed) into DIR, so that
# `qemu-aarch64-static -L DIR dist/isulad-aarch64` runs the aarch64 executable on x86_64.
# The packages come through qemu/'s private apt state: the host's dpkg architectures and
# apt sources are left as they are.
# Usage: build/arm64-sysroot.sh [DIR]   (default .cache/sysroot-arm64; prints DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
PROG=build/arm64-sysroot.sh
# shellcheck source=qemu/lib.sh
. qemu/lib.sh
dir=${1:-.cache/sysroot-arm64}
if [ -e "$dir/lib/ld-linux-aarch64.so.1" ]; then echo "$dir"; exit 0; fi
apt_private "$USERLAND_RELEASE" arm64
apt_private_update
mkdir -p "$dir"
for deb in $(apt_fetch "$CACHE/debs/$USERLAND_RELEASE-arm64" libc6 libstdc++6 libgcc-s1); do dpkg-deb -x "$deb" "$dir"; done
echo "$dir"
