# shellcheck shell=bash
# Sourced by the qemu/ scripts: paths, messages, architecture names, host packages, and a
# private apt state per Debian release and architecture (the host's dpkg architectures and
# apt sources are never changed). Callers set PROG and run with `set -euo pipefail`.

QEMU_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO_DIR=$(dirname "$QEMU_DIR")
CACHE=${ISULAD_QEMU_CACHE:-$REPO_DIR/.cache/qemu}
# The userland (glibc, LXC, util-linux, busybox) always comes from Debian 12; only the
# kernel changes with --kernel.
# shellcheck disable=SC2034 # used by the scripts that source this
USERLAND_RELEASE=bookworm
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# Package lists older than this are refreshed, so "Debian 12's default kernel" follows
# point releases without making every run pay for an index download.
APT_MAX_AGE_S=$((7 * 24 * 3600))

log() { echo "$PROG: $*" >&2; }
die() {
  echo "$PROG: error: $*" >&2
  exit 1
}

# The arguments every qemu/ script takes: ARCH [--kernel default|5.10] [--runtime node|bun].
# Each script defines usage(); parse_arch_kernel reads all its arguments, check_arch_kernel
# only validates (for run.sh, which has more options); both set $arch, $kernel, $runtime,
# and check_arch_kernel sets $engine (the executable put in the image) and $variant (the
# suffix of what is cached per runtime: the Bun image does not overwrite the Node one).
parse_arch_kernel() {
  arch='' kernel=default runtime=node
  while [ "$#" -gt 0 ]; do
    case "$1" in
      -h | --help) usage; exit 0 ;;
      --kernel) [ "$#" -ge 2 ] || { usage; exit 2; }; kernel=$2; shift 2 ;;
      --kernel=*) kernel=${1#--kernel=}; shift ;;
      --runtime) [ "$#" -ge 2 ] || { usage; exit 2; }; runtime=$2; shift 2 ;;
      --runtime=*) runtime=${1#--runtime=}; shift ;;
      x86_64 | aarch64) [ -z "$arch" ] || { usage; exit 2; }; arch=$1; shift ;;
      *) usage; exit 2 ;;
    esac
  done
  check_arch_kernel
}
check_arch_kernel() {
  [ -n "$arch" ] || { usage; exit 2; }
  case "$kernel" in default | 6.1 | 5.10) ;; *) usage; exit 2 ;; esac
  [ "$kernel" != 6.1 ] || kernel=default
  case "$runtime" in
    node) engine=$REPO_DIR/dist/isulad-$arch variant='' ;;
    bun) engine=$REPO_DIR/dist/isulad-bun-$arch variant=-bun ;;
    *) usage; exit 2 ;;
  esac
}

deb_arch_of() {
  case "$1" in
    x86_64) echo amd64 ;;
    aarch64) echo arm64 ;;
    *) die "unknown architecture '$1' (want x86_64 or aarch64)" ;;
  esac
}

# KERNEL as given to --kernel → the Debian release whose linux-image-ARCH metapackage names it.
kernel_release_of() {
  case "$1" in
    default | 6.1) echo bookworm ;;
    5.10) echo bullseye ;;
    *) die "unknown kernel '$1' (want default, 6.1 or 5.10)" ;;
  esac
}

# Installs the host packages that provide the given commands, if any is missing:
# `need_commands cmd:package ...`. A machine that has them all pays nothing.
need_commands() {
  local pair missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "installing host packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt may be running (the lock is waited for, not fought over).
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || die "apt-get update failed"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install ${missing[*]} failed"
}

# The Debian mirror and security mirror this host's apt already uses (taken from apt, so no
# host name is written down here): "URI SECURITY-URI" (SECURITY-URI may be empty).
debian_mirrors() {
  local targets main security
  # shellcheck disable=SC2016 # apt's own $(FIELD) syntax
  targets=$(apt-get indextargets --format '$(LABEL) $(REPO_URI)' 'Identifier: Packages' 2>/dev/null | sort -u)
  if ! grep -q '^Debian ' <<<"$targets"; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || true
    # shellcheck disable=SC2016
    targets=$(apt-get indextargets --format '$(LABEL) $(REPO_URI)' 'Identifier: Packages' 2>/dev/null | sort -u)
  fi
  main=$(awk '$1 == "Debian" { print $2; exit }' <<<"$targets")
  security=$(awk '$1 == "Debian-Security" { print $2; exit }' <<<"$targets")
  [ -n "$main" ] || die "no Debian repository in this host's apt sources"
  echo "${main%/} ${security%/}"
}

