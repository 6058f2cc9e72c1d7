/** The client's own terminal, for -t: raw mode while attached, and its size as it changes. */

import type { TerminalSize } from '../api/containers.js';

export type { TerminalSize };

export function terminalSize(): TerminalSize | undefined {
  // process.stdout only here (-t): made, it loads node:net and node:stream (see stdio.ts).
  const { rows, columns, isTTY } = process.stdout;
  return isTTY && rows && columns ? { rows, cols: columns } : undefined;
}

/** Puts our stdin in raw mode (keys go to the container's terminal as typed); returns the undo. */
export function rawMode(): () => void {
  if (!process.stdin.isTTY) return () => undefined;
  process.stdin.setRawMode(true);
  return () => process.stdin.setRawMode(false);
}

export function onResize(listener: (size: TerminalSize) => void): () => void {
  const handler = (): void => {
    const size = terminalSize();
    if (size) listener(size);
  };
  process.stdout.on('resize', handler);
  return () => process.stdout.off('resize', handler);
}
