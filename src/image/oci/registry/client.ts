/**
 * The registry client (distribution API v2 / OCI distribution spec): which endpoints serve a
 * name (mirrors, registry-transformation, insecure registries), manifests and indexes with
 * the platform pick, verified blob streams, login/logout. Push is in push.ts.
 *
 *   const client = new RegistryClient(await loadRegistryConfig({...}), new CredentialStore(dir));
 *   const { source, manifestDigest } = await client.fetchImage('busybox', { signal });
 *   for (const layer of source.layers) (await layer.open()).pipe(...);   // verified bytes
 *   client.close();
 *
 * Every request takes the caller's AbortSignal; an aborted call rejects with the signal's
 * reason (or "cancelled").
 */
import { createHash } from 'node:crypto';
import { pipeline, type Readable } from 'node:stream';
import { generalError } from '../../../api/errors.js';
import { type Logger, silentLogger } from '../../../sys/log.js';
import { DEFAULT_REGISTRY, familiarReference, formatReference, parseReference } from '../reference.js';
import type { Descriptor, ImageRef, ImageSource, LayerSource, Platform } from '../types.js';
import type { Credentials } from './auth.js';
import { hostOf, LIMITS, type RegistryConfig, tlsFor } from './config.js';
import type { CredentialStore } from './credentials.js';
import { AgentPool, discard, readBody, request, type Response, type TlsSettings } from './http.js';
import { ACCEPT_MANIFESTS, hostPlatform, type ParsedManifest, parseConfig, parseManifest, pickPlatform } from './manifest.js';
import { type Endpoint, Session } from './session.js';
import { mismatch, sha256Digest, VerifyStream, verifyBytes } from './verify.js';

export interface FetchOptions {
  /** Default: the host's platform. */
  platform?: Platform;
  /** Credentials for this call instead of the stored ones. */
  auth?: Credentials;
  signal?: AbortSignal;
}

