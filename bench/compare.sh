#!/usr/bin/env bash
# isula side by side with Docker, Podman and raw LXC (ptcr style), in one run:
#   bench/compare.sh [--engines isula,isula-bun,lxc,docker,docker-deb,podman] [--serial 10] [--parallel 100]
#                    [--rounds 3] [--soak 600] [--roundtrip 30] [--aarch64 10] [--install]
#                    [--no-api] [--no-profile] [--results DIR] [--md docs/benchmarks.md] [--svg docs/compare.svg]
#   bench/compare.sh --pull [--engines isula,docker,podman] [--rounds 3] [--serial 10] [--parallel 100] [--install]
#   bench/compare.sh --cri [--engines isula,containerd] [--rounds 3] [--serial 20] [--parallel 20] [--install]
# Every available engine runs back to back, ABAB order (round 1 in the given order, round 2
# reversed, ...), each run being one `node bench/lifecycle.mjs --engines E`; then
# bench/report.mjs writes the medians of the rounds, their ranges and the isula/peer ratios
# into a generated section of docs/benchmarks.md and a chart into docs/compare.svg.
# - --install: apt-get install the peers that are missing (docker.io, podman, lxc); without
#   it a missing engine is skipped with a message.
# - Docker: a running daemon (DOCKER_HOST or /var/run/docker.sock) is used as it is;
#   otherwise dockerd is started here on a private data root, exec root, pidfile and socket,
#   without iptables or bridge (containerd as its child), and stopped and deleted at the end.
#   Two clients against that one daemon, each an engine of the rounds: docker = the first
#   `docker` on PATH (the one a user runs; Docker 28's static client on this machine kind,
#   which negotiates the API down to dockerd's), docker-deb = Debian's /usr/bin/docker
#   (docker.io, 20.10; in the default list when it exists and is not the same file).
# - Podman runs on a private --root/--runroot per run (bench/lifecycle.mjs deletes it).
# - isula-bun: the Bun executables (dist-bun/, `npm run build -- --runtime bun`), measured
#   as isula is and compared with it (isula-bun / isula) in the report; not in the default list.
# - isula-api (the daemon's own share: the same daemon over gRPC from one process) runs
#   next to isula unless --no-api; a profiling run of the daemon follows unless --no-profile.
# - With isula and/or isula-bun, after the rounds (issue 15; 0 turns each off):
#   --soak N: N `isula run --rm` cycles per build, idle RSS and RSS after (bench/soak.mjs);
#   --roundtrip N: `isula version` N times against `node -e 0` (bench/client-roundtrip.mjs);
#   --aarch64 N: the aarch64 executables (dist/isulad-aarch64, dist/isulad-bun-aarch64, from
#   `--arch all`) under qemu-aarch64-static, N calls each (bench/aarch64.mjs); skipped with a
#   message when they or qemu-user are missing.
# - --results DIR keeps the per-run JSON files (default: a temporary directory, deleted).
# - --pull (issue 16): instead of the above, bench/pull.mjs with the same peers: cold pulls of
#   a ~100 MB image from a local registry by isula, Docker, Podman and skopeo, then create and
#   start from it (and isula's --external-rootfs create as the reference); its own section of
#   docs/benchmarks.md. Engines default to isula,docker,podman (skopeo joins when installed).
# - --cri (issue 17): instead of the above, bench/cri.mjs: CRI pod and container lifecycles
#   (20 serial, 20 parallel unless given) over one grpc-js client, isula's daemon against
#   Debian's containerd 1.6 with its CRI plugin (private config, root, state and sockets, runc),
#   both on one CNI bridge conflist from /usr/lib/cni, images from one local registry; daemon
#   RSS with one pod; its own section of docs/benchmarks.md. --install adds containerd, runc
#   and containernetworking-plugins.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
prog=bench/compare.sh

usage() {
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit "${1:-2}"
}

