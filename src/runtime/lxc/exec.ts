import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecOptions, ExecProcess, RuntimeSpec } from '../runtime.js';
import { firstLxcFailure, withoutAttachErrors } from './errors.js';
import type { LxcLayout } from './layout.js';
import { resizeTerminalOf, withTerminal } from './pty.js';

/**
 * `sh -c` script for exec -w: changes to $0, or fails as a start failure does (one line,
 * 127 for a missing directory, 126 for one that cannot be entered), then runs "$@".
 */
const CHDIR_THEN_EXEC = [
  'cd "$0" 2>/dev/null || {',
  'if [ ! -e "$0" ]; then e="no such file or directory" c=127; elif [ ! -d "$0" ]; then e="not a directory" c=127; else e="permission denied" c=126; fi;',
  'echo "exec failed: chdir to working directory \\"$0\\" failed: $e" >&2; exit $c; }; exec "$@"',
].join(' ');

/** A process in a running container, through lxc-attach (under `script` with -t). */
export function execInContainer(layout: LxcLayout, spec: RuntimeSpec, o: ExecOptions): ExecProcess {
  // lxc-attach reports a failed exec only in its log; keep one per exec to tell the user.
  const logFile = path.join(layout.stateDir(spec.id), `exec-${o.execId}.log`);
  const args = ['-n', spec.id, '-P', layout.lxcpath, '--clear-env', '-q', '-o', logFile, '-l', 'ERROR'];
  for (const e of o.env) args.push('-v', e);
  if (o.user) args.push('-u', String(o.user.uid), '-g', String(o.user.gid));
  args.push('--');
  // lxc-attach 5.0 has no --cwd; a shell in the container changes directory first.
  if (o.workdir) args.push('/bin/sh', '-c', CHDIR_THEN_EXEC, o.workdir);
  args.push(...o.args);
  const [cmd, ...cmdArgs] = withTerminal(['lxc-attach', ...args], o.tty, o.ttySize);
  const child = spawn(cmd!, cmdArgs, { cwd: '/', stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let startError: string | undefined;
  const exited = new Promise<number>((resolve) => {
    child.on('error', (e) => {
      startError = `exec failed: ${e.message}`;
      resolve(126);
    });
    child.on('close', (code, signal) => {
      try {
        const failure = code === 0 ? undefined : firstLxcFailure(fs.readFileSync(logFile, 'utf8'));
        if (failure) startError = `exec failed: ${failure}`;
      } catch {
        // no log: nothing went wrong in lxc-attach itself
      }
      fs.rmSync(logFile, { force: true });
      resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0));
    });
  });
  return {
    pid: child.pid ?? 0,
    stdin: child.stdin,
    // lxc-attach's own error lines come on its stderr, or with -t on the terminal.
    stdout: o.tty ? withoutAttachErrors(child.stdout!) : child.stdout,
    stderr: o.tty ? child.stderr : withoutAttachErrors(child.stderr!),
    exited,
    startError: () => startError,
    resize: (rows: number, cols: number) => {
      if (o.tty && child.pid) void resizeTerminalOf(child.pid, rows, cols);
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
