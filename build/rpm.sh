#!/usr/bin/env bash
# Builds isulad-ts-<version>-1.<arch>.rpm for x86_64 and aarch64 into dist/rpm/ and makes that
# folder a yum repository (createrepo_c). Needs Debian's rpm and createrepo-c; the aarch64
# executable needs binutils-aarch64-linux-gnu (see build/build.sh).
# Usage: build/rpm.sh [--arch x86_64|aarch64|all] [--runtime node|bun]   (default all, node)
# --runtime bun packages the Bun executables dist/isulad-bun-<arch> instead (issue 15).
# SKIP_BUILD=1 reuses dist/isulad-<arch> (dist/isulad-bun-<arch>) as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=all runtime=node
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=${2:-}; shift 2 ;;
    --arch=*) arch=${1#--arch=}; shift ;;
    --runtime) runtime=${2:-}; shift 2 ;;
    --runtime=*) runtime=${1#--runtime=}; shift ;;
    *) echo "usage: build/rpm.sh [--arch x86_64|aarch64|all] [--runtime node|bun]" >&2; exit 2 ;;
  esac
done
case "$arch" in
  x86_64 | aarch64) arches=$arch ;;
  all) arches="x86_64 aarch64" ;;
  *) echo "rpm: unknown architecture \"$arch\": want x86_64, aarch64 or all" >&2; exit 2 ;;
esac
case "$runtime" in
  node) exe=isulad ;;
  bun) exe=isulad-bun ;;
  *) echo "rpm: unknown runtime \"$runtime\": want node or bun" >&2; exit 2 ;;
esac
for tool in rpmbuild createrepo_c; do
  command -v "$tool" >/dev/null || { echo "rpm: $tool not found: apt-get install --no-install-recommends rpm createrepo-c" >&2; exit 1; }
done
version=$(node -p "require('./package.json').version")
[ "${SKIP_BUILD:-}" = 1 ] || bash build/build.sh --arch "$arch" --runtime "$runtime"
rm -rf dist/rpm .cache/rpm
mkdir -p dist/rpm
for a in $arches; do
  src=.cache/rpm/src-$a
  mkdir -p "$src"
  cp "dist/$exe-$a" "$src/isulad"
  cp build/rpm/isulad.service build/rpm/daemon.json build/rpm/isulad-ts.sysusers build/rpm/hooks/default.json README.md "$src/"
  cp build/completion/isula.bash "$src/"
  target=()
  [ "$a" = "$(uname -m)" ] || target=(--target "$a")
  rpmbuild -bb "${target[@]}" --quiet \
    --define "_topdir $PWD/.cache/rpm/top" --define "_sourcedir $PWD/$src" --define "_rpmdir $PWD/dist/rpm" \
    --define "_binary_payload w3T0.zstdio" --define "isulad_version $version" build/rpm/isulad.spec
done
createrepo_c --quiet dist/rpm
find dist/rpm -name '*.rpm' -printf '%p %s bytes\n'
