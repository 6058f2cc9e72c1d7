/**
 * A real registry for tests: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1 with a
 * random free port, storage in a temporary directory, stopped and deleted by `stop()` (and at
 * process exit if a test forgot).
 *
 *   const reg = await startRegistry();                        // plain HTTP
 *   const reg = await startRegistry({ tls: true });           // HTTPS, CA in reg.caFile / reg.certsDir
 *   const reg = await startRegistry({ tls: true, clientCerts: true }); // HTTPS asking for a client cert
 *   const reg = await startRegistry({ auth: 'basic' });       // htpasswd: reg.user / reg.password
 *   const reg = await startRegistry({ auth: 'token' });       // bearer tokens from a token server
 *   ...
 *   await reg.stop();
 *
 * `reg.host` is `127.0.0.1:PORT` (what goes into an image name), `reg.certsDir` is an
 * iSulad-style certs.d (`<certsDir>/127.0.0.1:PORT/ca.crt`, plus client.cert/client.key
 * when `clientCerts`), `reg.blobFile(digest)` is where the registry keeps a blob (tests
 * corrupt it), and `reg.skopeoArgs` are the flags skopeo needs to talk to it.
 *
 * htpasswd over plain HTTP: distribution 2.8 serves it (it does not insist on TLS), so
 * `{ auth: 'basic' }` works with or without `tls`.
 *
 * Token auth (`{ auth: 'token' }`): the registry is configured with `auth.token` and a small
 * token server made here (node:http on another random port, in a child process so that a
 * test blocked in execFileSync(skopeo) does not block its tokens) issues ES256 JWTs, signed by a
 * key whose certificate the test CA signed, with the chain in the `x5c` header, as
 * distribution's token verifier expects. The server grants what the scope asks for to the
 * user/password pair (Basic auth on the token request) and, with `anonymousPull`, `pull`
 * to anyone; it answers `{ token }` or `{ access_token }` as `tokenField` says.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, sign } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface RegistryOptions {
  /** HTTPS with a certificate for IP 127.0.0.1 signed by a fresh test CA. */
  tls?: boolean;
  /** With `tls`: the registry requires a client certificate signed by the test CA. */
  clientCerts?: boolean;
  /** `basic`: htpasswd; `token`: bearer tokens from a token server started here. */
  auth?: 'basic' | 'token';
  user?: string;
  password?: string;
  /** Token auth: anonymous clients get `pull` tokens. */
  anonymousPull?: boolean;
  /** Token auth: the JSON field the token is sent in. */
  tokenField?: 'token' | 'access_token';
  /** Accept pushes of schema 1 manifests (distribution refuses them by default). */
  schema1?: boolean;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`, as in an image name. */
  host: string;
  port: number;
  scheme: 'http' | 'https';
  /** `http(s)://127.0.0.1:PORT`. */
  url: string;
  /** The registry's filesystem storage root. */
  storage: string;
  /** The test CA (HTTPS and token variants). */
  caFile?: string;
  /** certs.d layout: `<certsDir>/<host>/ca.crt` (+ client.cert, client.key with clientCerts). */
  certsDir?: string;
  user?: string;
  password?: string;
  /** Token auth: the token server's URL (the realm). */
  realm?: string;
  /** The flags skopeo needs to push to / inspect this registry (TLS off or CA dir, creds). */
  skopeoArgs(direction: 'src' | 'dest' | 'inspect'): string[];
  /** The registry's data file of a blob (`sha256:…`). */
  blobFile(digest: string): string;
  stop(): Promise<void>;
}

/** A TCP port free now on 127.0.0.1 (the registry binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const openssl = (args: string[], cwd: string): void => {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
};

/** An EC P-256 key and a certificate for it signed by ca.crt/ca.key in `dir`. */
function issue(dir: string, name: string, subject: string, ext: string): void {
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      `${name}.crt`,
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
}

/** A CA, a server certificate for 127.0.0.1, a client certificate and a token-signing one. */
export function makeTestPki(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=isulad-ts test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  issue(dir, 'server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  issue(dir, 'client', '/CN=isulad-ts test client', 'extendedKeyUsage=clientAuth\n');
  issue(dir, 'token', '/CN=isulad-ts token signer', 'keyUsage=critical,digitalSignature\n');
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

interface TokenServerOptions {
  pki: string;
  service: string;
  issuer: string;
  user: string;
  password: string;
  anonymousPull: boolean;
  field: 'token' | 'access_token';
}

/**
 * The token server's own process (this file run with `--token-server OPTIONS_JSON`): a test
 * that runs skopeo with execFileSync blocks its event loop, which must not block the tokens
 * skopeo asks for meanwhile. It prints its port on stdout once listening.
 */
function serveTokens(opts: TokenServerOptions): void {
  const pki = opts.pki;
  const key = createPrivateKey(fs.readFileSync(path.join(pki, 'token.key')));
  const certDer = Buffer.from(
    fs
      .readFileSync(path.join(pki, 'token.crt'), 'utf8')
      .replace(/-----[^-]+-----/g, '')
      .replace(/\s+/g, ''),
    'base64',
  );
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    let authed = false;
    if (basic) {
      const [u, ...p] = Buffer.from(basic[1]!, 'base64').toString().split(':');
      if (u !== opts.user || p.join(':') !== opts.password) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      authed = true;
    }
    if (!authed && !opts.anonymousPull) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'authentication required' }));
      return;
    }
    const access = url.searchParams.getAll('scope').flatMap((s) => {
      const m = /^([^:]+):(.+):([^:]+)$/.exec(s);
      if (!m) return [];
      const actions = m[3]!.split(',').filter((a) => authed || a === 'pull');
      return [{ type: m[1], name: m[2], actions }];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: opts.issuer,
      sub: authed ? opts.user : '',
      aud: opts.service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${input}.${b64url(sig)}`;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ [opts.field]: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`);
  });
  // Ends with its parent (stdin closes).
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

