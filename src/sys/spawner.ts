import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { shellQuote } from './shell.js';

/*
 * Short commands the daemon only waits for (mount, umount, unshare, sync) are started by one
 * resident /bin/sh instead of being forked by the daemon. libuv forks synchronously on the
 * event loop and waits there until the child has exec'd: 1.5 ms at the daemon's 55 MB, 2.5 at
 * 115 MB, all of it time no other request runs; the shell (1 MB) forks for nothing and a
 * command is done in about 1 ms (docs/design.md, "CRI benchmark against containerd"). /bin/sh
 * is already needed (LXC's hooks, the runtime helper's pid file); the commands' arguments are
 * single-quoted, so no byte of a hostile path is ever code to the shell.
 *
 * The protocol: per command N the daemon writes one compound command; the shell answers
 * "p N PID" (the process that waits for the command, for a timeout's kill) and
 * "x N STATUS FIRST-LINE-OF-STDERR" (at most 200 characters, one write: lines from
 * concurrent commands never mix). Each command runs in a subshell of a subshell: the shell
 * waits only for the outer one, which ends at once, so it keeps no job per command.
 */

export interface CommandResult {
  /** The exit status; 128 + N for a command killed by signal N. */
  code: number;
  /** The first line of the command's stderr, at most 200 characters. */
  stderr: string;
}

export interface CommandOptions {
  /** The command's working directory. */
  cwd?: string;
  /** SIGKILLed after this long; the promise then rejects. */
  timeoutMs?: number;
}

/** A line of the shell is at most ~230 bytes; anything past this is not our protocol. */
const MAX_BUFFERED = 64 * 1024;

interface Pending {
  resolve: (r: CommandResult) => void;
  reject: (e: Error) => void;
  pid?: number;
  timedOut?: boolean;
  timer?: NodeJS.Timeout;
}

function killCommand(waiterPid: number): void {
  let kids: string[] = [];
  try {
    kids = fs.readFileSync(`/proc/${waiterPid}/task/${waiterPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return; // the waiter is gone: so is its command
  }
  for (const k of kids) {
    try {
      process.kill(Number(k), 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

class Spawner {
  private sh: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private buffered = '';

  run(cmd: string, args: string[], opts: CommandOptions = {}): Promise<CommandResult> {
    for (const a of [cmd, ...args, opts.cwd ?? '']) if (a.includes('\0')) return Promise.reject(new Error(`${cmd}: an argument holds a NUL byte`));
    const sh = this.shell();
    const n = ++this.seq;
    const argv = [cmd, ...args].map(shellQuote).join(' ');
    const cd = opts.cwd === undefined ? '' : `cd -- ${shellQuote(opts.cwd)} && `;
    // ${e%%<newline>*}: the first line of what the command wrote to stderr.
    const script = `( ( e=$(${cd}exec ${argv} 2>&1 >/dev/null </dev/null); printf 'x ${n} %s %.200s\\n' "$?" "\${e%%\n*}" ) & echo "p ${n} $!" )\n`;
    return new Promise<CommandResult>((resolve, reject) => {
      const p: Pending = { resolve, reject };
      if (opts.timeoutMs !== undefined) {
        p.timer = setTimeout(() => {
          p.timedOut = true;
          if (p.pid !== undefined) killCommand(p.pid);
        }, opts.timeoutMs);
      }
      this.pending.set(n, p);
      this.hold(true);
      sh.stdin!.write(script);
    });
  }

  /** The shell, started on first use and again after it died. */
  private shell(): ChildProcess {
    if (this.sh) return this.sh;
    const sh = spawn('/bin/sh', [], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, LC_ALL: 'C' }, cwd: '/' });
    this.sh = sh;
    this.buffered = '';
    sh.stdout!.setEncoding('utf8');
    sh.stdout!.on('data', (chunk: string) => this.data(sh, chunk));
    sh.stdin!.on('error', () => undefined); // the exit handler below answers the pending
    const gone = (why: string): void => {
      if (this.sh !== sh) return;
      this.sh = undefined;
      const err = new Error(`command runner /bin/sh ${why}`);
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(err);
      }
      this.pending.clear();
      this.hold(false);
    };
    sh.once('error', (e) => gone(`failed: ${e.message}`));
    sh.once('exit', (code, signal) => gone(`exited (${signal ?? code})`));
    this.hold(false);
    return sh;
  }

  private data(sh: ChildProcess, chunk: string): void {
    this.buffered += chunk;
    if (this.buffered.length > MAX_BUFFERED) {
      sh.kill('SIGKILL');
      return;
    }
    let nl = this.buffered.indexOf('\n');
    while (nl >= 0) {
      this.line(this.buffered.slice(0, nl));
      this.buffered = this.buffered.slice(nl + 1);
      nl = this.buffered.indexOf('\n');
    }
  }

  private line(line: string): void {
    const m = /^([px]) (\d+) (\d+) ?(.*)$/.exec(line);
    if (!m) return;
    const p = this.pending.get(Number(m[2]));
    if (!p) return; // a late "p" of a command already answered
    if (m[1] === 'p') {
      p.pid = Number(m[3]);
      if (p.timedOut) killCommand(p.pid);
      return;
    }
    this.pending.delete(Number(m[2]));
    clearTimeout(p.timer);
    if (this.pending.size === 0) this.hold(false);
    if (p.timedOut) p.reject(new Error('timed out'));
    else p.resolve({ code: Number(m[3]), stderr: m[4] ?? '' });
  }

  /** The shell keeps the daemon's event loop alive only while a command runs. */
  private hold(on: boolean): void {
    const sh = this.sh;
    if (!sh) return;
    for (const s of [sh.stdin, sh.stdout] as const) {
      if (on) (s as unknown as { ref?: () => void } | null)?.ref?.();
      else (s as unknown as { unref?: () => void } | null)?.unref?.();
    }
    if (on) sh.ref();
    else sh.unref();
  }
}

const spawner = new Spawner();

/** Runs `cmd args` through the resident shell; resolves with its status and stderr's first line. */
export function runCommand(cmd: string, args: string[], opts?: CommandOptions): Promise<CommandResult> {
  return spawner.run(cmd, args, opts);
}