engines=isula,lxc,docker engines_given=no pull=no cri=no serial=10 parallel=100 counts_given=no rounds=3 install=no api=yes profile=yes
soak=600 roundtrip=30 aarch64=10
# The two Docker clients: the first `docker` on PATH, and Debian's when it is another file.
docker_clients() {
  docker_cli=$(command -v docker 2>/dev/null || true) docker_deb_cli=''
  if [ -x /usr/bin/docker ] && ! [ /usr/bin/docker -ef "$docker_cli" ]; then docker_deb_cli=/usr/bin/docker; fi
}
docker_clients
engines+=${docker_deb_cli:+,docker-deb},podman
results='' md=$repo/docs/benchmarks.md svg=$repo/docs/compare.svg
while [ $# -gt 0 ]; do
  case "$1" in
    --engines) engines=${2:-} engines_given=yes; shift 2 || usage ;;
    --serial) serial=${2:-} counts_given=yes; shift 2 || usage ;;
    --parallel) parallel=${2:-} counts_given=yes; shift 2 || usage ;;
    --rounds) rounds=${2:-}; shift 2 || usage ;;
    --soak) soak=${2:-}; shift 2 || usage ;;
    --roundtrip) roundtrip=${2:-}; shift 2 || usage ;;
    --aarch64) aarch64=${2:-}; shift 2 || usage ;;
    --results) results=${2:-}; shift 2 || usage ;;
    --md) md=${2:-}; shift 2 || usage ;;
    --svg) svg=${2:-}; shift 2 || usage ;;
    --install) install=yes; shift ;;
    --pull) pull=yes; shift ;;
    --cri) cri=yes; shift ;;
    --no-api) api=no; shift ;;
    --no-profile) profile=no; shift ;;
    -h | --help) usage 0 ;;
    *) echo "$prog: unknown argument: $1" >&2; usage ;;
  esac
done
if [ "$pull" = yes ] && [ "$engines_given" = no ]; then engines=isula,docker,podman; fi
[ "$pull" = no ] || [ "$cri" = no ] || { echo "$prog: --pull and --cri are separate runs" >&2; usage; }
if [ "$cri" = yes ]; then
  [ "$engines_given" = yes ] || engines=isula,containerd
  # The issue's counts, unless given: 20 pods one after the other, 20 at once.
  [ "$counts_given" = yes ] || serial=20 parallel=20
fi
for n in "$serial" "$parallel" "$rounds"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "$prog: counts must be positive integers" >&2; usage; }
done
for n in "$soak" "$roundtrip" "$aarch64"; do
  [[ "$n" =~ ^(0|[1-9][0-9]*)$ ]] || { echo "$prog: --soak, --roundtrip and --aarch64 take a count (0: off)" >&2; usage; }
done
[ -n "$md" ] && [ -n "$svg" ] || usage
IFS=, read -r -a wanted <<<"$engines"
[ "${#wanted[@]}" -gt 0 ] || usage
for e in "${wanted[@]}"; do
  if [ "$cri" = yes ]; then
    case "$e" in isula | containerd) continue ;; *) echo "$prog: --cri: unknown engine: $e (want isula, containerd)" >&2; usage ;; esac
  fi
  [ "$pull" = no ] || case "$e" in isula | docker | podman) continue ;; *) echo "$prog: --pull: unknown engine: $e (want isula, docker, podman)" >&2; usage ;; esac
  case "$e" in isula | isula-bun | lxc | docker | docker-deb | podman) ;; *) echo "$prog: unknown engine: $e (want isula, isula-bun, lxc, docker, docker-deb, podman)" >&2; usage ;; esac
done
[ "$(id -u)" -eq 0 ] || { echo "$prog: needs root (containers, cgroups, dockerd)" >&2; exit 1; }

say() { echo "[$prog $(date -u +%H:%M:%S)] $*" >&2; }
t_start=$(date +%s)

# --- peers ------------------------------------------------------------------------------------
if [ "$install" = yes ]; then
  pkgs=()
  for e in "${wanted[@]}"; do
    case "$e" in
      docker | docker-deb) command -v dockerd >/dev/null && [ -x /usr/bin/docker ] || pkgs+=(docker.io) ;;
      podman) command -v podman >/dev/null || pkgs+=(podman) ;;
      lxc) command -v lxc-start >/dev/null || pkgs+=(lxc) ;;
      containerd) command -v containerd >/dev/null && command -v runc >/dev/null || pkgs+=(containerd runc) ;;
    esac
  done
  # CRI pods on a CNI bridge (both engines) and the pause image's build.
  if [ "$cri" = yes ]; then
    [ -x /usr/lib/cni/bridge ] || pkgs+=(containernetworking-plugins)
    command -v ip >/dev/null || pkgs+=(iproute2)
    command -v gcc >/dev/null || pkgs+=(gcc libc6-dev)
  fi
  if [ "${#pkgs[@]}" -gt 0 ]; then
    say "installing ${pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
  fi
