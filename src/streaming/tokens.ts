import crypto from 'node:crypto';
import { resourceExhausted } from '../api/errors.js';
import type { AttachRequest, ExecRequest, PortForwardRequest } from './types.js';

export type PendingRequest =
  | { kind: 'exec'; request: ExecRequest }
  | { kind: 'attach'; request: AttachRequest }
  | { kind: 'portforward'; request: PortForwardRequest };

/** iSulad's (and kubelet's) limits: a URL is good for one minute, and at most this many wait to be used. */
export const TOKEN_TTL_MS = 60_000;
export const MAX_PENDING_TOKENS = 1000;
/** 32 random bytes, base64url: 43 characters that need no escaping in a URL path. */
const TOKEN_BYTES = 32;
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** The requests the CRI handed out URLs for: each token is taken once, and not after it expires. */
export class TokenCache {
  private readonly entries = new Map<string, { pending: PendingRequest; expires: number }>();

  constructor(
    private readonly ttlMs = TOKEN_TTL_MS,
    private readonly max = MAX_PENDING_TOKENS,
    private readonly now: () => number = Date.now,
  ) {}

  insert(pending: PendingRequest): string {
    if (this.entries.size >= this.max) this.sweep();
    if (this.entries.size >= this.max) throw resourceExhausted(`too many streaming requests in flight (at most ${this.max} unused URLs)`);
    const token = crypto.randomBytes(TOKEN_BYTES).toString('base64url');
    this.entries.set(token, { pending, expires: this.now() + this.ttlMs });
    return token;
  }

  /** The request behind `token` if it is live and of `kind`; the token is gone afterwards either way. */
  take(token: string, kind: PendingRequest['kind']): PendingRequest | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    this.entries.delete(token);
    if (entry.expires <= this.now() || entry.pending.kind !== kind) return undefined;
    return entry.pending;
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    const now = this.now();
    // Map order is insertion order, so expiry order: stop at the first live entry.
    for (const [token, entry] of this.entries) {
      if (entry.expires > now) break;
      this.entries.delete(token);
    }
  }
}
