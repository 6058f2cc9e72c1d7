import { resolveHost, Transport, type TlsFlags } from '../client/transport.js';
import { writeErr, writeOut } from './stdio.js';

/** What every command gets: its output streams and a lazily opened connection to the daemon. */
export class CliContext {
  private transport: Transport | undefined;

  constructor(
    private readonly hostFlag: string | undefined,
    private readonly tls?: TlsFlags,
  ) {}

  client(): Transport {
    if (!this.transport) {
      const { host, target } = resolveHost(this.hostFlag, this.tls);
      this.transport = new Transport(host, target);
    }
    return this.transport;
  }

  out(text: string): void {
    writeOut(text.endsWith('\n') ? text : `${text}\n`);
  }

  err(text: string): void {
    writeErr(text.endsWith('\n') ? text : `${text}\n`);
  }

  close(): void {
    this.transport?.close();
  }
}
