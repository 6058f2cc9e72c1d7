import { resolveHost, Transport } from '../client/transport.js';
import { writeErr, writeOut } from './stdio.js';

/** What every command gets: its output streams and a lazily opened connection to the daemon. */
export class CliContext {
  private transport: Transport | undefined;

  constructor(private readonly hostFlag: string | undefined) {}

  client(): Transport {
    if (!this.transport) {
      const { host, socketPath } = resolveHost(this.hostFlag);
      this.transport = new Transport(host, socketPath);
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
