// What exec and attach sessions share across SPDY and WebSocket: the subprotocols, the resize
// channel's JSON, the error channel's status, and running the backend.
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../sys/log.js';
import type { PendingRequest } from './tokens.js';
import type { StreamingBackend, TerminalSize } from './types.js';

/** Kubernetes' remotecommand subprotocols, newest first (what we prefer when a client offers several). */
export const REMOTECOMMAND_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;
export type RemoteCommandProtocol = (typeof REMOTECOMMAND_PROTOCOLS)[number];

/** v4 and later send a JSON metav1.Status on the error channel; earlier ones send plain text. */
export const statusIsJson = (p: string): boolean => p === 'v4.channel.k8s.io' || p === 'v5.channel.k8s.io';
/** v3 and later have a resize channel. */
export const hasResize = (p: string): boolean => p !== 'channel.k8s.io' && p !== 'v2.channel.k8s.io';

/** The first protocol of the client's (in its order) that we speak. */
export function negotiate(offered: string[], supported: readonly string[]): string | undefined {
  return offered.map((p) => p.trim()).find((p) => supported.includes(p));
}

export type Outcome = { exitCode: number } | { error: string };

/** The error channel's content for `outcome`, or '' for none (a v1-v3 success). */
export function statusMessage(outcome: Outcome, protocol: string): string {
  if (!statusIsJson(protocol)) {
    if ('error' in outcome) return outcome.error;
    return outcome.exitCode === 0 ? '' : `command terminated with non-zero exit code: exit status ${outcome.exitCode}`;
  }
  if ('error' in outcome) {
    return JSON.stringify({
      metadata: {},
      status: 'Failure',
      message: outcome.error,
      reason: 'InternalError',
      details: { causes: [{ message: outcome.error }] },
      code: 500,
    });
  }
  if (outcome.exitCode === 0) return JSON.stringify({ metadata: {}, status: 'Success' });
  // client-go reads the code from the cause whose reason is ExitCode (metav1.StatusCause's Type is "reason" on the wire).
  return JSON.stringify({
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${outcome.exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(outcome.exitCode) }] },
  });
}

/** A resize message's bound; the channel holds `{"Width":W,"Height":H}` objects back to back. */
export const MAX_RESIZE_MESSAGE = 4096;

/** Parses `{Width,Height}` objects from a byte stream into 'resize' events; bad ones are logged and dropped. */
export class ResizeDecoder extends EventEmitter {
  private text = '';

  constructor(private readonly log: Logger) {
    super();
  }

  write(chunk: Buffer): void {
    this.text += chunk.toString('utf8');
    for (let end = this.text.indexOf('}'); end >= 0; end = this.text.indexOf('}')) {
      const one = this.text.slice(0, end + 1);
      this.text = this.text.slice(end + 1);
      this.message(one);
    }
    if (this.text.length > MAX_RESIZE_MESSAGE) {
      this.log.warn('dropping an oversized resize message');
      this.text = '';
    }
  }

  /** One whole message (WebSocket frames carry exactly one). */
  message(text: string): void {
    try {
      const size = JSON.parse(text) as { Width?: unknown; Height?: unknown };
      const width = size.Width;
      const height = size.Height;
      const ok = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffff;
      if (ok(width) && ok(height)) this.emit('resize', { width, height } satisfies TerminalSize);
      else this.log.warn(`ignoring a resize message without a valid size: ${text.slice(0, 100)}`);
    } catch {
      this.log.warn(`ignoring a resize message that is not JSON: ${text.slice(0, 100)}`);
    }
  }
}

export interface SessionChannels {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  resize?: EventEmitter;
}

function endWritable(w: Writable | undefined): Promise<void> {
  if (w === undefined || w.destroyed || w.writableFinished) return Promise.resolve();
  return new Promise((resolve) => {
    w.once('finish', resolve);
    w.once('close', resolve);
    w.once('error', () => resolve());
    w.end();
  });
}

/** Runs an exec or attach on the backend with `channels`; ends stdout and stderr after it and returns how it went. */
export async function runRemoteCommand(
  backend: StreamingBackend,
  pending: PendingRequest,
  channels: SessionChannels,
  tty: boolean,
  log: Logger,
): Promise<Outcome> {
  const io = { ...channels, tty };
  let outcome: Outcome;
  try {
    if (pending.kind === 'exec') outcome = { exitCode: await backend.exec(pending.request.containerId, pending.request.cmd, io) };
    else if (pending.kind === 'attach') {
      await backend.attach(pending.request.containerId, io);
      outcome = { exitCode: 0 };
    } else throw new Error('not a remote command');
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.warn(`${pending.kind} failed: ${message}`);
    outcome = { error: message };
  }
  // Whatever the client still sends on stdin is read and dropped, so it cannot stall the connection.
  channels.stdin?.resume();
  await Promise.all([endWritable(channels.stdout), endWritable(channels.stderr)]);
  return outcome;
}
