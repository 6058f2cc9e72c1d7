#!/usr/bin/env bash
# Unpacks Debian's arm64 glibc and C++ runtime (never installed) into DIR, so that
# `qemu-aarch64-static -L DIR dist/isulad-aarch64` runs the aarch64 executable on x86_64.
# Usage: build/arm64-sysroot.sh [DIR]   (default .cache/sysroot-arm64; prints DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-.cache/sysroot-arm64}
if [ -e "$dir/lib/ld-linux-aarch64.so.1" ]; then echo "$dir"; exit 0; fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  apt-get update -qq
fi
debs=$(mktemp -d)
(cd "$debs" && apt-get download -qq libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64)
mkdir -p "$dir"
for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$dir"; done
rm -rf "$debs"
echo "$dir"
