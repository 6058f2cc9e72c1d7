import { spawn } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { failedPrecondition } from '../api/errors.js';
import type { Container } from '../container/container.js';
import { execInContainer } from '../container/exec.js';
import { runtimeOf } from '../container/spec.js';
import { startedOf } from '../container/started.js';
import type { StreamingBackend, StreamIo, TerminalSize } from '../streaming/index.js';
import { which } from '../sys/which.js';
import type { PodContext } from './context.js';
import { LABEL_TYPE, TYPE_CONTAINER } from './record.js';

/**
 * Copies a process's output to a client stream, pausing while the client is slow; once the
 * client is gone the output is read and dropped, so the process is never held on a full pipe.
 */
function pipeOut(from: NodeJS.ReadableStream | null, to: NodeJS.WritableStream | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!from) return resolve();
    let gone = to === undefined;
    to?.once('close', () => {
      gone = true;
      from.resume();
    });
    from.on('data', (data: Buffer) => {
      if (!gone && to && !to.write(data)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('close', () => resolve());
    from.on('error', () => resolve());
  });
}

/**
 * The streaming server's sessions on the container domain: exec and attach through the
 * container's runtime, port-forward through socat run in the pod's network namespace (as
 * dockershim did: Node cannot enter a namespace itself).
 */
export function podStreamingBackend(pc: PodContext): StreamingBackend {
  const container = (id: string): Container => {
    const c = pc.engine.store.get(id);
    if (c.record.config.Config.Labels[LABEL_TYPE] !== TYPE_CONTAINER) throw failedPrecondition(`${id} is not a CRI container`);
    return c;
  };
  return {
    async exec(containerId: string, cmd: string[], io: StreamIo): Promise<number> {
      const proc = execInContainer(pc.engine, container(containerId), {
        id: containerId,
        cmd,
        env: [],
        tty: io.tty,
        stdin: io.stdin !== undefined,
        detach: false,
      });
      if (io.stdin && proc.stdin) io.stdin.pipe(proc.stdin);
      io.resize?.on('resize', (size: TerminalSize) => proc.resize(size.height, size.width));
      const drained = [pipeOut(proc.stdout, io.stdout), pipeOut(proc.stderr, io.stderr)];
      const code = await proc.exited;
      await Promise.all(drained);
      const why = proc.startError();
      if (why) io.stderr?.write(`${why}\n`);
      return code;
    },

    async attach(containerId: string, io: StreamIo): Promise<void> {
      const c = container(containerId);
      if (!c.state.Running) throw failedPrecondition(`container ${c.id} is not running`);
      const unsubscribe = c.pump?.subscribe((chunk) => {
        if (!('data' in chunk) || !chunk.data) return;
        (chunk.stream === 2 ? (io.stderr ?? (io.tty ? io.stdout : undefined)) : io.stdout)?.write(chunk.data);
      });
      // The container's stdin is shared by every attach; a client's end of input does not close it.
      if (io.stdin && c.stdin) io.stdin.on('data', (d: Buffer) => c.stdin?.write(d));
      io.resize?.on('resize', (size: TerminalSize) => {
        void runtimeOf(pc.engine.runtimes, c)
          .resize(startedOf(c), size.height, size.width)
          .catch(() => undefined);
      });
      const gone = new Promise<void>((resolve) => (io.stdout ?? io.stderr)?.once('close', () => resolve()));
      try {
        await Promise.race([c.waitFinished(), gone]);
      } finally {
        unsubscribe?.();
      }
    },

    async portForward(podId: string, port: number, conn: Duplex): Promise<void> {
      const pod = pc.store.get(podId);
      const pause = pc.engine.store.find(pod.id);
      const netns = pod.netnsPath ?? (pause?.state.Running ? `/proc/${pause.state.Pid}/ns/net` : undefined);
      if (!netns) throw failedPrecondition(`pod ${pod.id} has no network namespace: it is not running`);
      const socat = which('socat');
      if (!socat) throw failedPrecondition('port-forward needs socat on the host (package socat)');
      const child = spawn('nsenter', [`--net=${netns}`, socat, '-', `TCP4:127.0.0.1:${port}`], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-1024)));
      conn.pipe(child.stdin);
      child.stdout.pipe(conn, { end: true });
      await new Promise<void>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code) =>
          code === 0 ? resolve() : reject(failedPrecondition(`port-forward to port ${port} of pod ${pod.id}: ${stderr.trim() || `socat exited with ${code}`}`)),
        );
        conn.on('close', () => child.kill());
      });
    },
  };
}
