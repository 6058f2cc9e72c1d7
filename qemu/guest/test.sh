#!/bin/sh
# shellcheck disable=SC2016,SC2009 # container commands expand in the container; busybox has no pgrep -a
# The checks run inside the test VM (busybox sh), as /usr/local/bin/isulad-qemu-test.
# One line per check, `ok - NAME` or `not ok - NAME: REASON`; comment lines `# ...` carry
# timings; the last line is `qemu-ARCH: N passed, M failed`. Exit status 0 if all passed.
#
# The engine runs with its default paths (the root is a tmpfs). Sample images, built on the
# host for this architecture by rootfs-samples/: /srv/rootfs (busybox), /srv/sysroot
# (busybox init), /srv/emb (embedded image whose layer 0 is /dev/isulad-qemu-rootfs).
ARCH=$(uname -m)
CGROUP=${ISULAD_QEMU_CGROUP:-v2}
LOGDIR=/var/log/isulad-qemu
PASS=0
FAIL=0
mkdir -p "$LOGDIR"

ok() {
  PASS=$((PASS + 1))
  echo "ok - $1"
}
not_ok() {
  FAIL=$((FAIL + 1))
  echo "not ok - $1: $(echo "$2" | tr '\n' ' ' | cut -c1-300)"
}
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# run SECONDS CMD...: output (stdout and stderr) in OUT, exit status in RC. Every command
# gets a time limit: a hung one must fail its check, not the whole run.
run() {
  secs=$1
  shift
  OUT=$(timeout "$secs" "$@" 2>&1)
  RC=$?
}
# isula with the usual limit; its stdout only in OUT, stderr appended to $LOGDIR/isula.err.
isula_() {
  OUT=$(timeout 120 isula "$@" 2>>"$LOGDIR/isula.err")
  RC=$?
}
# until_ok SECONDS CMD...: retries CMD every half second until it succeeds.
until_ok() {
  deadline=$(($(now_ms) + $1 * 1000))
  shift
  while :; do
    "$@" && return 0
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# The directory of engine cgroup REL for CONTROLLER (cgroup2: one tree).
cg_dir() {
  if [ "$CGROUP" = v2 ]; then echo "/sys/fs/cgroup/$1"; else echo "/sys/fs/cgroup/$2/$1"; fi
}
is_frozen() {
  if [ "$CGROUP" = v2 ]; then
    grep -qx 'frozen 1' "$(cg_dir "$1" freezer)/cgroup.events" 2>/dev/null
  else
    [ "$(cat "$(cg_dir "$1" freezer)/freezer.state" 2>/dev/null)" = FROZEN ]
  fi
}
is_thawed() {
  if [ "$CGROUP" = v2 ]; then
    grep -qx 'frozen 0' "$(cg_dir "$1" freezer)/cgroup.events" 2>/dev/null
  else
    [ "$(cat "$(cg_dir "$1" freezer)/freezer.state" 2>/dev/null)" = THAWED ]
  fi
}
freeze_from_outside() {
  if [ "$CGROUP" = v2 ]; then echo 1 >"$(cg_dir "$1" freezer)/cgroup.freeze"; else echo FROZEN >"$(cg_dir "$1" freezer)/freezer.state"; fi
}
# No directory of cgroup REL in any hierarchy.
cgroup_gone() {
  if [ "$CGROUP" = v2 ]; then [ ! -d "/sys/fs/cgroup/$1" ]; else ! ls -d /sys/fs/cgroup/*/"$1" >/dev/null 2>&1; fi
}
alive() { [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
status_of() {
  isula_ inspect -f '{{.State.Status}}' "$1"
  echo "$OUT"
}
has_sleep_and_init() { isula_ exec sys ps && echo "$OUT" | grep -q 'sleep 100000' && echo "$OUT" | grep -Eq '^ *1 +[^ ]+ +init'; }

# ---------------------------------------------------------------- kernel
missing=$(cat /run/modprobe-failed 2>/dev/null)
for fs in overlay squashfs ext4; do grep -qw "$fs" /proc/filesystems || missing="$missing $fs"; done
for m in veth bridge loop; do [ -d "/sys/module/$m" ] || missing="$missing $m"; done
if [ -z "$missing" ]; then ok "kernel modules overlay loop squashfs ext4 veth bridge"; else not_ok "kernel modules" "missing:$missing"; fi
if [ "$CGROUP" = v2 ]; then
  if grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts && grep -qw memory /sys/fs/cgroup/cgroup.subtree_control; then
    ok "cgroup v2 mounted with $(cat /sys/fs/cgroup/cgroup.subtree_control)"
  else not_ok "cgroup v2" "$(grep cgroup /proc/mounts)"; fi
else
  if grep -q ' /sys/fs/cgroup/freezer cgroup ' /proc/mounts; then ok "cgroup v1 hierarchies mounted"; else not_ok "cgroup v1" "$(grep cgroup /proc/mounts)"; fi
fi

# ---------------------------------------------------------------- daemon
t0=$(now_ms)
isulad >"$LOGDIR/isulad.out" 2>&1 &
if until_ok 180 test -S /var/run/isulad.sock; then
  ok "isulad starts ($(($(now_ms) - t0)) ms to its socket)"
else
  not_ok "isulad starts" "no socket after 180 s: $(tail -n 5 "$LOGDIR/isulad.out")"
  echo "qemu-$ARCH: $PASS passed, $((FAIL + 1)) failed"
  exit 1
fi

t0=$(now_ms)
isula_ version
dt=$(($(now_ms) - t0))
echo "# isula version took $dt ms"
VERSION_MS=$dt
# Node's architecture names (x64, arm64), as the engine prints them.
case "$ARCH" in x86_64) osarch=amd64 ;; aarch64) osarch=arm64 ;; *) osarch=$ARCH ;; esac
if [ "$RC" = 0 ] && [ "$(echo "$OUT" | grep -c "OS/Arch: *linux/$osarch\$")" = 2 ]; then ok "isula version ($dt ms)"; else not_ok "isula version" "rc=$RC $OUT"; fi

isula_ info
# v1 here is the hybrid layout (v1 controllers and cgroup2 at /sys/fs/cgroup/unified).
if [ "$CGROUP" = v2 ]; then layout=v2; else layout=hybrid; fi
if [ "$RC" = 0 ] && echo "$OUT" | grep -q "^Cgroup Version: $layout\$" && echo "$OUT" | grep -q '^Garbage Collector: 0 leftover'; then
  ok "isula info (cgroup $layout)"
else
  not_ok "isula info" "rc=$RC $(echo "$OUT" | grep -E '^(Cgroup|Kernel|Garbage)')"
fi

# ---------------------------------------------------------------- embedded image
loopdev=
# Debian's losetup by its path: busybox sh runs its own applets first (standalone shell).
run 30 /usr/sbin/losetup --find --show /srv/emb/rootfs.img
if [ "$RC" = 0 ]; then
  loopdev=$OUT
  ln -sfn "$loopdev" /dev/isulad-qemu-rootfs
else
  echo "# losetup --find --show /srv/emb/rootfs.img: $OUT"
fi
isula_ load -i /srv/emb/test.manifest -t embedded
load_rc=$RC
isula_ images
if [ -n "$loopdev" ] && [ "$load_rc" = 0 ] && echo "$OUT" | grep -Eq '^test +v1 '; then
  ok "isula load -t embedded (layer 0 on $loopdev)"
else
  not_ok "isula load -t embedded" "loop=$loopdev load rc=$load_rc; $(tail -n 2 "$LOGDIR/isula.err")"
fi

isula_ run --rm test:v1 sh -c '/app/hello.sh && cat /app/VERSION && echo "c=$c"'
echo "# first container ran"
expected=$(printf 'hello from the embedded app layer\n1.0\nc=d e')
if [ "$RC" = 0 ] && [ "$OUT" = "$expected" ]; then ok "run from the embedded image"; else not_ok "run from the embedded image" "rc=$RC out=$OUT; $(tail -n 2 "$LOGDIR/isula.err")"; fi

# ---------------------------------------------------------------- external rootfs
isula_ run --rm --external-rootfs /srv/rootfs none sh -c 'echo "pid $$ on $(uname -m) as $(id -u)"'
if [ "$RC" = 0 ] && [ "$OUT" = "pid 1 on $ARCH as 0" ]; then ok "run --external-rootfs"; else not_ok "run --external-rootfs" "rc=$RC out=$OUT; $(tail -n 2 "$LOGDIR/isula.err")"; fi

# ---------------------------------------------------------------- limits, exec, pause
isula_ run -d --name app -m 64m --pids-limit 32 --external-rootfs /srv/rootfs none sleep 1000
app=$OUT
if [ "$RC" = 0 ] && [ -n "$app" ]; then
  if [ "$CGROUP" = v2 ]; then
    mem=$(cat "$(cg_dir "isulad/$app" memory)/memory.max" 2>&1)
  else
    mem=$(cat "$(cg_dir "isulad/$app" memory)/memory.limit_in_bytes" 2>&1)
  fi
  pids=$(cat "$(cg_dir "isulad/$app" pids)/pids.max" 2>&1)
  if [ "$mem" = 67108864 ] && [ "$pids" = 32 ]; then ok "run -d -m 64m --pids-limit 32 (cgroup limits set)"; else not_ok "run -d with limits" "memory=$mem pids=$pids"; fi
else
  not_ok "run -d with limits" "rc=$RC $(tail -n 2 "$LOGDIR/isula.err")"
fi

isula_ exec app sh -c 'echo "exec $(cat /proc/1/comm)"'
if [ "$RC" = 0 ] && [ "$OUT" = "exec sleep" ]; then ok "exec"; else not_ok "exec" "rc=$RC out=$OUT; $(tail -n 2 "$LOGDIR/isula.err")"; fi

isula_ pause app
if [ "$RC" = 0 ] && until_ok 10 is_frozen "isulad/$app" && [ "$(status_of app)" = paused ]; then ok "pause (cgroup frozen)"; else not_ok "pause" "rc=$RC status=$(status_of app)"; fi
isula_ unpause app
if [ "$RC" = 0 ] && until_ok 10 is_thawed "isulad/$app" && [ "$(status_of app)" = running ]; then ok "unpause (cgroup thawed)"; else not_ok "unpause" "rc=$RC status=$(status_of app)"; fi

# ---------------------------------------------------------------- system container
isula_ run -d --name sys --system-container --external-rootfs /srv/sysroot none /sbin/init
sys=$OUT
if [ "$RC" = 0 ] && until_ok 60 has_sleep_and_init; then ok "system container: /sbin/init is pid 1 and runs inittab"; else not_ok "system container" "rc=$RC ps=$OUT; $(tail -n 2 "$LOGDIR/isula.err")"; fi

# ---------------------------------------------------------------- stop, rm
t0=$(now_ms)
isula_ stop sys
dt=$(($(now_ms) - t0))
isula_ logs sys
logs=$OUT
if [ "$(status_of sys)" = exited ] && echo "$logs" | grep -q init-shutdown; then ok "stop system container (init halts, $dt ms)"; else not_ok "stop system container" "status=$(status_of sys) logs=$logs"; fi

isula_ stop -t 1 app
isula_ inspect -f '{{.State.Status}} {{.State.ExitCode}}' app
if [ "$OUT" = "exited 137" ]; then ok "stop -t 1 (sleep ignores SIGTERM: 137)"; else not_ok "stop -t 1" "state=$OUT"; fi

isula_ rm sys app
rm_rc=$RC
isula_ ps -aq
if [ "$rm_rc" = 0 ] && [ -z "$OUT" ] && cgroup_gone "isulad/$app" && cgroup_gone "isulad/$sys"; then ok "rm (containers and cgroups gone)"; else not_ok "rm" "rc=$rm_rc ps=$OUT"; fi

# ---------------------------------------------------------------- garbage collector
isula_ run -d --name frozen --external-rootfs /srv/rootfs none sleep 1000
frozen=$OUT
isula_ inspect -f '{{.State.Pid}}' frozen
fpid=$OUT
if [ -n "$frozen" ] && [ -n "$fpid" ] && [ "$fpid" != 0 ]; then
  freeze_from_outside "isulad/$frozen"
  if until_ok 10 is_frozen "isulad/$frozen"; then
    t0=$(now_ms)
    isula_ rm -f frozen
    dt=$(($(now_ms) - t0))
    echo "# rm -f of a frozen container took $dt ms (isula version: $VERSION_MS ms)"
    clean() { ! alive "$fpid" && cgroup_gone "isulad/$frozen"; }
    # "Quickly": the engine gives SIGKILL 1 s; the rest is the client's own start-up.
    if [ "$RC" = 0 ] && [ "$dt" -lt $((VERSION_MS + 5000)) ] && until_ok 20 clean; then
      isula_ info
      if echo "$OUT" | grep -q '^Garbage Collector: 0 leftover'; then
        ok "GC: rm -f of a container frozen from outside returns, processes and cgroups go"
      else not_ok "GC" "info: $(echo "$OUT" | sed -n '/^Garbage/,$p')"; fi
    else
      not_ok "GC" "rc=$RC took $dt ms; pid $fpid alive=$(alive "$fpid" && echo yes || echo no); cgroup gone=$(cgroup_gone "isulad/$frozen" && echo yes || echo no)"
    fi
  else
    not_ok "GC" "could not freeze isulad/$frozen from outside"
  fi
else
  not_ok "GC" "run -d failed: $(tail -n 2 "$LOGDIR/isula.err")"
fi

# ---------------------------------------------------------------- images, daemon stop
isula_ rmi test:v1
if [ "$RC" = 0 ]; then ok "rmi"; else not_ok "rmi" "$(tail -n 2 "$LOGDIR/isula.err")"; fi
[ -z "$loopdev" ] || /usr/sbin/losetup -d "$loopdev" 2>/dev/null

pid=$(cat /var/run/isulad.pid 2>/dev/null)
[ -n "$pid" ] && kill -TERM "$pid"
gone() { ! alive "$pid"; }
leftovers=$(ps -o pid,args | grep lxc-start | grep -v grep)
cgroups=$(find "$(cg_dir isulad freezer)" "$(cg_dir isulad.monitor freezer)" -mindepth 1 -type d 2>/dev/null)
if [ -n "$pid" ] && until_ok 30 gone && [ -z "$leftovers" ] && [ -z "$cgroups" ]; then
  ok "isulad stops on SIGTERM, nothing left behind"
else
  not_ok "isulad stop" "pid=$pid processes: $leftovers cgroups: $cgroups"
fi

if [ "$FAIL" -gt 0 ]; then
  echo "# last lines of the daemon's log:"
  tail -n 15 /var/lib/isulad/isulad.log 2>/dev/null | sed 's/^/#   /'
fi
echo "qemu-$ARCH: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