fi

work=$(mktemp -d /tmp/isulad-bench-compare.XXXXXX)
keep_results=yes
if [ -z "$results" ]; then results=$work/results keep_results=no; fi
mkdir -p "$results"
results=$(cd "$results" && pwd)

docker_host=${DOCKER_HOST:-unix:///var/run/docker.sock}
docker_clients # again: --install may have brought them
docker_up=''
dockerd_pid='' docker_dir='' docker_cgroup_existed=() docker_leftovers=()

cleanup() {
  local status=$?
  set +e
  if [ -n "$dockerd_pid" ]; then
    say "stopping the private dockerd ($dockerd_pid)"
    kill -TERM "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$dockerd_pid" 2>/dev/null || true
    # containerd ran as dockerd's child; it ends with it. Anything still mounted goes.
    awk -v d="$docker_dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf "$docker_dir"
    # What dockerd writes outside its data root whatever the flags say, if it was not there.
    for p in "${docker_leftovers[@]}"; do rm -rf "$p"; done
    # The parent cgroups dockerd made, if they were not there before (and are empty).
    for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
      [ -d "${h}docker" ] || continue
      printf '%s\n' "${docker_cgroup_existed[@]}" | grep -qx "${h}docker" && continue
      find "${h}docker" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
  fi
  [ "$keep_results" = yes ] || rm -rf "$results"
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_dockerd() {
  docker_dir=$work/docker
  mkdir -p "$docker_dir"
  echo '{}' >"$docker_dir/daemon.json"
  for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do [ -d "${h}docker" ] && docker_cgroup_existed+=("${h}docker"); done
  for p in /etc/docker/key.json /run/docker /run/containerd; do [ -e "$p" ] || docker_leftovers+=("$p"); done
  docker_host=unix://$docker_dir/docker.sock
  dockerd --config-file "$docker_dir/daemon.json" --data-root "$docker_dir/data" --exec-root "$docker_dir/exec" \
    -H "$docker_host" --pidfile "$docker_dir/dockerd.pid" --iptables=false --ip-masq=false --ip-forward=false \
    --bridge=none --insecure-registry 127.0.0.0/8 --log-level warn >"$docker_dir/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 150); do
    "$1" -H "$docker_host" version >/dev/null 2>&1 && return 0
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.2
  done
  say "dockerd did not come up: $(tail -n 3 "$docker_dir/dockerd.log")"
  return 1
}

available=()
for e in "${wanted[@]}"; do
  case "$e" in
    containerd)
      if command -v containerd >/dev/null && command -v runc >/dev/null; then available+=(containerd); else say "skipping containerd: containerd or runc missing (apt-get install containerd runc, or --install)"; fi ;;
    isula)
      if [ -x "$repo/dist/isula" ]; then available+=(isula); else say "skipping isula: dist/isula missing (npm run build)"; fi ;;
    isula-bun)
      if [ -x "$repo/dist-bun/isula" ]; then available+=(isula-bun); else say "skipping isula-bun: dist-bun/isula missing (npm run build -- --runtime bun)"; fi ;;
    lxc)
      if command -v lxc-start >/dev/null; then available+=(lxc); else say "skipping lxc: lxc-start missing (apt-get install lxc, or --install)"; fi ;;
    docker | docker-deb)
      if [ "$e" = docker ]; then cli=$docker_cli; else cli=$docker_deb_cli; fi
      if [ -z "$cli" ]; then
        say "skipping $e: no such client (docker: apt-get install docker.io, or --install; docker-deb: /usr/bin/docker, another file than the first docker on PATH)"
        continue
      elif [ -n "$docker_up" ]; then
        :
      elif "$cli" -H "$docker_host" version >/dev/null 2>&1; then
        say "docker: using the running daemon at $docker_host"
      elif ! command -v dockerd >/dev/null; then
        say "skipping $e: no daemon at $docker_host and no dockerd (apt-get install docker.io, or --install)"
        continue
      elif start_dockerd "$cli"; then
        say "docker: started a private dockerd (pid $dockerd_pid) at $docker_host"
      else
        say "skipping $e: could not start dockerd"
        continue
      fi
      docker_up=yes
      available+=("$e")
      say "$e: $cli ($("$cli" --version))" ;;
    podman)
      if command -v podman >/dev/null; then available+=(podman); else say "skipping podman: podman missing (apt-get install podman, or --install)"; fi ;;
  esac
