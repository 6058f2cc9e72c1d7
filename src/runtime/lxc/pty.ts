import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { TerminalSize } from '../../api/containers.js';
import { shellQuote } from '../../sys/shell.js';

/**
 * Runs `argv` on a new pseudo-terminal (util-linux `script`), for -t. The terminal gets the
 * client's size and no CR insertion: LXC's own console pty inside already adds it.
 */
export function withTerminal(argv: string[], tty: boolean, size: TerminalSize | undefined): string[] {
  if (!tty) return argv;
  const { rows, cols } = size ?? { rows: 24, cols: 80 };
  return ['script', '-qfec', `stty -onlcr rows ${rows} cols ${cols} 2>/dev/null; exec ${argv.map(shellQuote).join(' ')}`, '/dev/null'];
}

export function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Sets the size of the terminal `script` (pid) made; the kernel then sends SIGWINCH. */
export async function resizeTerminalOf(scriptPid: number, rows: number, cols: number): Promise<void> {
  const child = childrenOf(scriptPid)[0];
  if (child === undefined) return;
  let pty: string;
  try {
    pty = fs.readlinkSync(`/proc/${child}/fd/0`);
  } catch {
    return;
  }
  if (!pty.startsWith('/dev/pts/')) return;
  // -onlcr again: LXC resets its terminal to ONLCR, and its console pty inside adds CRs already.
  await new Promise<void>((resolve) =>
    spawn('stty', ['-F', pty, '-onlcr', 'rows', String(rows), 'cols', String(cols)], { stdio: 'ignore' }).on('close', () => resolve()),
  );
}
