#!/usr/bin/env bash
# Checks the RPMs of build/rpm.sh: the local repository answers dnf (both architectures,
# with openEuler's dependency names), and the x86_64 package installs into a scratch root
# with its files in place and `rpm -V` clean. The install uses rpm --nodeps: lxc and the
# other dependencies are openEuler packages that no repository reachable here holds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(mktemp -d /tmp/isulad-rpmroot.XXXXXX)
trap 'rm -rf "$root"' EXIT
dnf_q() {
  dnf -q --installroot="$root" --releasever=22.03 --setopt=reposdir=/nonexistent --setopt=cachedir="$root/.dnf-cache" \
    --repofrompath="local,file://$PWD/dist/rpm" --repo=local --nogpgcheck "$@"
}
dnf_q repoquery --qf '%{name}-%{version}-%{release}.%{arch}' isulad | sort
dnf_q repoquery --requires isulad | sort -u
rpm -i --root "$root" --nodeps --define '_dbpath /var/lib/rpm' dist/rpm/x86_64/isulad-*.x86_64.rpm
for f in usr/bin/isulad usr/bin/isula usr/lib/systemd/system/isulad.service etc/isulad/daemon.json var/lib/isulad; do
  [ -e "$root/$f" ] || { echo "check-rpm: $f missing in the installed tree" >&2; exit 1; }
done
rpm --root "$root" --define '_dbpath /var/lib/rpm' -V --nodeps isulad
"$root/usr/bin/isula" --version
echo "rpm: installed into a scratch root, files in place, rpm -V clean: ok"
