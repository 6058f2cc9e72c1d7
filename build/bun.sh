# Sourced by build/build.sh --runtime bun, after it has bundled src/bun-main.ts into
# dist/isulad-bun.cjs: compiles that bundle with `bun build --compile --bytecode` into a Bun
# single executable per architecture. Bun comes from the npm registry at the version pinned in
# package.json: @oven/bun-linux-x64 is a devDependency; the aarch64 Bun (its package refuses to
# install on x86_64) is fetched once with npm pack into .cache, at the same version, and given to
# bun as the executable to cross-compile into, so nothing is downloaded outside npm.
#   dist/isulad-bun-<arch>; for the host's architecture also dist/isulad-bun (same file),
#   dist/isula-bun -> isulad-bun, and dist-bun/isulad, dist-bun/isula (symlinks, for ISULAD_DIST).

bun_x64=node_modules/@oven/bun-linux-x64/bin/bun
[ -x "$bun_x64" ] || { echo "build: $bun_x64 is missing: run npm ci" >&2; exit 1; }
bun_version=$(node -p "require('./node_modules/@oven/bun-linux-x64/package.json').version")

# The Bun of the given architecture; only x86_64's runs here (the build machine's).
bun_of() {
  case "$1" in
    x86_64) echo "$bun_x64" ;;
    aarch64)
      local dir=.cache/bun-linux-aarch64-$bun_version
      if [ ! -x "$dir/bin/bun" ]; then
        (cd .cache && npm pack "@oven/bun-linux-aarch64@$bun_version" --silent >/dev/null)
        mkdir -p "$dir"
        tar -xzf ".cache/oven-bun-linux-aarch64-$bun_version.tgz" -C "$dir" --strip-components=1 package/bin/bun
      fi
      echo "$dir/bin/bun"
      ;;
  esac
}

for a in $arches; do
  case "$a" in
    x86_64) target=bun-linux-x64 ;;
    aarch64) target=bun-linux-arm64 ;;
  esac
  out=dist/isulad-bun-$a
  "$bun_x64" build --compile --bytecode --minify --target="$target" --compile-executable-path="$(bun_of "$a")" \
    --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
    dist/isulad-bun.cjs --outfile "$out.tmp" >/dev/null
  mv "$out.tmp" "$out"
  echo "built $out ($(stat -c %s "$out") bytes, Bun $bun_version)"
  if [ "$a" = "$host_arch" ]; then
    ln -f "$out" dist/isulad-bun
    ln -sf isulad-bun dist/isula-bun
    mkdir -p dist-bun
    ln -sf ../dist/isulad-bun dist-bun/isulad
    ln -sf ../dist/isula-bun dist-bun/isula
    echo "dist/isulad-bun = $out, dist/isula-bun -> isulad-bun; dist-bun/isulad, dist-bun/isula"
  fi
done
