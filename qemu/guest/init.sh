#!/bin/sh
# /init of the test image (busybox sh), in two stages.
#
# Stage 1 (pid 1 on the initramfs): pivot_root(2) fails with EINVAL on the initramfs root,
# and container runtimes use it, so copy everything into a tmpfs and switch_root there.
# Stage 2 (pid 1 on the tmpfs): mount the pseudo filesystems and cgroups the way a Debian 12
# host has them, load the kernel modules, run the checks, print the end marker, power off.
#
# Kernel command line: isulad_qemu.cgroup=v2 (default: cgroup2 only, as Debian 12 boots) or
# v1 (the hybrid layout: v1 controllers plus cgroup2 at /sys/fs/cgroup/unified).
# shellcheck disable=SC2013 # the words of one-line files
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

if [ ! -e /.stage2 ]; then
  /bin/busybox --install -s # links for the applets Debian's packages do not provide
  mount -t proc proc /proc
  mount -t devtmpfs devtmpfs /dev
  mkdir -p /newroot
  mount -t tmpfs -o mode=0755 tmpfs /newroot
  for e in /* /.[!.]*; do
    case "$e" in /proc | /sys | /dev | /newroot | '/.[!.]*') continue ;; esac
    cp -a "$e" /newroot/
  done
  mkdir -p /newroot/proc /newroot/sys /newroot/dev
  : >/newroot/.stage2
  umount /dev
  umount /proc
  # shellcheck disable=SC2093 # the lines after it run only if switch_root fails
  exec switch_root /newroot /init
  echo "ISULAD-QEMU-END rc=1 (switch_root failed)"
  poweroff -f
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,gid=5,mode=620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mkdir -p /run /tmp /var/lib /var/log
chmod 1777 /tmp
[ -e /var/run ] || ln -s /run /var/run

cgroup=v2
for arg in $(cat /proc/cmdline); do
  case "$arg" in isulad_qemu.cgroup=*) cgroup=${arg#*=} ;; esac
done
if [ "$cgroup" = v1 ]; then
  mount -t tmpfs -o mode=0755 cgroup /sys/fs/cgroup
  # One hierarchy per controller, cpu and cpuacct (and net_cls, net_prio) together, as systemd does.
  for c in $(awk 'NR > 1 && $4 == 1 { print $1 }' /proc/cgroups); do
    case "$c" in cpuacct | net_prio) continue ;; cpu) c=cpu,cpuacct ;; net_cls) c=net_cls,net_prio ;; esac
    mkdir -p "/sys/fs/cgroup/$c"
    mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
  done
  mkdir -p /sys/fs/cgroup/systemd /sys/fs/cgroup/unified
  mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
  mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
else
  mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
  # systemd enables every controller for the root's children; nothing else would here.
  for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
    echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
  done
fi

# busybox modprobe ignores softdep lines: crc32c (for ext4 and jbd2) goes first.
: >/run/modprobe-failed
for m in crc32c_generic overlay loop squashfs ext4 veth bridge; do
  modprobe "$m" 2>/dev/null || echo "$m" >>/run/modprobe-failed
done

hostname "qemu-$(uname -m)"
ip link set lo up 2>/dev/null || true
echo "# kernel $(uname -r), $(nproc) cpus, $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MiB, cgroup $cgroup"

ISULAD_QEMU_CGROUP=$cgroup /usr/local/bin/isulad-qemu-test
echo "ISULAD-QEMU-END rc=$?"
sync
poweroff -f