if (process.argv[2] === '--token-server' && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  serveTokens(JSON.parse(process.argv[3] as string) as TokenServerOptions);

/** Starts the token server process; resolves with it and its realm URL. */
function startTokenServer(opts: TokenServerOptions): Promise<{ child: ChildProcess; realm: string }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--token-server', JSON.stringify(opts)], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`token server exited with ${code}`)));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve({ child, realm: `http://127.0.0.1:${m[1]}/token` });
    });
  });
}

/** Resolves once `url`/v2/ answers with any HTTP status (401 counts: it is up). */
async function waitUp(url: string, tls: https.RequestOptions, child: ChildProcess, log: () => string): Promise<void> {
  const until = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const mod = url.startsWith('https:') ? https : http;
      const req = mod.get(`${url}/v2/`, { ...tls, timeout: 1000 }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`docker-registry did not answer at ${url}: ${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const running = new Set<() => void>();
process.once('exit', () => {
  for (const kill of running) kill();
});

/** Starts a registry; see the file's comment for the variants. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-test-registry-'));
  const storage = path.join(dir, 'storage');
  fs.mkdirSync(storage);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const scheme = opts.tls ? 'https' : 'http';
  const url = `${scheme}://${host}`;
  const user = opts.user ?? 'u';
  const password = opts.password ?? 'p';
  const pki = path.join(dir, 'pki');
  const needPki = opts.tls || opts.auth === 'token';
  if (needPki) makeTestPki(pki);

  const cfg: string[] = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${host}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (opts.tls) {
    cfg.push('  tls:', `    certificate: ${pki}/server.crt`, `    key: ${pki}/server.key`);
    if (opts.clientCerts) cfg.push('    clientcas:', `      - ${pki}/ca.crt`);
  }
  let token: { child: ChildProcess; realm: string } | undefined;
  if (opts.auth === 'basic') {
    const htpasswd = path.join(dir, 'htpasswd');
    fs.writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', user, password]));
    cfg.push('auth:', '  htpasswd:', '    realm: isulad-ts-test', `    path: ${htpasswd}`);
  } else if (opts.auth === 'token') {
    const service = `registry-${port}`;
    const issuer = 'isulad-ts-test-token-server';
    token = await startTokenServer({ pki, service, issuer, user, password, anonymousPull: opts.anonymousPull ?? false, field: opts.tokenField ?? 'token' });
    cfg.push('auth:', '  token:', `    realm: ${token.realm}`, `    service: ${service}`, `    issuer: ${issuer}`, `    rootcertbundle: ${pki}/ca.crt`);
  }
  if (opts.schema1) cfg.push('compatibility:', '  schema1:', '    enabled: true');
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(config, `${cfg.join('\n')}\n`);

  let certsDir: string | undefined;
  if (needPki) {
    certsDir = path.join(dir, 'certs.d');
    const hostDir = path.join(certsDir, host);
    fs.mkdirSync(hostDir, { recursive: true });
    fs.copyFileSync(path.join(pki, 'ca.crt'), path.join(hostDir, 'ca.crt'));
    if (opts.clientCerts) {
      fs.copyFileSync(path.join(pki, 'client.crt'), path.join(hostDir, 'client.cert'));
      fs.copyFileSync(path.join(pki, 'client.key'), path.join(hostDir, 'client.key'));
    }
  }

  let output = '';
  const child = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (d: Buffer): void => {
    output = (output + d.toString()).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const kill = (): void => {
    child.kill('SIGKILL');
    token?.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  running.add(kill);
  try {
    const read = (f: string): string => fs.readFileSync(path.join(pki, f), 'utf8');
    const tls: https.RequestOptions = needPki ? { ca: read('ca.crt') } : {};
    if (opts.clientCerts) Object.assign(tls, { cert: read('client.crt'), key: read('client.key') });
    await waitUp(url, tls, child, () => output);
  } catch (e) {
    kill();
    running.delete(kill);
    throw e;
  }

  const caFile = needPki ? path.join(pki, 'ca.crt') : undefined;
  const creds = opts.auth ? `${user}:${password}` : undefined;
  return {
    host,
    port,
    scheme,
    url,
    storage,
    caFile,
    certsDir,
    user: opts.auth ? user : undefined,
    password: opts.auth ? password : undefined,
    realm: token?.realm,
    skopeoArgs(direction) {
      const args: string[] = [];
      const pre = direction === 'inspect' ? '' : `${direction}-`;
      if (opts.tls && certsDir) args.push(`--${pre}cert-dir`, path.join(certsDir, host));
      else args.push(`--${pre}tls-verify=false`);
      if (creds) args.push(`--${pre}creds`, creds);
      return args;
    },
    blobFile(digest) {
      const hex = digest.replace(/^sha256:/, '');
      return path.join(storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    },
    async stop() {
      running.delete(kill);
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      });
      token?.child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** sha256:<hex> of some bytes. */
export const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
