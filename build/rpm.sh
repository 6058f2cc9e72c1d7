#!/usr/bin/env bash
# Builds isulad-<version>-1.x86_64.rpm and isulad-<version>-1.aarch64.rpm into dist/rpm/ and
# makes that folder a yum repository (createrepo_c). Needs Debian's rpm and createrepo-c;
# the aarch64 executable needs binutils-aarch64-linux-gnu (see build/build.sh).
# SKIP_BUILD=1 reuses dist/isulad-<arch> as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in rpmbuild createrepo_c; do
  command -v "$tool" >/dev/null || { echo "rpm: $tool not found: apt-get install --no-install-recommends rpm createrepo-c" >&2; exit 1; }
done
version=$(node -p "require('./package.json').version")
[ "${SKIP_BUILD:-}" = 1 ] || bash build/build.sh --arch all
rm -rf dist/rpm .cache/rpm
mkdir -p dist/rpm
for arch in x86_64 aarch64; do
  src=.cache/rpm/src-$arch
  mkdir -p "$src"
  cp "dist/isulad-$arch" "$src/isulad"
  cp build/rpm/isulad.service build/rpm/daemon.json README.md "$src/"
  target=()
  [ "$arch" = "$(uname -m)" ] || target=(--target "$arch")
  rpmbuild -bb "${target[@]}" --quiet \
    --define "_topdir $PWD/.cache/rpm/top" --define "_sourcedir $PWD/$src" --define "_rpmdir $PWD/dist/rpm" \
    --define "_binary_payload w3T0.zstdio" --define "isulad_version $version" build/rpm/isulad.spec
done
createrepo_c --quiet dist/rpm
find dist/rpm -name '*.rpm' -printf '%p %s bytes\n'
