// A StreamingBackend over host processes and host ports, for the streaming server's tests: the
// real container backend is the daemon's (POD's) and needs pods.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { StreamingBackend, StreamIo, TerminalSize } from '../../src/streaming/index.js';

export class HostBackend implements StreamingBackend {
  readonly resizes: TerminalSize[] = [];
  readonly execs: { containerId: string; cmd: string[]; tty: boolean }[] = [];
  /** What the last exec's command has written to stdout so far. */
  stdoutBytes = 0;

  private watch(io: StreamIo): void {
    io.resize?.on('resize', (size: TerminalSize) => this.resizes.push(size));
  }

  async exec(containerId: string, cmd: string[], io: StreamIo): Promise<number> {
    this.execs.push({ containerId, cmd, tty: io.tty });
    this.watch(io);
    const child = spawn(cmd[0] as string, cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    if (io.stdin) io.stdin.pipe(child.stdin);
    else child.stdin.end();
    child.stdin.on('error', () => undefined);
    this.stdoutBytes = 0;
    child.stdout.on('data', (d: Buffer) => {
      this.stdoutBytes += d.length;
    });
    if (io.stdout) child.stdout.pipe(io.stdout, { end: false });
    else child.stdout.resume();
    // A TTY merges stderr into stdout.
    const err = io.tty ? io.stdout : io.stderr;
    if (err) child.stderr.pipe(err, { end: false });
    else child.stderr.resume();
    // A client gone mid-session: its streams close, and the command would block writing to them.
    io.stdout?.once('close', () => child.kill());
    const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
    io.stdin?.unpipe(child.stdin);
    if (code === null) throw new Error(`killed by ${signal}`);
    return code;
  }

  /** Attach to a "container" that greets, then echoes stdin until it ends. */
  async attach(containerId: string, io: StreamIo): Promise<void> {
    this.watch(io);
    if (containerId === 'gone') throw new Error('container gone is not running');
    io.stdout?.write(`attached to ${containerId}\n`);
    if (!io.stdin) return;
    for await (const chunk of io.stdin) io.stdout?.write(chunk);
  }

  async portForward(_podId: string, port: number, conn: Duplex): Promise<void> {
    const upstream = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      upstream.once('connect', resolve);
      upstream.once('error', reject);
    });
    upstream.on('error', () => upstream.destroy());
    conn.pipe(upstream);
    upstream.pipe(conn);
    await once(upstream, 'close');
  }
}
