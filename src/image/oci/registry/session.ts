/**
 * One registry endpoint as the client talks to it: the scheme found by the `/v2/` ping
 * (HTTPS, or for an insecure registry unverified HTTPS then plain HTTP, as Docker tries), the
 * authentication its challenge asks for, bearer tokens by scope, and errors carrying the
 * registry's own message.
 */
import type { Readable } from 'node:stream';
import { type EngineError, generalError, imageNotFound, resourceExhausted } from '../../../api/errors.js';
import { basicHeader, type Challenge, type Credentials, fetchToken, parseChallenges, registryMessage } from './auth.js';
import { type AgentPool, discard, request, type Response, type Timeouts, TransportError, type TlsSettings } from './http.js';

export interface Endpoint {
  /** The registry's name (what users log in to and credentials are kept under). */
  registry: string;
  /** host[:port] contacted (after registry-transformation). */
  host: string;
  /** Schemes to try, in order (an insecure registry: unverified https, then http). */
  tries: { scheme: 'https' | 'http'; tls?: TlsSettings }[];
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  contentLength?: number;
  /** `repository:<name>:pull[,push]` for a bearer token. */
  scope?: string;
  signal?: AbortSignal;
}

export interface Context {
  agents: AgentPool;
  timeouts?: Timeouts;
  /** TLS settings for a host reached by a token realm or a redirect. */
  tlsForHost(host: string): Promise<TlsSettings>;
}

export class Session {
  private base: URL | undefined;
  private tls: TlsSettings | undefined;
  /** null: the registry asks for no authentication. */
  private challenge: Challenge | null = null;
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();

  constructor(
    readonly ep: Endpoint,
    private readonly creds: Credentials | undefined,
    private readonly ctx: Context,
  ) {}

  get origin(): string {
    return this.base?.origin ?? this.ep.host;
  }

  get tlsSettings(): TlsSettings | undefined {
    return this.tls;
  }

  /** `GET /v2/`: finds the scheme that answers and the challenge. */
  async ping(signal?: AbortSignal): Promise<void> {
    let last: Error | undefined;
    for (const t of this.ep.tries) {
      const url = new URL(`${t.scheme}://${this.ep.host}/v2/`);
      let res: Response;
      try {
        res = await request(url, this.ctx.agents, { tls: t.tls, signal, timeouts: this.ctx.timeouts });
      } catch (e) {
        if (!(e instanceof TransportError)) throw e;
        last = generalError(`registry ${this.ep.host} is not reachable: ${e.message}`);
        continue;
      }
      if (res.status === 200 || res.status === 401) {
        this.base = new URL(`${t.scheme}://${this.ep.host}`);
        this.tls = t.tls;
        this.challenge = res.status === 401 ? this.pick(res) : null;
        discard(res);
        return;
      }
      const msg = await registryMessage(res);
      last = generalError(`${url.origin} is not a registry (API v2): GET /v2/ answered ${msg}`);
    }
    throw last ?? generalError(`registry ${this.ep.host}: nothing to try`);
  }

  private pick(res: Response): Challenge | null {
    const all = parseChallenges(res.headersDistinct['www-authenticate'] ?? []);
    return all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic') ?? null;
  }

  private async authorization(scope: string | undefined, signal: AbortSignal | undefined, fresh: boolean): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') return this.creds ? basicHeader(this.creds) : undefined;
    if (c.scheme !== 'bearer') return undefined;
    const key = scope ?? '';
    const cached = this.tokens.get(key);
    if (!fresh && cached && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    const t = await fetchToken(c, scope ? [scope] : [], this.creds, this.ctx.agents, (h) => this.ctx.tlsForHost(h), {
      signal,
      timeouts: this.ctx.timeouts,
      registry: this.ep.registry,
    });
    this.tokens.set(key, t);
    return `Bearer ${t.token}`;
  }

  /** Checks the credentials the way `login` must: a token or `/v2/` with them. */
  async verifyLogin(signal?: AbortSignal): Promise<void> {
    await this.ping(signal);
    const c = this.challenge;
    if (!c) return;
    if (c.scheme === 'bearer') {
      await this.authorization(undefined, signal, true);
      return;
    }
    const res = await this.send('/v2/', { signal });
    if (res.status === 401) {
      discard(res);
      throw generalError(`unauthorized: ${this.creds ? 'incorrect username or password' : 'authentication required'} for ${this.ep.registry}`);
    }
    if (res.status !== 200) throw await this.fail(res, 'login');
    discard(res);
  }

  /**
   * Sends a request to a path of the registry (or an absolute URL on it), with the
   * authorization for `scope`; a 401 renews the challenge and token once when the body can
   * be sent again. Returns every status: callers decide what is an error.
   */
  async send(pathOrUrl: string, opts: SendOptions = {}): Promise<Response> {
    if (!this.base) await this.ping(opts.signal);
    const url = new URL(pathOrUrl, this.base);
    for (let attempt = 0; ; attempt++) {
      const headers = { ...opts.headers };
      const auth = await this.authorization(opts.scope, opts.signal, attempt > 0);
      if (auth) headers.authorization = auth;
      const res = await request(url, this.ctx.agents, {
        method: opts.method,
        headers,
        body: opts.body,
        contentLength: opts.contentLength,
        tls: this.tls,
        signal: opts.signal,
        timeouts: this.ctx.timeouts,
      });
      const replayable = opts.body === undefined || Buffer.isBuffer(opts.body);
      if (res.status !== 401 || attempt > 0 || !replayable) return res;
      const next = this.pick(res);
      // Same challenge and no token to renew: the credentials are what is wrong.
      if (!next || (next.scheme === 'basic' && this.challenge?.scheme === 'basic')) return res;
      discard(res);
      this.challenge = next;
    }
  }

  /** An error for a response that is not what was asked for, with the registry's message. */
  async fail(res: Response, what: string, notFound?: string): Promise<EngineError> {
    const msg = await registryMessage(res);
    switch (res.status) {
      case 401:
        return generalError(
          this.creds
            ? `unauthorized: ${what} on ${this.ep.registry}: the credentials were refused (${msg})`
            : `unauthorized: authentication required for ${what} on ${this.ep.registry}; log in first (${msg})`,
        );
      case 403:
        return generalError(`denied: ${what} on ${this.ep.registry}: ${msg}`);
      case 404:
        return notFound !== undefined ? imageNotFound(`${notFound}: ${msg}`) : generalError(`${what} on ${this.ep.registry}: not found (${msg})`);
      case 429:
        return resourceExhausted(`${what} on ${this.ep.registry}: too many requests (${msg})`);
      default:
        return generalError(`${what} on ${this.ep.registry}: ${msg}`);
    }
  }
}
