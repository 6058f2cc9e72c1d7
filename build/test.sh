#!/usr/bin/env bash
# Builds the single executable, compiles the tests, and runs them with Node's test runner.
# `build/test.sh unit` runs only the unit tests (no build, no root needed).
set -euo pipefail
cd "$(dirname "$0")/.."
scope=${1:-all}
rm -rf out
npx tsc -p tsconfig.json
if [ "$scope" = unit ]; then
  exec node --test out/test/unit/
fi
bash build/build.sh
# Integration tests drive real containers; one file at a time keeps them off each other's cgroups.
exec node --test --test-concurrency=1 out/test/unit/ out/test/integration/