# Sets APT_GET and APT_CACHE (arrays) to apt with a private state for RELEASE and ARCH:
# its own sources, lists, cache and an empty dpkg status (so the host's installed versions
# are not taken as candidates).
apt_private() {
  local release=$1 arch=$2 dir=$CACHE/apt/$1-$2 mirrors main security opts
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/parts"
  [ -f "$dir/status" ] || : >"$dir/status"
  if [ ! -s "$dir/sources.list" ]; then
    mirrors=$(debian_mirrors)
    main=${mirrors%% *} security=${mirrors#* }
    {
      echo "deb [arch=$arch signed-by=$KEYRING] $main $release main"
      echo "deb [arch=$arch signed-by=$KEYRING] $main $release-updates main"
      [ -z "$security" ] || echo "deb [arch=$arch signed-by=$KEYRING] $security $release-security main"
    } >"$dir/sources.list.tmp"
    mv "$dir/sources.list.tmp" "$dir/sources.list"
  fi
  # parts: an empty directory, so that none of the host's sources or pins apply. The
  # sandbox user _apt could not write into the cache tree.
  opts=(-o "Dir::Etc::sourcelist=$dir/sources.list" -o "Dir::Etc::sourceparts=$dir/parts"
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o "Dir::State::status=$dir/status"
    -o Dir::Etc::preferences=/dev/null -o "Dir::Etc::preferencesparts=$dir/parts"
    -o "APT::Architecture=$arch" -o "APT::Architectures=$arch" -o APT::Sandbox::User=root)
  APT_GET=(apt-get -q "${opts[@]}")
  APT_CACHE=(apt-cache "${opts[@]}")
  APT_STATE=$dir
}

# Refreshes the private lists when missing, older than APT_MAX_AGE_S, or when forced.
apt_private_update() {
  local force=${1:-no} stamp=$APT_STATE/updated
  if [ "$force" = no ] && [ -f "$stamp" ] && [ $(($(date +%s) - $(stat -c %Y "$stamp"))) -lt "$APT_MAX_AGE_S" ]; then
    return 0
  fi
  log "apt-get update ($(basename "$APT_STATE"))"
  # A missing optional index (a security suite lacking an architecture) is only a warning
  # as long as the main suite came.
  "${APT_GET[@]}" update -qq >&2 || true
  ls "$APT_STATE"/lists/*_dists_*_main_binary-*_Packages* >/dev/null 2>&1 \
    || die "apt-get update of $(basename "$APT_STATE") fetched no package index"
  touch "$stamp"
}

# "PACKAGE FILE" for each PACKAGE: the file `apt-get download` makes of its candidate (an
# epoch's colon becomes %3a). One apt-cache call: each one parses the whole index.
deb_filenames() {
  "${APT_CACHE[@]}" show --no-all-versions "$@" 2>/dev/null | awk -F': ' '
    $1 == "Package" { p = $2 } $1 == "Version" { v = $2 } $1 == "Architecture" { a = $2 }
    $0 == "" && p != "" { sub(/:/, "%3a", v); print p, p "_" v "_" a ".deb"; p = "" }
    END { if (p != "") { sub(/:/, "%3a", v); print p, p "_" v "_" a ".deb" } }'
}

# Downloads PACKAGE... into DIR (kept across runs) and prints each .deb path, in order.
# Packages whose candidate is already there are not fetched again; if a download fails
# (lists older than the mirror), the lists are refreshed once. The resolved names are kept
# until the lists change, so a warm run does not parse the index at all.
apt_fetch() {
  local dir=$1 attempt pkg file names missing memo
  shift
  mkdir -p "$dir"
  memo=$APT_STATE/resolved-$(printf '%s\n' "$@" | sha256sum | cut -c1-16)
  for attempt in 1 2 3; do
    if [ "$attempt" = 1 ] && [ -s "$memo" ] && [ "$memo" -nt "$APT_STATE/updated" ]; then
      names=$(cat "$memo")
    else
      names=$(deb_filenames "$@")
    fi
    missing=()
    for pkg in "$@"; do
      file=$(awk -v p="$pkg" '$1 == p { print $2; exit }' <<<"$names")
      [ -n "$file" ] && [ -s "$dir/$file" ] || missing+=("$pkg")
    done
    [ "${#missing[@]}" -gt 0 ] || break
    [ "$attempt" -lt 3 ] || die "cannot download ${missing[*]} ($(basename "$APT_STATE"))"
    if [ -n "$names" ] && (cd "$dir" && "${APT_GET[@]}" download -qq "${missing[@]}" >&2); then continue; fi
    [ "$attempt" = 1 ] || die "cannot download ${missing[*]} ($(basename "$APT_STATE"))"
    apt_private_update force
  done
  printf '%s\n' "$names" >"$memo"
  for pkg in "$@"; do echo "$dir/$(awk -v p="$pkg" '$1 == p { print $2; exit }' <<<"$names")"; done
}