export interface FetchedImage {
  source: ImageSource;
  /** The digest of what the reference names: the index for a multi-platform image (a RepoDigest). */
  manifestDigest: string;
  /** The digest of the platform's image manifest (= manifestDigest for a single-platform image). */
  imageManifestDigest: string;
  /** The reference as normalized, its digest set to manifestDigest. */
  registryRef: ImageRef;
  /** The endpoint that served it (`https://host`), a mirror's or the registry's own. */
  servedBy: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class RegistryClient {
  readonly agents = new AgentPool();
  private readonly sessions = new Map<string, Session>();

  constructor(
    readonly config: RegistryConfig,
    readonly credentials?: CredentialStore,
    private readonly log: Logger = silentLogger,
  ) {}

  /**
   * Parses a reference with the configured default registry; an ImageRef made elsewhere is
   * checked by the same rules, since its parts end up in URL paths.
   */
  parse(ref: string | ImageRef): ImageRef {
    return parseReference(typeof ref === 'string' ? ref : formatReference(ref), this.config.defaultRegistry);
  }

  private isInsecure(...hosts: string[]): boolean {
    const list = new Set(this.config.insecure.map(hostOf));
    return hosts.some((h) => list.has(h.toLowerCase()));
  }

  /** TLS for a host: certs.d, and no verification when it is an insecure registry. */
  tlsForHost(host: string): Promise<TlsSettings> {
    return tlsFor(this.config.certsDir, host, !this.isInsecure(host));
  }

  /** The endpoint for a registry name (a mirror entry may be a URL with its scheme). */
  private async endpoint(entry: string): Promise<Endpoint> {
    const registry = hostOf(entry);
    const explicit = /^(https?):\/\//i.exec(entry)?.[1]?.toLowerCase() as 'http' | 'https' | undefined;
    const host = this.config.transformation[registry] ?? registry;
    const insecure = this.isInsecure(registry, host);
    const tls = await tlsFor(this.config.certsDir, host, !insecure);
    let tries: Endpoint['tries'];
    if (explicit === 'http') tries = [{ scheme: 'http' }];
    else if (insecure && explicit !== 'https') tries = [{ scheme: 'https', tls }, { scheme: 'http' }];
    else tries = [{ scheme: 'https', tls }];
    return { registry, host, tries };
  }

  /**
   * A session for an endpoint and credentials, reused across calls (tokens, scheme). One for a
   * call's own credentials (a CRI pull's AuthConfig) is that call's only: kept nowhere after it.
   */
  private async session(entry: string, auth: Credentials | undefined): Promise<Session> {
    const ep = await this.endpoint(entry);
    if (auth) return new Session(ep, auth, { agents: this.agents, timeouts: this.config.timeouts, tlsForHost: (h) => this.tlsForHost(h) });
    const creds = await this.credentials?.get(ep.registry);
    const id = creds ? createHash('sha256').update(`${creds.username}\0${creds.password}`).digest('hex') : '';
    const key = `${ep.host}|${ep.tries.map((t) => `${t.scheme}${t.tls?.verify ?? ''}`).join(',')}|${id}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = new Session(ep, creds, { agents: this.agents, timeouts: this.config.timeouts, tlsForHost: (h) => this.tlsForHost(h) });
      this.sessions.set(key, s);
    }
    return s;
  }

  /** Forgets a session whose endpoint failed, so that the next call pings again. */
  private drop(s: Session): void {
    for (const [k, v] of this.sessions) if (v === s) this.sessions.delete(k);
  }

  /** The endpoints to try for a name: the mirrors first for the default registry. */
  private candidates(ref: ImageRef): string[] {
    return ref.registry === this.config.defaultRegistry || ref.registry === DEFAULT_REGISTRY ? [...this.config.mirrors, ref.registry] : [ref.registry];
  }

  /** GET a manifest by tag or digest; checks its size, and its digest when named by one. */
  private async getManifest(
    s: Session,
    ref: ImageRef,
    reference: string,
    signal?: AbortSignal,
  ): Promise<{ bytes: Buffer; digest: string; parsed: ParsedManifest }> {
    const name = familiarReference(ref);
    const res = await s.send(`/v2/${ref.repository}/manifests/${reference}`, {
      headers: { accept: ACCEPT_MANIFESTS },
      scope: `repository:${ref.repository}:pull`,
      signal,
    });
    if (res.status !== 200) throw await s.fail(res, `manifest ${reference} of ${ref.repository}`, `${name} not found in registry ${s.ep.registry}`);
    const bytes = await readBody(res, LIMITS.manifest, `manifest of ${name}`);
    const ct = res.headers['content-type'];
    // Parsed first: a signed schema 1 manifest has a digest of its own kind, and gets its clear error.
    const parsed = parseManifest(bytes, typeof ct === 'string' ? ct : undefined, name);
    const digest = sha256Digest(bytes);
    if (reference.startsWith('sha256:') && digest !== reference)
      throw mismatch('manifest', { mediaType: '', digest: reference, size: bytes.length }, `its content has digest ${digest}`);
    const header = res.headers['docker-content-digest'];
    if (typeof header === 'string' && header.startsWith('sha256:') && header !== digest) {
      throw generalError(`manifest of ${name} from ${s.ep.registry}: Docker-Content-Digest ${header} is not the digest of its content (${digest})`);
    }
    return { bytes, digest, parsed };
  }

  /** A blob's response, following redirects (to storage on other hosts) without our auth. */
  private async getBlob(s: Session, repository: string, d: Descriptor, signal?: AbortSignal): Promise<Response> {
    let res = await s.send(`/v2/${repository}/blobs/${d.digest}`, { scope: `repository:${repository}:pull`, signal });
    for (let hops = 0; REDIRECTS.has(res.status); hops++) {
      const location = res.headers.location;
      discard(res);
      if (hops >= LIMITS.redirects) throw generalError(`blob ${d.digest} from ${s.ep.registry}: more than ${LIMITS.redirects} redirects`);
      if (typeof location !== 'string') throw generalError(`blob ${d.digest} from ${s.ep.registry}: a redirect without Location`);
      const url = new URL(location, res.url);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw generalError(`blob ${d.digest} from ${s.ep.registry}: redirect to ${url.protocol}`);
      res =
        url.origin === new URL(s.origin).origin
          ? await s.send(url.href, { scope: `repository:${repository}:pull`, signal })
          : await request(url, this.agents, {
              tls: url.protocol === 'https:' ? await this.tlsForHost(url.host) : undefined,
              signal,
              timeouts: this.config.timeouts,
            });
    }
    if (res.status !== 200) throw await s.fail(res, `blob ${d.digest} of ${repository}`);
    const len = Number(res.headers['content-length']);
    if (Number.isFinite(len) && res.headers['content-length'] !== undefined && len !== d.size) {
      res.body.destroy();
      throw mismatch('blob', d, `the registry sends ${len} bytes for a blob of ${d.size}`);
    }
    return res;
  }

  /** A blob as a stream that errors unless its bytes match the descriptor. */
  async openBlob(s: Session, repository: string, d: Descriptor, what: string, signal?: AbortSignal): Promise<Readable> {
    const res = await this.getBlob(s, repository, d, signal);
    const verify = new VerifyStream(d, what);
    pipeline(res.body, verify, () => undefined);
    return verify;
  }

  /**
   * Resolves a reference to an image for the platform (the host's by default): manifest (and
   * index), the verified config, and layer sources whose streams are verified.
   */
  async fetchImage(input: string | ImageRef, opts: FetchOptions = {}): Promise<FetchedImage> {
    const ref = this.parse(input);
    const name = familiarReference(ref);
    const platform = opts.platform ?? hostPlatform();
    const candidates = this.candidates(ref);
    let last: unknown;
    for (const [i, entry] of candidates.entries()) {
      const s = await this.session(entry, opts.auth);
      try {
        return await this.fetchFrom(s, ref, name, platform, opts.signal);
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        this.drop(s);
        last = e;
        if (i < candidates.length - 1) this.log.warn(`pulling ${name} from mirror ${entry} failed, trying the next: ${(e as Error).message}`);
      }
    }
    throw last;
  }

  private async fetchFrom(s: Session, ref: ImageRef, name: string, platform: Platform, signal?: AbortSignal): Promise<FetchedImage> {
    this.log.debug(`fetching ${formatReference(ref)} from ${s.ep.host}`);
    const top = await this.getManifest(s, ref, ref.digest ?? (ref.tag as string), signal);
    let image = top;
    if (top.parsed.kind === 'index') {
      const pick = pickPlatform(top.parsed.manifests, platform, name);
      image = await this.getManifest(s, ref, pick.digest, signal);
      if (image.parsed.kind !== 'manifest') throw generalError(`${name}: the index entry for ${pick.digest} is itself an index`);
    }
    const m = image.parsed as Extract<ParsedManifest, { kind: 'manifest' }>;
    const configStream = await this.openBlob(s, ref.repository, m.config, 'image config', signal);
    const configBytes = await readStream(configStream, m.config.size);
    verifyBytes(configBytes, m.config, 'image config');
    const config = parseConfig(configBytes, m.layers.length, name);
    const layers: LayerSource[] = m.layers.map((descriptor, i) => ({
      descriptor,
      diffId: config.rootfs.diff_ids[i] as string,
      open: () => this.openBlob(s, ref.repository, descriptor, `layer ${i}`, signal),
      openUnverified: async () => ({ body: (await this.getBlob(s, ref.repository, descriptor, signal)).body, what: `layer ${i}` }),
    }));
    return {
      source: { configBytes, config, layers, manifestBytes: image.bytes, manifestMediaType: m.mediaType },
      manifestDigest: top.digest,
      imageManifestDigest: image.digest,
      registryRef: { ...ref, digest: top.digest },
      servedBy: s.origin,
    };
  }

  /** Session for pushing to / logging in to a registry (no mirrors). */
  sessionFor(registry: string, auth?: Credentials): Promise<Session> {
    return this.session(registry, auth);
  }

  /**
   * Checks credentials against `registry` (its `/v2/` challenge: a token with them, or
   * `/v2/` with Basic) and stores them encrypted. `registry` is a host[:port] (docker.io for
   * Docker Hub).
   */
  async login(registry: string, creds: Credentials, signal?: AbortSignal): Promise<void> {
    if (!this.credentials) throw generalError('no credential store configured');
    const name = normalizeRegistry(registry);
    const s = await this.session(name, creds);
    await s.verifyLogin(signal);
    await this.credentials.save(name, creds);
  }

  /** Forgets the credentials of `registry`; false when none were stored. */
  logout(registry: string): Promise<boolean> {
    if (!this.credentials) throw generalError('no credential store configured');
    return this.credentials.remove(normalizeRegistry(registry));
  }

  close(): void {
    this.agents.destroy();
    this.sessions.clear();
  }
}

/** A registry name as users type it for login/logout: scheme and path dropped, Docker Hub's names folded. */
export function normalizeRegistry(s: string): string {
  const h = hostOf(s.trim());
  if (h === '' || /[\s/@]/.test(h)) throw generalError(`invalid registry ${JSON.stringify(s.slice(0, 100))}`);
  return h === 'index.docker.io' || h === 'registry-1.docker.io' ? DEFAULT_REGISTRY : h;
}

async function readStream(r: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const c of r as AsyncIterable<Buffer>) {
    got += c.length;
    if (got > limit) {
      r.destroy();
      throw generalError(`blob larger than ${limit} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks, got);
}
