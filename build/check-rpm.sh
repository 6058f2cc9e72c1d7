#!/usr/bin/env bash
# Checks the RPMs of build/rpm.sh as a user of the yum repository would meet them: Debian's
# dnf installs isulad-ts from dist/rpm into a scratch root, the files land in place, the
# package made the socket's group, `rpm -V` finds nothing wrong, and the installed daemon
# starts with the installed daemon.json and answers the installed client. lxc and the other
# dependencies are weak (Recommends), and no repository reachable here has them as RPMs, so
# dnf installs isulad-ts alone.
# Usage: build/check-rpm.sh [ROOT]   (default: a temporary directory, removed afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then
  root=$(realpath -m "$1")
  mkdir -p "$root"
else
  root=$(mktemp -d /tmp/isulad-rpmroot.XXXXXX)
  cleanup_root=1
fi
repo=$PWD/dist/rpm
[ -f "$repo/repodata/repomd.xml" ] || { echo "check-rpm: no repository in $repo: run npm run rpm first" >&2; exit 1; }
# Debian's rpm keeps its database in ~/.rpmdb; a private HOME with an .rpmmacros makes dnf
# and rpm use /var/lib/rpm inside the root, as on openEuler, without touching the host.
home=$(mktemp -d /tmp/isulad-rpmhome.XXXXXX)
run=$(mktemp -d /tmp/isulad-rpmrun.XXXXXX)
daemon_pid=
cleanup() {
  [ -z "$daemon_pid" ] || { kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null; } || true
  rm -rf "$home" "$run" ${cleanup_root:+"$root"}
}
trap cleanup EXIT
echo '%_dbpath /var/lib/rpm' >"$home/.rpmmacros"
dnf_local() {
  HOME=$home dnf -q -y --installroot="$root" --releasever=22.03 --setopt=reposdir=/nonexistent --setopt=cachedir="$root/var/cache/dnf" \
    --setopt=install_weak_deps=True --repofrompath="local,file://$repo" --repo=local --nogpgcheck "$@"
}

# What every openEuler system has before this package: the user and group files with root,
# and shadow's groupadd (here Debian's, with the libraries it loads), which the package's
# %pre runs to make the socket's group.
mkdir -p "$root/etc" "$root/usr/sbin"
[ -f "$root/etc/group" ] || { echo 'root:x:0:' >"$root/etc/group"; echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"; }
touch "$root/etc/gshadow" "$root/etc/shadow"
cp /usr/sbin/groupadd "$root/usr/sbin/"
for lib in $(ldd /usr/sbin/groupadd | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

echo "repository: $(dnf_local repoquery --qf '%{name}-%{version}-%{release}.%{arch}' isulad-ts | sort | tr '\n' ' ')"
echo "conflicts:  $(dnf_local repoquery --conflicts isulad-ts | sort -u | tr '\n' ' ')"
echo "obsoletes:  $(dnf_local repoquery --obsoletes isulad-ts | sort -u | tr '\n' ' ')"
echo "recommends: $(dnf_local repoquery --recommends isulad-ts | sort -u | tr '\n' ' ')"
dnf_local install isulad-ts
for f in usr/bin/isulad usr/bin/isula usr/lib/systemd/system/isulad.service etc/isulad/daemon.json \
  etc/default/isulad/hooks/default.json usr/share/bash-completion/completions/isula usr/lib/sysusers.d/isulad-ts.conf var/lib/isulad; do
  [ -e "$root/$f" ] || { echo "check-rpm: $f missing in the installed tree" >&2; exit 1; }
done
HOME=$home rpm --root "$root" -V isulad-ts
gid=$(awk -F: '$1 == "isula" {print $3}' "$root/etc/group")
[ -n "$gid" ] || { echo "check-rpm: the package did not create the group isula" >&2; exit 1; }
echo "group isula: gid $gid"
"$root/usr/bin/isula" --version
bash -c "source '$root/usr/share/bash-completion/completions/isula' && complete -p isula" >/dev/null ||
  { echo "check-rpm: the bash completion does not load" >&2; exit 1; }

# The installed daemon with the installed daemon.json (group "isula", iSulad's hooks file),
# only its directories and socket moved into a temporary folder. It runs in a mount
# namespace of its own that sees the root's /etc/group, where the package made the group,
# and the root's /etc/default, where it put the hooks file the daemon checks at start.
sock=$run/isulad.sock
unshare -m sh -c 'mount --bind "$1/etc/group" /etc/group && mount --bind "$1/etc/default" /etc/default && shift && exec "$@"' sh "$root" \
  "$root/usr/bin/isulad" --config-file "$root/etc/isulad/daemon.json" -g "$run/root" -S "$run/state" -p "$run/isulad.pid" \
  -H "unix://$sock" >"$run/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 150); do
  [ -S "$sock" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || { echo "check-rpm: the installed daemon did not start:" >&2; cat "$run/daemon.log" >&2; exit 1; }
  sleep 0.1
done
[ -S "$sock" ] || { echo "check-rpm: the installed daemon did not open $sock" >&2; cat "$run/daemon.log" >&2; exit 1; }
[ "$(stat -c %g "$sock")" = "$gid" ] || { echo "check-rpm: the socket's group is not isula" >&2; exit 1; }
"$root/usr/bin/isula" -H "unix://$sock" version | grep -q '^Server:' || { echo "check-rpm: isula version got no server" >&2; exit 1; }
"$root/usr/bin/isula" -H "unix://$sock" info | grep '^Default Runtime: lcr$' >/dev/null || { echo "check-rpm: isula info failed" >&2; exit 1; }
kill -TERM "$daemon_pid"
wait "$daemon_pid" || { echo "check-rpm: the installed daemon did not stop cleanly" >&2; cat "$run/daemon.log" >&2; exit 1; }
daemon_pid=
echo "rpm: dnf installed isulad-ts into $root, files in place, group isula made, rpm -V clean, the installed daemon served isula version and info: ok"
