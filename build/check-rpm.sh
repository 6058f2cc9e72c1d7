#!/usr/bin/env bash
# Checks the RPMs of build/rpm.sh as a user of the yum repository would meet them: Debian's
# dnf installs isulad from dist/rpm into an empty scratch root, the files land in place,
# `rpm -V` finds nothing wrong, and the installed executable runs. The aarch64 package is
# resolved from the same repository. lxc and the other dependencies are weak (Recommends),
# and no repository reachable here has them as RPMs, so dnf installs isulad alone.
# Usage: build/check-rpm.sh [ROOT]   (default: a temporary directory, removed afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then
  root=$1
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
trap 'rm -rf "$home" ${cleanup_root:+"$root"}' EXIT
echo '%_dbpath /var/lib/rpm' >"$home/.rpmmacros"
dnf_local() {
  HOME=$home dnf -q -y --installroot="$root" --releasever=22.03 --setopt=reposdir=/nonexistent --setopt=cachedir="$root/var/cache/dnf" \
    --setopt=install_weak_deps=True --repofrompath="local,file://$repo" --repo=local --nogpgcheck "$@"
}
echo "repository: $(dnf_local repoquery --qf '%{name}-%{version}-%{release}.%{arch}' isulad | sort | tr '\n' ' ')"
echo "recommends: $(dnf_local repoquery --recommends isulad | sort -u | tr '\n' ' ')"
dnf_local install isulad
for f in usr/bin/isulad usr/bin/isula usr/lib/systemd/system/isulad.service etc/isulad/daemon.json var/lib/isulad; do
  [ -e "$root/$f" ] || { echo "check-rpm: $f missing in the installed tree" >&2; exit 1; }
done
HOME=$home rpm --root "$root" -V isulad
"$root/usr/bin/isula" --version
echo "rpm: dnf installed isulad into $root, files in place, rpm -V clean: ok"
