import { shellQuote } from '../../sys/shell.js';

/**
 * LXC post-stop hook, run by `lxc-start -F` (which holds the container's output FIFOs) once
 * the container's init has ended. LXC logs how it ended ("Child <pid> ended on error (42)" /
 * "ended on signal Killed(9)") but reports it nowhere else, so the hook records which init
 * ended, `pid <LXC_PID>`, as EXITS/<id>: one line, which the daemon takes only once it ends in
 * a newline (no temp file and `mv`: every process here is in the way of a stop), and the
 * daemon reads the code from that log line (exitCodeInLog). Shell builtins only: a process
 * more per stop (a `sed` reading the log cost 1.4 ms of CPU) is paid by every pod's stop.
 *
 * Then, if the daemon that reads the container's output (its pid in STATE/<id>/reader) is
 * gone, it waits for a daemon to take the output over: lxc-start exits after the hook, and
 * with it the last hold on the FIFOs and whatever the daemon has not read yet.
 */
export function renderPostStopHook(exitsDir: string, statePath: string): string {
  return `#!/bin/sh
printf 'pid %s\\n' "$LXC_PID" > ${shellQuote(exitsDir)}/"$LXC_NAME"
state=${shellQuote(statePath)}/$LXC_NAME
while read -r pid 2>/dev/null < "$state/reader" && ! kill -0 "$pid" 2>/dev/null; do sleep 1; done
exit 0
`;
}

/** How much of the end of lxc.log is read for the line of an init's end (it comes last but for the teardown's lines). */
export const EXIT_LOG_TAIL_BYTES = 256 * 1024;

/**
 * The exit code of init `pid` from LXC's log: the last "Child <pid> ended on ..." line, as a
 * shell reports it (the code, or 128 + the signal); 0 when there is none (LXC logs no line
 * for an exit 0).
 */
export function exitCodeInLog(log: string, pid: string): number {
  const at = pid === '' ? -1 : log.lastIndexOf(`Child <${pid}> ended on `);
  if (at < 0) return 0;
  const end = log.indexOf('\n', at);
  const line = log.slice(at, end < 0 ? undefined : end);
  const error = /ended on error \((\d+)\)/.exec(line);
  if (error) return Number(error[1]);
  const signal = /ended on signal [^(]*\((\d+)\)/.exec(line);
  return signal ? 128 + Number(signal[1]) : 0;
}

/**
 * LXC mount hook for --read-only: LXC mounts the rootfs, then the container's own mounts
 * (creating their mount points), then runs this; a rootfs mounted read-only from the start
 * would refuse those mount points.
 */
export const REMOUNT_RO_HOOK = `#!/bin/sh
exec mount -o remount,bind,ro "$LXC_ROOTFS_MOUNT"
`;
