/**
 * Where the registry client looks and what it trusts: daemon.json's `registry-mirrors` and
 * `insecure-registries`, iSulad's `/etc/isulad/daemon_constants.json` (`default-host` and
 * `registry-transformation`), the certificates under `/etc/isulad/certs.d/<host[:port]>/`
 * and the credentials under root's `~/.isulad`. Every path is configurable for tests.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import tls from 'node:tls';
import { generalError, invalidArgs } from '../../../api/errors.js';
import { BoundedReadError, readBoundedRegularFile } from '../../../sys/bounded-read.js';
import { DEFAULT_REGISTRY } from '../reference.js';
import type { Timeouts, TlsSettings } from './http.js';

export const DEFAULT_CERTS_DIR = '/etc/isulad/certs.d';
export const DEFAULT_CONSTANTS_FILE = '/etc/isulad/daemon_constants.json';

/** Size limits of what a registry sends (and of the files read here). */
export const LIMITS = {
  /** A manifest, an index or an image config: Docker's and containerd's 4 MiB. */
  manifest: 4 * 1024 * 1024,
  config: 4 * 1024 * 1024,
  /** A token response: a JWT of a few KiB. */
  token: 64 * 1024,
  /** An error body: `{errors:[…]}` of a few hundred bytes. */
  errorBody: 64 * 1024,
  /** A certificate or key file in certs.d. */
  certFile: 1024 * 1024,
  /** daemon_constants.json. */
  constantsFile: 1024 * 1024,
  /** Redirects followed for one blob. */
  redirects: 5,
} as const;

/** iSulad's shipped daemon_constants.json. */
export const DEFAULT_TRANSFORMATION: Readonly<Record<string, string>> = {
  'docker.io': 'registry-1.docker.io',
  'index.docker.io': 'registry-1.docker.io',
};

export interface RegistryConfig {
  /** `registry-mirrors`: hosts (`host[:port]`) or URLs (`https://host`), tried in order for default-registry names. */
  mirrors: string[];
  /** `insecure-registries`: `host[:port]` reached with unverified TLS, then plain HTTP. */
  insecure: string[];
  certsDir: string;
  /** The registry of unqualified names (`default-host`). */
  defaultRegistry: string;
  /** `registry-transformation`: the host contacted for a registry name. */
  transformation: Record<string, string>;
  timeouts?: Timeouts;
}

/** `host[:port]` of a mirror or insecure entry written as a URL or a bare host. */
export function hostOf(entry: string): string {
  const m = /^[a-z]+:\/\/([^/]+)/i.exec(entry);
  return (m ? m[1]! : entry.replace(/\/+$/, '')).toLowerCase();
}

/**
 * Reads daemon_constants.json (absent: iSulad's shipped values) and returns the config with
 * daemon.json's lists.
 */
export async function loadRegistryConfig(
  opts: { mirrors?: string[]; insecure?: string[]; certsDir?: string; constantsFile?: string; timeouts?: Timeouts } = {},
): Promise<RegistryConfig> {
  const file = opts.constantsFile ?? DEFAULT_CONSTANTS_FILE;
  let defaultRegistry = DEFAULT_REGISTRY;
  let transformation: Record<string, string> = { ...DEFAULT_TRANSFORMATION };
  let raw: Buffer | undefined;
  try {
    raw = await readBoundedRegularFile(file, LIMITS.constantsFile);
  } catch (e) {
    if (!(e instanceof BoundedReadError && e.message === 'no such file')) throw generalError(`${file}: ${(e as Error).message}`);
  }
  if (raw) {
    let doc: unknown;
    try {
      doc = JSON.parse(raw.toString('utf8'));
    } catch (e) {
      throw invalidArgs(`${file}: not JSON: ${(e as Error).message}`);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalidArgs(`${file}: not a JSON object`);
    const d = doc as Record<string, unknown>;
    if (d['default-host'] !== undefined) {
      if (typeof d['default-host'] !== 'string' || d['default-host'] === '') throw invalidArgs(`${file}: default-host must be a host name`);
      defaultRegistry = d['default-host'];
    }
    const t = d['registry-transformation'];
    if (t !== undefined) {
      if (typeof t !== 'object' || t === null || Array.isArray(t) || !Object.values(t).every((v) => typeof v === 'string' && v !== '')) {
        throw invalidArgs(`${file}: registry-transformation must map host names to host names`);
      }
      transformation = Object.fromEntries(Object.entries(t as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
    }
  }
  return {
    mirrors: opts.mirrors ?? [],
    insecure: opts.insecure ?? [],
    certsDir: opts.certsDir ?? DEFAULT_CERTS_DIR,
    defaultRegistry,
    transformation,
    timeouts: opts.timeouts,
  };
}

async function readIfThere(file: string): Promise<string | undefined> {
  try {
    return (await readBoundedRegularFile(file, LIMITS.certFile)).toString('utf8');
  } catch (e) {
    if (e instanceof BoundedReadError && e.message === 'no such file') return undefined;
    throw generalError(`${file}: ${(e as Error).message}`);
  }
}

/**
 * TLS settings for `host` (host[:port]): the system CAs plus every `*.crt` in
 * `<certsDir>/<host>/` (iSulad's and Docker's layout: `ca.crt` first), and `client.cert` /
 * `client.key` when both are there. `verify` false for an insecure registry.
 */
export async function tlsFor(certsDir: string, host: string, verify: boolean): Promise<TlsSettings> {
  const dir = path.join(certsDir, host.replace(/\//g, ''));
  let names: string[] = [];
  try {
    names = (await fsp.readdir(dir)).sort((a, b) => (a === 'ca.crt' ? -1 : b === 'ca.crt' ? 1 : a.localeCompare(b)));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw generalError(`${dir}: ${(e as Error).message}`);
  }
  const extra: string[] = [];
  for (const n of names.filter((n) => n.endsWith('.crt'))) {
    const pem = await readIfThere(path.join(dir, n));
    if (pem) extra.push(pem);
  }
  const settings: TlsSettings = { verify };
  if (extra.length > 0) settings.ca = [...tls.rootCertificates, ...extra];
  const cert = names.includes('client.cert') ? await readIfThere(path.join(dir, 'client.cert')) : undefined;
  const key = names.includes('client.key') ? await readIfThere(path.join(dir, 'client.key')) : undefined;
  if ((cert === undefined) !== (key === undefined)) throw generalError(`${dir}: client.cert and client.key go together; one of them is missing`);
  if (cert !== undefined && key !== undefined) {
    settings.cert = cert;
    settings.key = key;
  }
  return settings;
}
