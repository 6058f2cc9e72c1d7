/**
 * Registry authentication (distribution's docs/spec/auth/token.md): the `WWW-Authenticate`
 * challenge of a 401, Basic credentials, and bearer tokens from the challenge's realm.
 */
import { generalError } from '../../../api/errors.js';
import { LIMITS } from './config.js';
import { type AgentPool, readBody, request, type Response, type Timeouts, type TlsSettings } from './http.js';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export interface Credentials {
  username: string;
  password: string;
}

/**
 * Parses challenges (RFC 7235: `scheme k=v, k="quoted, value"`), one header value at a time
 * (Node's headersDistinct keeps repeated headers apart). A value with several challenges is
 * split where a new `scheme ` token starts.
 */
export function parseChallenges(values: string[]): Challenge[] {
  const out: Challenge[] = [];
  for (const value of values) {
    let i = 0;
    let current: Challenge | undefined;
    const s = value;
    const skip = (): void => {
      while (i < s.length && (s[i] === ' ' || s[i] === ',' || s[i] === '\t')) i++;
    };
    while (i < s.length) {
      skip();
      const tok = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(s.slice(i));
      if (!tok) break;
      i += tok[0].length;
      if (s[i] === '=' && current) {
        i++;
        let v = '';
        if (s[i] === '"') {
          i++;
          while (i < s.length && s[i] !== '"') {
            if (s[i] === '\\' && i + 1 < s.length) i++;
            v += s[i];
            i++;
          }
          i++;
        } else {
          const m = /^[^,\s]*/.exec(s.slice(i)) as RegExpExecArray;
          v = m[0];
          i += v.length;
        }
        current.params[tok[0].toLowerCase()] = v;
      } else {
        current = { scheme: tok[0].toLowerCase(), params: {} };
        out.push(current);
      }
    }
  }
  return out;
}

export const basicHeader = (c: Credentials): string => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

/** What a registry says when it refuses: `errors[].message` of its JSON body, or the status. */
export async function registryMessage(res: Response): Promise<string> {
  let text = '';
  try {
    text = (await readBody(res, LIMITS.errorBody, 'error response')).toString('utf8');
  } catch {
    return `HTTP ${res.status}`;
  }
  try {
    const doc = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown; detail?: unknown }[]; details?: unknown; error?: unknown };
    if (Array.isArray(doc.errors) && doc.errors.length > 0) {
      return doc.errors
        .map((e) => {
          const code = typeof e.code === 'string' ? e.code.toLowerCase().replace(/_/g, ' ') : '';
          const msg = typeof e.message === 'string' ? e.message : '';
          return code && msg && code !== msg.toLowerCase() ? `${code}: ${msg}` : msg || code;
        })
        .filter((m) => m !== '')
        .join('; ')
        .slice(0, 1000);
    }
    if (typeof doc.details === 'string') return doc.details.slice(0, 1000);
    if (typeof doc.error === 'string') return doc.error.slice(0, 1000);
  } catch {
    // not JSON: a proxy's page; the status says enough
  }
  return `HTTP ${res.status}`;
}

/**
 * Gets a bearer token for `scopes` from a challenge's realm: GET with `service` and `scope`
 * parameters, Basic credentials when we have them. Returns the token and when to renew it.
 */
export async function fetchToken(
  challenge: Challenge,
  scopes: string[],
  creds: Credentials | undefined,
  agents: AgentPool,
  tlsForHost: (host: string) => Promise<TlsSettings>,
  opts: { signal?: AbortSignal; timeouts?: Timeouts; registry: string },
): Promise<{ token: string; expiresAt: number }> {
  const realm = challenge.params.realm;
  let url: URL;
  try {
    url = new URL(realm ?? '');
  } catch {
    throw generalError(`registry ${opts.registry} asks for a bearer token without a usable realm (${JSON.stringify(realm ?? '')})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw generalError(`registry ${opts.registry}: token realm ${url.protocol} is not http(s)`);
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  for (const s of scopes) url.searchParams.append('scope', s);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (creds) headers.authorization = basicHeader(creds);
  const tls = url.protocol === 'https:' ? await tlsForHost(url.host) : undefined;
  const res = await request(url, agents, { headers, tls, signal: opts.signal, timeouts: opts.timeouts });
  if (res.status === 401 || res.status === 403) {
    const msg = await registryMessage(res);
    throw generalError(`unauthorized: ${creds ? 'incorrect username or password' : 'authentication required'} for ${opts.registry} (${msg})`);
  }
  if (res.status !== 200) {
    const msg = await registryMessage(res);
    throw generalError(`getting a token from ${url.host} for ${opts.registry}: ${msg}`);
  }
  const body = await readBody(res, LIMITS.token, 'token response');
  let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw generalError(`token response from ${url.host} is not JSON`);
  }
  const token = typeof doc.token === 'string' && doc.token ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
  if (!token || /[\r\n]/.test(token)) throw generalError(`token response from ${url.host} has no token`);
  // The spec's default lifetime is 60 s; renew a little early.
  const life = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60;
  return { token, expiresAt: Date.now() + Math.max(life - 10, 5) * 1000 };
}
