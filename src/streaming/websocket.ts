// The server side of RFC 6455 over an upgraded socket, as much as the channel protocols need:
// binary and text messages, fragments, ping/pong, close; no extensions.
import crypto from 'node:crypto';
import type { Socket } from 'node:net';
import { writeAndDrain } from './socket-write.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const Opcode = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** A whole message (fragments joined) may be at most this large; control frames 125 bytes (RFC 6455 5.5). */
export const MAX_WS_MESSAGE = 1 << 20;

export class WsProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export function acceptKey(key: string): string {
  return crypto
    .createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 0x10000 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (len < 126) head[1] = len;
  else if (len < 0x10000) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

export interface WsHandlers {
  /** Resolves when the message is consumed: the read loop waits for it (backpressure). */
  onMessage(data: Buffer, binary: boolean): Promise<void>;
}

export class WsConnection {
  private writes: Promise<void> = Promise.resolve();
  private closing = false;

  constructor(
    private readonly socket: Socket,
    private readonly handlers: WsHandlers,
  ) {
    socket.on('error', () => socket.destroy());
  }

  /** Reads messages until the peer closes; resolves when the read side is done. */
  async serve(): Promise<void> {
    try {
      await this.readLoop();
    } catch (err) {
      const code = err instanceof WsProtocolError ? err.code : 1011;
      await this.close(code, err instanceof Error ? err.message.slice(0, 100) : '').catch(() => undefined);
    }
  }

  private async readLoop(): Promise<void> {
    let buf: Buffer = Buffer.alloc(0);
    let message: Buffer[] = [];
    let messageSize = 0;
    let messageBinary = true;
    let fragmented = false;
    // Leaving the loop must not destroy the socket: a close frame may still have to go out.
    for await (const chunk of this.socket.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      for (;;) {
        if (buf.length < 2) break;
        const b0 = buf[0] as number;
        const b1 = buf[1] as number;
        const fin = (b0 & 0x80) !== 0;
        const opcode = b0 & 0x0f;
        if ((b0 & 0x70) !== 0) throw new WsProtocolError(1002, 'reserved bits set');
        if ((b1 & 0x80) === 0) throw new WsProtocolError(1002, 'client frames must be masked');
        let len = b1 & 0x7f;
        let at = 2;
        if (len === 126) {
          if (buf.length < 4) break;
          len = buf.readUInt16BE(2);
          at = 4;
        } else if (len === 127) {
          if (buf.length < 10) break;
          const big = buf.readBigUInt64BE(2);
          if (big > BigInt(MAX_WS_MESSAGE)) throw new WsProtocolError(1009, 'frame too large');
          len = Number(big);
          at = 10;
        }
        const control = opcode >= 8;
        if (control && (len > 125 || !fin)) throw new WsProtocolError(1002, 'bad control frame');
        if (len > MAX_WS_MESSAGE) throw new WsProtocolError(1009, 'frame too large');
        if (buf.length < at + 4 + len) break;
        const mask = buf.subarray(at, at + 4);
        const payload = Buffer.from(buf.subarray(at + 4, at + 4 + len));
        for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
        buf = buf.subarray(at + 4 + len);
        if (opcode === Opcode.ping) {
          await this.send(Opcode.pong, payload).catch(() => undefined);
          continue;
        }
        if (opcode === Opcode.pong) continue;
        if (opcode === Opcode.close) {
          await this.close(payload.length >= 2 ? payload.readUInt16BE(0) : 1000, '').catch(() => undefined);
          return;
        }
        if (opcode === Opcode.continuation) {
          if (!fragmented) throw new WsProtocolError(1002, 'continuation without a message');
        } else if (opcode === Opcode.text || opcode === Opcode.binary) {
          if (fragmented) throw new WsProtocolError(1002, 'new message inside a fragmented one');
          messageBinary = opcode === Opcode.binary;
        } else throw new WsProtocolError(1002, `unknown opcode ${opcode}`);
        messageSize += payload.length;
        if (messageSize > MAX_WS_MESSAGE) throw new WsProtocolError(1009, 'message too large');
        message.push(payload);
        fragmented = !fin;
        if (fin) {
          const whole = message.length === 1 ? (message[0] as Buffer) : Buffer.concat(message);
          message = [];
          messageSize = 0;
          await this.handlers.onMessage(whole, messageBinary);
        }
      }
    }
  }

  /** Queues a frame behind earlier ones and waits until the socket has taken it. */
  send(opcode: number, payload: Buffer): Promise<void> {
    const sent = this.writes.then(async () => {
      if (this.socket.destroyed || (this.closing && opcode !== Opcode.close)) throw new Error('the WebSocket is closed');
      await writeAndDrain(this.socket, frame(opcode, payload));
    });
    this.writes = sent.catch(() => undefined);
    return sent;
  }

  /** Sends a close frame (once) and ends our side. */
  async close(code: number, reason: string): Promise<void> {
    if (this.closing) return;
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    const sent = this.send(Opcode.close, payload);
    this.closing = true;
    await sent.catch(() => undefined);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}
