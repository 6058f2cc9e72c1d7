#!/usr/bin/env bash
# Checks format and lint (Biome), builds the single executables, compiles the tests, and
# runs them: unit and integration tests with Node's test runner, then the release checks
# (the aarch64 executable under qemu-user, the RPMs installed by dnf from their repository,
# the x86_64 QEMU test image).
# `build/test.sh unit` runs only the unit tests (no build, no root needed);
# `build/test.sh node` runs unit and integration tests; `build/test.sh release` only the
# release checks.
set -euo pipefail
cd "$(dirname "$0")/.."
scope=${1:-all}
case "$scope" in unit|node|release|all) ;; *) echo "usage: build/test.sh [unit|node|release|all]" >&2; exit 2 ;; esac
status=0
if [ "$scope" != release ]; then
  # Format check and lint first: seconds, and they name the line.
  npx biome ci .
  rm -rf out
  npx tsc -p tsconfig.json
  if [ "$scope" = unit ]; then
    exec node --test out/test/unit/
  fi
  # The release checks need the aarch64 executable too; unit and integration tests only the host's.
  SKIP_TYPECHECK=1 bash build/build.sh --arch "$([ "$scope" = node ] && uname -m || echo all)"
  # Integration tests drive real containers; one file at a time keeps them off each other's cgroups.
  node --test --test-concurrency=1 out/test/unit/ out/test/integration/ || status=$?
  [ "$scope" = node ] && exit "$status"
else
  bash build/build.sh --arch all
fi
release_check() {
  echo "== $*"
  "$@" || { echo "release check failed: $*" >&2; status=1; }
}
release_check env SKIP_BUILD=1 bash build/check-aarch64.sh
release_check env SKIP_BUILD=1 bash build/rpm.sh
release_check bash build/check-rpm.sh
release_check bash qemu/run.sh x86_64
exit "$status"
