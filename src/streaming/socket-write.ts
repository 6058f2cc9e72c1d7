import type { Socket } from 'node:net';

/** Writes `data` and waits until the socket has taken it (drained) or is gone. */
export async function writeAndDrain(socket: Socket, data: Buffer): Promise<void> {
  if (socket.write(data)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
