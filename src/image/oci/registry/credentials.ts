/**
 * Registry credentials as iSulad keeps them: `<home>/.isulad/auths.json` (mode 0600) maps a
 * registry to `{ "auth": … }`, the `user:password` encrypted with the key in
 * `<home>/.isulad/aeskey` (0600, made on first use). Our format: aeskey is 32 random bytes;
 * `auth` is base64 of a 12-byte IV, the 16-byte GCM tag and the AES-256-GCM ciphertext.
 * Nothing here logs a credential.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { generalError } from '../../../api/errors.js';
import { atomicWriteFile } from '../../../sys/atomic-write.js';
import { BoundedReadError, readBoundedRegularFile } from '../../../sys/bounded-read.js';
import type { Credentials } from './auth.js';

export const DEFAULT_AUTH_DIR = '/root/.isulad';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** auths.json: a few hundred bytes a registry. */
const AUTHS_LIMIT = 1024 * 1024;

interface AuthsFile {
  auths: Record<string, { auth: string }>;
}

export class CredentialStore {
  private readonly authsFile: string;
  private readonly keyFile: string;
  private queue: Promise<unknown> = Promise.resolve();

  /** `dir` is `<home>/.isulad`. */
  constructor(readonly dir = DEFAULT_AUTH_DIR) {
    this.authsFile = path.join(dir, 'auths.json');
    this.keyFile = path.join(dir, 'aeskey');
  }

  /** Runs changes one at a time: two logins at once must not lose one. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async readKey(create: boolean): Promise<Buffer | undefined> {
    try {
      const key = await readBoundedRegularFile(this.keyFile, 1024);
      if (key.length !== KEY_BYTES) throw generalError(`${this.keyFile} is not a ${KEY_BYTES}-byte key`);
      return key;
    } catch (e) {
      if (!(e instanceof BoundedReadError && e.message === 'no such file'))
        throw e instanceof BoundedReadError ? generalError(`${this.keyFile}: ${e.message}`) : e;
    }
    if (!create) return undefined;
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    // Written whole under a temp name, then linked in: a crash never leaves a short key, and
    // a key made meanwhile by someone else wins (link refuses to replace it).
    const key = randomBytes(KEY_BYTES);
    const tmp = `${this.keyFile}.${process.pid}.tmp`;
    const fh = await fsp.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(key);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fsp.link(tmp, this.keyFile);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      await fsp.rm(tmp, { force: true });
      return this.readKey(false);
    }
    await fsp.rm(tmp, { force: true });
    return key;
  }

  private async readAuths(): Promise<AuthsFile> {
    let raw: Buffer;
    try {
      raw = await readBoundedRegularFile(this.authsFile, AUTHS_LIMIT);
    } catch (e) {
      if (e instanceof BoundedReadError && e.message === 'no such file') return { auths: {} };
      throw generalError(`${this.authsFile}: ${(e as Error).message}`);
    }
    try {
      const doc = JSON.parse(raw.toString('utf8')) as Partial<AuthsFile>;
      if (typeof doc.auths !== 'object' || doc.auths === null || Array.isArray(doc.auths)) return { auths: {} };
      return { auths: doc.auths };
    } catch {
      throw generalError(`${this.authsFile} is not JSON; remove it and log in again`);
    }
  }

  private async writeAuths(doc: AuthsFile): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await atomicWriteFile(this.authsFile, `${JSON.stringify(doc, null, 2)}\n`, 0o600);
  }

  /** Stores credentials for `registry` (the name users log in to, e.g. `docker.io`). */
  save(registry: string, creds: Credentials): Promise<void> {
    return this.serial(async () => {
      const key = (await this.readKey(true)) as Buffer;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const enc = Buffer.concat([cipher.update(`${creds.username}:${creds.password}`, 'utf8'), cipher.final()]);
      const auth = Buffer.concat([iv, cipher.getAuthTag(), enc]).toString('base64');
      const doc = await this.readAuths();
      doc.auths[registry] = { auth };
      await this.writeAuths(doc);
    });
  }

  /** Forgets `registry`'s credentials; false when there were none. */
  remove(registry: string): Promise<boolean> {
    return this.serial(async () => {
      const doc = await this.readAuths();
      if (!(registry in doc.auths)) return false;
      delete doc.auths[registry];
      await this.writeAuths(doc);
      return true;
    });
  }

  /** The stored credentials of `registry`, or undefined (none, or not decryptable with the key). */
  async get(registry: string): Promise<Credentials | undefined> {
    const doc = await this.readAuths();
    const entry = doc.auths[registry];
    if (!entry || typeof entry.auth !== 'string') return undefined;
    const key = await this.readKey(false);
    if (!key) return undefined;
    const raw = Buffer.from(entry.auth, 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) return undefined;
    try {
      const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      d.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const plain = Buffer.concat([d.update(raw.subarray(IV_BYTES + TAG_BYTES)), d.final()]).toString('utf8');
      const colon = plain.indexOf(':');
      if (colon < 0) return undefined;
      return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
    } catch {
      // Another key (aeskey replaced) or a damaged entry: as if not logged in.
      return undefined;
    }
  }
}
