import fs from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { openFifoReader, openFifoWriter } from '../../sys/fifo.js';
import type { ContainerIo } from '../runtime.js';
import { releaseStdin, stdinHeld } from './helper.js';
import type { LxcLayout } from './layout.js';

/**
 * Copies input into a FIFO and closes it at the end: a FIFO cannot be shut down like a
 * socket, so the container sees EOF only when our descriptor is closed, and `closed` lets
 * the other writer (the stdin holder) go.
 */
export function pipeToFifo(source: Readable, fifo: Writable, closed: () => void): void {
  source.pipe(fifo, { end: false });
  source.once('end', () => {
    const close = (): void => {
      fifo.destroy();
      closed();
    };
    if (fifo.writableLength === 0) close();
    else fifo.once('drain', close);
  });
}

/** Tells the post-stop hook that this daemon reads the container's output (see scripts.ts). */
export function claimOutput(layout: LxcLayout, id: string): void {
  fs.writeFileSync(path.join(layout.stateDir(id), 'reader'), `${process.pid}\n`);
}

/** The output FIFOs of a running container again, and its stdin if the holder kept it open. */
export function reattachIo(layout: LxcLayout, id: string, stdinSource: Readable | undefined): ContainerIo {
  const stateDir = layout.stateDir(id);
  const io: ContainerIo = { stdout: openFifoReader(path.join(stateDir, 'stdout')), stderr: openFifoReader(path.join(stateDir, 'stderr')) };
  // The holder kept the container's stdin open while no daemon was there: write to it again.
  if (stdinSource && stdinHeld(layout.stdinHolderFile(id))) {
    io.stdin = openFifoWriter(path.join(stateDir, 'stdin'));
    pipeToFifo(stdinSource, io.stdin, () => releaseStdin(layout.stdinHolderFile(id)));
  }
  claimOutput(layout, id);
  return io;
}
