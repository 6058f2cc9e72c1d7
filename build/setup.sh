#!/usr/bin/env bash
# Installs what building, running and testing iSulad-TS need on a fresh Debian 12 machine
# (as root): Debian's LXC tools, busybox-static for sample root filesystems, squashfs and
# ext4 tools for embedded images; for the release artefacts, aarch64 binutils and
# qemu-user-static (the aarch64 executable), QEMU system emulators, kmod, cpio and zstd
# (the test images of qemu/), rpm, createrepo-c and dnf (the RPMs and their repository),
# libcap2-bin and umoci (capability xattrs and Go-written layers in the OCI store's tests);
# docker-registry, skopeo and apache2-utils (htpasswd) for OCI images: a local registry and
# an independent client for the tests and the main job; containernetworking-plugins (CNI
# plugins in /usr/lib/cni), iproute2 and iptables for pod networks; socat (CRI port-forward
# into a pod's network namespace); gcc and libc6-dev (the static pause program of
# rootfs-samples/pause-image.sh); then the npm packages from package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  lxc busybox-static squashfs-tools e2fsprogs util-linux procps binutils git ca-certificates openssl file \
  binutils-aarch64-linux-gnu qemu-user-static qemu-system-x86 qemu-system-arm kmod cpio zstd xz-utils \
  rpm createrepo-c dnf \
  libcap2-bin umoci docker-registry skopeo apache2-utils \
  containernetworking-plugins iproute2 iptables socat gcc libc6-dev >/dev/null
npm ci --no-audit --no-fund