done
[ "${#available[@]}" -gt 0 ] || { say "no engine available"; exit 1; }

# isula, isula-bun: every round measures the same executable, even if dist/ is rebuilt
# meanwhile. snapshot SRC DEST copies SRC/isulad (a symlink is followed) to DEST/isulad.
# (bench/daemon.mjs evicts the copy from the page cache before every daemon start.)
snapshot() {
  mkdir -p "$2"
  cp "$1/isulad" "$2/isulad"
  ln -s isulad "$2/isula"
}
if printf '%s\n' "${available[@]}" | grep -qx isula; then
  snapshot "$repo/dist" "$work/dist"
  export ISULAD_BENCH_DIST=$work/dist
fi
if printf '%s\n' "${available[@]}" | grep -qx isula-bun; then
  snapshot "$repo/dist-bun" "$work/dist-bun"
  export ISULAD_BENCH_DIST_BUN=$work/dist-bun
fi
# --- issue 16: pull and create from an image (bench/pull.mjs), then done ----------------------
if [ "$pull" = yes ]; then
  # The registry and image helpers of the tests, compiled.
  [ -f "$repo/out/test/helpers/registry.js" ] || (cd "$repo" && npx tsc -p tsconfig.json)
  pull_engines=$(printf '%s\n' "${available[@]}" | grep -xE 'isula|docker|podman' | paste -sd, -)
  command -v skopeo >/dev/null && pull_engines+=,skopeo
  status=0
  node "$here/pull.mjs" --engines "${pull_engines#,}" --rounds "$rounds" --serial "$serial" --parallel "$parallel" \
    --docker-host "$docker_host" ${docker_cli:+--docker-cli "$docker_cli"} --results "$results" --md "$md" \
    --command "bench/compare.sh --pull --engines $engines --rounds $rounds --serial $serial --parallel $parallel" || status=$?
  say "done in $(($(date +%s) - t_start))s"
  exit "$status"
fi

# --- issue 17: CRI lifecycles against containerd (bench/cri.mjs), then done --------------------
if [ "$cri" = yes ]; then
  # The CRI client, its types and the registry and image helpers of the tests, compiled.
  [ -f "$repo/out/test/helpers/cri.js" ] || (cd "$repo" && npx tsc -p tsconfig.json)
  status=0
  node "$here/cri.mjs" --engines "$(printf '%s\n' "${available[@]}" | paste -sd, -)" --rounds "$rounds" --serial "$serial" --parallel "$parallel" \
    --results "$results" --md "$md" --command "bench/compare.sh --cri --engines $engines --rounds $rounds --serial $serial --parallel $parallel" || status=$?
  say "done in $(($(date +%s) - t_start))s"
  exit "$status"
fi

# The builds the issue-15 runs measure: node for isula, bun for isula-bun.
builds=()
printf '%s\n' "${available[@]}" | grep -qx isula && builds+=(node)
printf '%s\n' "${available[@]}" | grep -qx isula-bun && builds+=(bun)
case "${builds[*]}" in "node bun") runtime=both ;; node) runtime=node ;; bun) runtime=bun ;; *) runtime='' ;; esac
a64_node='' a64_bun=''
if [ -n "$runtime" ] && [ "$aarch64" -gt 0 ]; then
  if ! command -v qemu-aarch64-static >/dev/null; then
    say "skipping aarch64: qemu-aarch64-static missing (apt-get install --no-install-recommends qemu-user-static)"
  else
    mkdir -p "$work/a64"
    for b in "${builds[@]}"; do
      case "$b" in node) f=isulad-aarch64 flag='' ;; *) f=isulad-bun-aarch64 flag=' --runtime bun' ;; esac
      if [ ! -f "$repo/dist/$f" ]; then
        say "skipping the $b aarch64 executable: dist/$f missing (npm run build --$flag --arch all)"
        continue
      fi
      cp "$repo/dist/$f" "$work/a64/$f"
      if [ "$b" = node ]; then a64_node=$work/a64/$f; else a64_bun=$work/a64/$f; fi
    done
  fi
