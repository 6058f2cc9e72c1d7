#!/usr/bin/env bash
# Installs what building, running and testing iSulad-TS need on a fresh Debian 12 machine
# (as root): Debian's LXC tools, busybox-static for sample root filesystems, squashfs and
# ext4 tools for embedded images, and the npm packages from package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  lxc busybox-static squashfs-tools e2fsprogs util-linux procps binutils git ca-certificates >/dev/null
npm ci --no-audit --no-fund
