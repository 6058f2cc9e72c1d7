/**
 * Two small shell programs the LXC back-end writes next to its containers. Shell, not
 * Node: one stays beside every running container, and must cost about 1 MB, not 40.
 */

/**
 * The shim: `sh isulad-shim DIR EXITS ID STDIN STATUS -- lxc-start ...`. It holds the container's
 * stdout/stderr FIFOs open for reading and writing, so the container never gets SIGPIPE
 * and no output is lost while the daemon is away; it runs the LXC monitor, records the
 * exit code as EXITS/ID (written atomically), and then keeps the FIFOs until the daemon
 * has drained them and ends it.
 */
export const SHIM_SCRIPT = `#!/bin/sh
dir=$1 exits=$2 id=$3 stdin=$4 status=$5
shift 6
fifos=
for f in stdout stderr; do [ -p "$dir/$f" ] || fifos="$fifos $dir/$f"; done
[ "$stdin" = fifo ] && { [ -p "$dir/stdin" ] || fifos="$fifos $dir/stdin"; }
[ -z "$fifos" ] || mkfifo -m 600 $fifos
exec 3<>"$dir/stdout" 4<>"$dir/stderr"
if [ "$stdin" = fifo ]; then
  echo fifos
  exec 5<"$dir/stdin"
else
  exec 5</dev/null
fi
"$@" <&5 >&3 2>&4 3>&- 4>&- 5<&- &
child=$!
exec 5<&-
echo "ready $child"
exec 1>/dev/null 2>&1
wait "$child"
code=$?
[ -s "$status" ] && read -r code < "$status"
printf '%s' "$code" > "$exits/.$id" && mv -f "$exits/.$id" "$exits/$id"
exec sleep 2147483647
`;

/**
 * LXC post-stop hook. LXC logs how the container's init ended ("Child <pid> ended on
 * error (42)" / "ended on signal Killed(9)") but reports it nowhere else; this turns that
 * line into the exit code the shim records.
 */
export const POST_STOP_HOOK = `#!/bin/sh
dir=\${LXC_CONFIG_FILE%/*}
line=$(sed -n "/Child <$LXC_PID> ended on/h; \\\${x;p}" "$dir/lxc.log")
case "$line" in
  *"ended on error ("*) code=\${line##*ended on error (}; code=\${code%%)*} ;;
  *"ended on signal "*) sig=\${line##*(}; sig=\${sig%%)*}; code=$((128 + sig)) ;;
  *) code=0 ;;
esac
printf '%s' "$code" > "$dir/init-status"
`;

/**
 * LXC mount hook for --read-only: LXC mounts the rootfs, then the container's own mounts
 * (creating their mount points), then runs this; a rootfs mounted read-only from the start
 * would refuse those mount points.
 */
export const REMOUNT_RO_HOOK = `#!/bin/sh
exec mount -o remount,bind,ro "$LXC_ROOTFS_MOUNT"
`;