fi

# isula-api needs the TypeScript build in out/.
runs=()
for e in "${available[@]}"; do
  runs+=("$e")
  if [ "$e" = isula ] && [ "$api" = yes ]; then
    if [ -f "$repo/out/src/client/transport.js" ] || (cd "$repo" && npx tsc -p tsconfig.json >/dev/null 2>&1); then
      runs+=(isula-api)
    else
      say "skipping isula-api: npx tsc -p tsconfig.json failed"
    fi
  fi
done

# --- rounds, ABAB -----------------------------------------------------------------------------
lifecycle() {
  node "$here/lifecycle.mjs" --serial "$serial" --parallel "$parallel" --docker-host "$docker_host" \
    ${docker_cli:+--docker-cli "$docker_cli"} ${docker_deb_cli:+--docker-deb-cli "$docker_deb_cli"} "$@"
}
failures=0
for r in $(seq 1 "$rounds"); do
  order=("${runs[@]}")
  if [ $((r % 2)) -eq 0 ]; then
    order=()
    for ((i = ${#runs[@]} - 1; i >= 0; i--)); do order+=("${runs[i]}"); done
  fi
  for e in "${order[@]}"; do
    say "round $r/$rounds: $e (serial $serial, parallel $parallel)"
    if ! lifecycle --engines "$e" --json "$results/round$r-$e.json" >"$results/round$r-$e.txt"; then
      failures=$((failures + 1))
      say "round $r: $e failed (see above)"
    fi
  done
done

if [ "$profile" = yes ] && printf '%s\n' "${runs[@]}" | grep -qx isula-api; then
  say "profiling run: isula-api with the daemon under node --cpu-prof"
  lifecycle --engines isula-api --profile "$results/profile" --json "$results/profile.json" >/dev/null || say "profiling run failed"
fi

# --- issue 15: soak, client round trip, aarch64 under qemu-user --------------------------------
if [ -n "$runtime" ] && [ "$soak" -gt 0 ]; then
  say "soak: $soak cycles of isula run --rm ($runtime)"
  node "$here/soak.mjs" --cycles "$soak" --runtime "$runtime" --json "$results/soak.json" >"$results/soak.txt" ||
    { failures=$((failures + 1)); say "soak failed (see above)"; }
fi
if [ -n "$runtime" ] && [ "$roundtrip" -gt 0 ]; then
  say "client round trip: $roundtrip calls ($runtime)"
  node "$here/client-roundtrip.mjs" "$roundtrip" --runtime "$runtime" --json "$results/roundtrip.json" >"$results/roundtrip.txt" ||
    { failures=$((failures + 1)); say "client round trip failed (see above)"; }
fi
if [ -n "$a64_node$a64_bun" ]; then
  say "aarch64 under qemu-user: $aarch64 calls"
  node "$here/aarch64.mjs" "$aarch64" --node "$a64_node" --bun "$a64_bun" --json "$results/aarch64.json" >"$results/aarch64.txt" ||
    { failures=$((failures + 1)); say "aarch64 run failed (see above)"; }
fi

elapsed=$(($(date +%s) - t_start))
say "measurements done in ${elapsed}s; writing $md and $svg"
node "$here/report.mjs" --results "$results" --md "$md" --svg "$svg" --wall "$elapsed" \
  --command "bench/compare.sh --engines $engines --serial $serial --parallel $parallel --rounds $rounds --soak $soak --roundtrip $roundtrip --aarch64 $aarch64"
say "done in $(($(date +%s) - t_start))s; $failures failed runs"
[ "$failures" -eq 0 ]
