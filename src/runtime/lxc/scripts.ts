import { shellQuote } from '../../sys/shell.js';

/**
 * LXC post-stop hook, run by `lxc-start -F` (which holds the container's output FIFOs) once
 * the container's init has ended. LXC logs how it ended ("Child <pid> ended on error (42)" /
 * "ended on signal Killed(9)") but reports it nowhere else; the hook turns that line into
 * the exit code and records it as EXITS/<id>: one line, which the daemon takes only once it
 * ends in a newline (no temp file and `mv`: every process here is in the way of a stop).
 *
 * Then, if the daemon that reads the container's output (its pid in STATE/<id>/reader) is
 * gone, it waits for a daemon to take the output over: lxc-start exits after the hook, and
 * with it the last hold on the FIFOs and whatever the daemon has not read yet.
 */
export function renderPostStopHook(exitsDir: string, statePath: string): string {
  return `#!/bin/sh
dir=\${LXC_CONFIG_FILE%/*}
line=$(sed -n "/Child <$LXC_PID> ended on/h; \\\${x;p}" "$dir/lxc.log")
case "$line" in
  *"ended on error ("*) code=\${line##*ended on error (}; code=\${code%%)*} ;;
  *"ended on signal "*) sig=\${line##*(}; sig=\${sig%%)*}; code=$((128 + sig)) ;;
  *) code=0 ;;
esac
printf '%s\\n' "$code" > ${shellQuote(exitsDir)}/"$LXC_NAME"
state=${shellQuote(statePath)}/$LXC_NAME
while read -r pid 2>/dev/null < "$state/reader" && ! kill -0 "$pid" 2>/dev/null; do sleep 1; done
exit 0
`;
}

/**
 * LXC mount hook for --read-only: LXC mounts the rootfs, then the container's own mounts
 * (creating their mount points), then runs this; a rootfs mounted read-only from the start
 * would refuse those mount points.
 */
export const REMOUNT_RO_HOOK = `#!/bin/sh
exec mount -o remount,bind,ro "$LXC_ROOTFS_MOUNT"
`;
