import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createGunzip } from 'node:zlib';
import { EngineError } from '../../src/api/errors.js';
import { CredentialStore, loadRegistryConfig, parsePlatform, pushImage, RegistryClient } from '../../src/image/oci/registry/index.js';
import type { FetchedImage } from '../../src/image/oci/registry/index.js';
import { busyboxImage, layoutManifest, multiArchImage, pushImage as skopeoPush, readBlob, registryManifest } from '../helpers/oci-images.js';
import { freePort, sha256, startRegistry, type TestRegistry } from '../helpers/registry.js';

/**
 * The registry client in-process against Debian's docker-registry, with images pushed by
 * skopeo (an independent client): plain HTTP, HTTPS with the CA in certs.d and client
 * certificates, htpasswd and token auth with login/logout, mirrors and transformation, a
 * corrupted blob, schema 1 and a missing platform, and a push that skopeo then reads.
 */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-test-ocireg-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function drain(r: Readable): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of r as AsyncIterable<Buffer>) {
    h.update(c);
    size += c.length;
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

async function client(
  opts: { mirrors?: string[]; insecure?: string[]; certsDir?: string; constants?: object; authDir?: string } = {},
): Promise<RegistryClient> {
  const constantsFile = path.join(tmp, `constants-${Math.random().toString(36).slice(2)}.json`);
  if (opts.constants) fs.writeFileSync(constantsFile, JSON.stringify(opts.constants));
  const config = await loadRegistryConfig({
    mirrors: opts.mirrors,
    insecure: opts.insecure,
    certsDir: opts.certsDir ?? path.join(tmp, 'no-certs.d'),
    constantsFile,
    timeouts: { connect: 5000, idle: 10_000 },
  });
  return new RegistryClient(config, new CredentialStore(opts.authDir ?? path.join(tmp, `auth-${Math.random().toString(36).slice(2)}`)));
}

const rejects = async (p: Promise<unknown>, re: RegExp, exitCode?: number): Promise<void> => {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof EngineError, `not an EngineError: ${String(e)}`);
    assert.match(e.message, re);
    if (exitCode !== undefined) assert.equal(e.exitCode, exitCode, e.message);
    return true;
  });
};

/** Every layer's stream gives exactly the blob of the OCI layout it was pushed from. */
async function checkLayers(img: FetchedImage, layout: string): Promise<void> {
  for (const l of img.source.layers) {
    const got = await drain(await l.open());
    assert.deepEqual(got, { digest: l.descriptor.digest, size: l.descriptor.size });
    assert.equal(sha256(readBlob(layout, l.descriptor.digest)), l.descriptor.digest);
  }
}

describe('registry client over plain HTTP (insecure-registries)', () => {
  let reg: TestRegistry;
  let c: RegistryClient;
  before(async () => {
    reg = await startRegistry({ schema1: true });
    skopeoPush(busyboxImage(), reg, 'busybox:latest');
    skopeoPush(busyboxImage(), reg, 'docker/busybox:latest', 'v2s2');
    skopeoPush(multiArchImage(), reg, 'multi:1');
    skopeoPush(busyboxImage(), reg, 'old:1', 'v2s1');
    c = await client({ insecure: [reg.host] });
  });
  after(async () => {
    c.close();
    await reg.stop();
  });

  it('fetches an OCI image by tag: manifest, verified config and layers as skopeo pushed them', async () => {
    const bb = busyboxImage();
    const img = await c.fetchImage(`${reg.host}/busybox:latest`);
    assert.equal(img.manifestDigest, sha256(registryManifest(reg, 'busybox:latest')));
    assert.equal(img.manifestDigest, layoutManifest(bb.layout, 'latest').digest);
    assert.equal(img.imageManifestDigest, img.manifestDigest);
    assert.equal(img.source.manifestMediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(img.source.layers.length, 3);
    assert.deepEqual(
      img.source.layers.map((l) => l.diffId),
      img.source.config.rootfs.diff_ids,
    );
    assert.deepEqual(img.source.config.config?.Cmd, ['sh']);
    assert.equal(img.servedBy, `http://${reg.host}`);
    assert.equal(img.registryRef.digest, img.manifestDigest);
    await checkLayers(img, bb.layout);
    // The uncompressed top layer is the diff id the config names.
    const top = img.source.layers[2]!;
    assert.equal((await drain((await top.open()).pipe(createGunzip()))).digest, top.diffId);
  });

  it('fetches by digest, and a Docker schema 2 image', async () => {
    const byTag = await c.fetchImage(`${reg.host}/busybox:latest`);
    const byDigest = await c.fetchImage(`${reg.host}/busybox@${byTag.manifestDigest}`);
    assert.equal(byDigest.manifestDigest, byTag.manifestDigest);
    assert.deepEqual(byDigest.source.configBytes, byTag.source.configBytes);
    const docker = await c.fetchImage(`${reg.host}/docker/busybox`);
    assert.equal(docker.source.manifestMediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(docker.source.layers[0]!.descriptor.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
    assert.deepEqual(docker.source.config.rootfs.diff_ids, byTag.source.config.rootfs.diff_ids);
    await checkLayers(docker, busyboxImage().layout);
  });

  it('picks the platform of an index: the host (amd64) by default, arm64/v8 on request', async () => {
    const index = sha256(registryManifest(reg, 'multi:1'));
    const amd = await c.fetchImage(`${reg.host}/multi:1`, { platform: parsePlatform('linux/amd64') });
    assert.equal(amd.manifestDigest, index);
    assert.notEqual(amd.imageManifestDigest, index);
    assert.equal(amd.source.config.architecture, 'amd64');
    const arm = await c.fetchImage(`${reg.host}/multi:1`, { platform: parsePlatform('linux/arm64') });
    assert.equal(arm.manifestDigest, index);
    assert.equal(arm.source.config.architecture, 'arm64');
    assert.equal(arm.source.config.variant, 'v8');
    assert.deepEqual(
      arm.source.layers.map((l) => l.descriptor.digest),
      amd.source.layers.map((l) => l.descriptor.digest),
    );
    if (process.arch === 'x64') assert.equal((await c.fetchImage(`${reg.host}/multi:1`)).imageManifestDigest, amd.imageManifestDigest);
  });

  it('names the platforms an index has when the wanted one is missing', async () => {
    await rejects(
      c.fetchImage(`${reg.host}/multi:1`, { platform: parsePlatform('linux/riscv64') }),
      /no matching manifest for linux\/riscv64 .*linux\/amd64, linux\/arm64\/v8/,
      20,
    );
  });

  it('refuses a schema 1 image clearly', async () => {
    await rejects(c.fetchImage(`${reg.host}/old:1`), /schema 1, which is deprecated and not supported/);
  });

  it('reports a missing image or tag as image not found (exit 20) with the registry message', async () => {
    await rejects(c.fetchImage(`${reg.host}/busybox:nope`), /not found in registry .*manifest unknown/, 20);
    await rejects(c.fetchImage(`${reg.host}/nothing-here:1`), /not found in registry/, 20);
  });

  it('does not talk plain HTTP to a registry not listed as insecure', async () => {
    const strict = await client();
    try {
      await rejects(strict.fetchImage(`${reg.host}/busybox:latest`), /is not reachable/);
    } finally {
      strict.close();
    }
  });

  it('stops at once when the signal aborts', async () => {
    const ac = new AbortController();
    ac.abort(new Error('pull cancelled by the test'));
    await assert.rejects(c.fetchImage(`${reg.host}/busybox:latest`, { signal: ac.signal }), /cancelled by the test/);
    // Aborted while a layer streams: the stream errors with the reason.
    const ac2 = new AbortController();
    const img = await c.fetchImage(`${reg.host}/busybox:latest`, { signal: ac2.signal });
    const stream = await img.source.layers[0]!.open();
    ac2.abort(new Error('stopped mid-layer'));
    await assert.rejects(drain(stream), /stopped mid-layer/);
  });
});

describe('blob redirects', () => {
  let reg: TestRegistry;
  let front: http.Server;
  let loop = false;
  before(async () => {
    reg = await startRegistry();
    skopeoPush(busyboxImage(), reg, 'busybox:latest');
    // A front for the registry that sends blob downloads elsewhere, as registries on object
    // storage do: to the registry itself (another origin), or back to itself forever.
    front = http.createServer((req, res) => {
      const target = `http://${reg.host}${req.url}`;
      if (req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '')) {
        res.writeHead(307, { location: loop ? (req.url as string) : target }).end();
        return;
      }
      const up = http.request(target, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    front.close();
    await reg.stop();
  });

  it('follows a redirect to another origin, and gives up after 5', async () => {
    const host = `127.0.0.1:${(front.address() as AddressInfo).port}`;
    const c = await client({ insecure: [host] });
    try {
      const img = await c.fetchImage(`${host}/busybox:latest`);
      await checkLayers(img, busyboxImage().layout);
      loop = true;
      await rejects(img.source.layers[0]!.open(), /more than 5 redirects/);
    } finally {
      c.close();
    }
  });
});

describe('a corrupted blob in the registry', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry();
    skopeoPush(busyboxImage(), reg, 'busybox:latest');
  });
  after(() => reg.stop());

  it('fails the layer stream, naming the digest', async () => {
    const c = await client({ insecure: [reg.host] });
    try {
      const img = await c.fetchImage(`${reg.host}/busybox:latest`);
      const layer = img.source.layers[1]!;
      const file = reg.blobFile(layer.descriptor.digest);
      const bytes = fs.readFileSync(file);
      bytes[bytes.length >> 1]! ^= 0xff;
      fs.writeFileSync(file, bytes);
      await assert.rejects(drain(await layer.open()), new RegExp(`layer 1 ${layer.descriptor.digest} failed verification: its content has digest`));
      // A blob of another size: refused from its Content-Length before any byte is used.
      fs.writeFileSync(file, Buffer.concat([bytes, Buffer.from('more')]));
      await rejects(layer.open(), /failed verification: the registry sends/);
      // A corrupted config fails the fetch itself.
      fs.writeFileSync(reg.blobFile(sha256(img.source.configBytes)), Buffer.alloc(img.source.configBytes.length, 0x20));
      await rejects(c.fetchImage(`${reg.host}/busybox:latest`), /image config sha256:[0-9a-f]{64} failed verification/);
    } finally {
      c.close();
    }
  });
});

describe('registry client over HTTPS', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ tls: true, clientCerts: true });
    skopeoPush(busyboxImage(), reg, 'busybox:latest');
  });
  after(() => reg.stop());

  it('trusts the CA and presents the client certificate from certs.d/<host>/', async () => {
    const c = await client({ certsDir: reg.certsDir });
    try {
      const img = await c.fetchImage(`${reg.host}/busybox:latest`);
      assert.equal(img.servedBy, `https://${reg.host}`);
      await checkLayers(img, busyboxImage().layout);
    } finally {
      c.close();
    }
  });

  it('refuses a server certificate it cannot verify', async () => {
    const c = await client();
    try {
      await rejects(c.fetchImage(`${reg.host}/busybox:latest`), /is not reachable: .*(certificate|self.signed)/i);
    } finally {
      c.close();
    }
  });

  it('uses an insecure HTTPS registry without verifying its certificate', async () => {
    const plainTls = await startRegistry({ tls: true });
    try {
      skopeoPush(busyboxImage(), plainTls, 'busybox:latest');
      const c = await client({ insecure: [plainTls.host] });
      try {
        assert.equal((await c.fetchImage(`${plainTls.host}/busybox:latest`)).servedBy, `https://${plainTls.host}`);
      } finally {
        c.close();
      }
    } finally {
      await plainTls.stop();
    }
  });

  it('refuses to go on without the client certificate the registry asks for', async () => {
    const only = path.join(tmp, 'ca-only.d');
    fs.mkdirSync(path.join(only, reg.host), { recursive: true });
    fs.copyFileSync(reg.caFile as string, path.join(only, reg.host, 'ca.crt'));
    const c = await client({ certsDir: only });
    try {
      await assert.rejects(c.fetchImage(`${reg.host}/busybox:latest`));
    } finally {
      c.close();
    }
  });
});

describe('login, logout and credentials', () => {
  let basic: TestRegistry;
  let token: TestRegistry;
  before(async () => {
    basic = await startRegistry({ auth: 'basic', user: 'alice', password: 's3cret-pass' });
    token = await startRegistry({ auth: 'token', user: 'bob', password: 'tok-pass', tokenField: 'access_token' });
    skopeoPush(busyboxImage(), basic, 'busybox:latest');
    skopeoPush(busyboxImage(), token, 'busybox:latest');
  });
  after(async () => {
    await basic.stop();
    await token.stop();
  });

  it('htpasswd: pull needs a login; login checks, stores 0600 and encrypted; logout forgets', async () => {
    const authDir = path.join(tmp, 'home-basic', '.isulad');
    const c = await client({ insecure: [basic.host], authDir });
    try {
      await rejects(c.fetchImage(`${basic.host}/busybox:latest`), /unauthorized: authentication required/);
      await rejects(c.login(basic.host, { username: 'alice', password: 'wrong' }), /unauthorized|login to .* failed/);
      assert.equal(fs.existsSync(path.join(authDir, 'auths.json')), false, 'a refused login stores nothing');
      await c.login(basic.host, { username: 'alice', password: 's3cret-pass' });
      const auths = fs.readFileSync(path.join(authDir, 'auths.json'), 'utf8');
      assert.equal(fs.statSync(path.join(authDir, 'auths.json')).mode & 0o777, 0o600);
      assert.equal(fs.statSync(path.join(authDir, 'aeskey')).mode & 0o777, 0o600);
      assert.equal(fs.statSync(path.join(authDir, 'aeskey')).size, 32);
      assert.ok(!auths.includes('s3cret-pass') && !auths.includes(Buffer.from('alice:s3cret-pass').toString('base64')), 'the password is not in clear');
      assert.ok(JSON.parse(auths).auths[basic.host].auth);
      const img = await c.fetchImage(`${basic.host}/busybox:latest`);
      await checkLayers(img, busyboxImage().layout);
      // Another client on the same home reads what the first stored.
      const again = await client({ insecure: [basic.host], authDir });
      try {
        await again.fetchImage(`${basic.host}/busybox:latest`);
        assert.equal(await again.logout(basic.host), true);
        assert.equal(await again.logout(basic.host), false);
        assert.deepEqual(JSON.parse(fs.readFileSync(path.join(authDir, 'auths.json'), 'utf8')).auths, {});
      } finally {
        again.close();
      }
    } finally {
      c.close();
    }
  });

  it('bearer tokens: refused anonymously, granted after login (token in access_token)', async () => {
    const c = await client({ insecure: [token.host] });
    try {
      await rejects(c.fetchImage(`${token.host}/busybox:latest`), /unauthorized: authentication required/);
      await rejects(c.login(token.host, { username: 'bob', password: 'nope' }), /unauthorized: incorrect username or password/);
      await c.login(token.host, { username: 'bob', password: 'tok-pass' });
      const img = await c.fetchImage(`${token.host}/busybox:latest`);
      await checkLayers(img, busyboxImage().layout);
    } finally {
      c.close();
    }
  });
});

describe('push', () => {
  let src: TestRegistry;
  let dst: TestRegistry;
  before(async () => {
    src = await startRegistry();
    dst = await startRegistry({ auth: 'token', user: 'u', password: 'p' });
    skopeoPush(busyboxImage(), src, 'busybox:latest');
  });
  after(async () => {
    await src.stop();
    await dst.stop();
  });

  it('uploads the layers and a Docker schema 2 manifest that skopeo reads; a second push sends no layer', async () => {
    const c = await client({ insecure: [src.host, dst.host] });
    try {
      const img = await c.fetchImage(`${src.host}/busybox:latest`);
      const layers = img.source.layers.map((l) => ({ diffId: l.diffId, open: async () => (await l.open()).pipe(createGunzip()) }));
      await rejects(pushImage(c, `${dst.host}/pushed:1`, { configBytes: img.source.configBytes, layers, tmpDir: tmp }), /unauthorized/);
      await c.login(dst.host, { username: 'u', password: 'p' });
      const seen: string[] = [];
      const res = await pushImage(c, `${dst.host}/pushed:1`, {
        configBytes: img.source.configBytes,
        layers,
        tmpDir: tmp,
        onProgress: (p) => seen.push(p.status),
      });
      assert.ok(seen.filter((s) => s === 'Pushed').length === 3, seen.join());
      const inspect = JSON.parse(execFileSync('skopeo', ['inspect', ...dst.skopeoArgs('inspect'), `docker://${dst.host}/pushed:1`], { encoding: 'utf8' })) as {
        Digest: string;
        Layers: string[];
      };
      assert.equal(inspect.Digest, res.manifestDigest);
      assert.equal(inspect.Layers.length, 3);
      const raw = registryManifest(dst, 'pushed:1');
      assert.deepEqual(raw, res.manifestBytes);
      assert.equal(JSON.parse(raw.toString()).mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
      // Our own pull of it gives back the config and the same diff ids.
      const back = await c.fetchImage(`${dst.host}/pushed:1`);
      assert.deepEqual(back.source.configBytes, img.source.configBytes);
      for (const l of back.source.layers) assert.equal((await drain((await l.open()).pipe(createGunzip()))).digest, l.diffId);
      // Again, naming the compressed blobs: every layer is already there.
      const known = back.source.layers.map((l) => ({ diffId: l.diffId, compressed: l.descriptor, open: () => Promise.reject(new Error('must not be read')) }));
      const seen2: string[] = [];
      const res2 = await pushImage(c, `${dst.host}/pushed:2`, {
        configBytes: img.source.configBytes,
        layers: known,
        tmpDir: tmp,
        onProgress: (p) => seen2.push(p.status),
      });
      assert.equal(seen2.filter((s) => s === 'Layer already exists').length, 3);
      assert.equal(res2.manifestDigest, res.manifestDigest);
      assert.deepEqual(
        fs.readdirSync(tmp).filter((n) => n.startsWith('push-')),
        [],
        'no temporary layer left',
      );
    } finally {
      c.close();
    }
  });

  it('refuses a layer whose content is not its diff id, uploading nothing of it', async () => {
    const c = await client({ insecure: [src.host] });
    try {
      const img = await c.fetchImage(`${src.host}/busybox:latest`);
      const l0 = img.source.layers[0]!;
      const layers = [{ diffId: img.source.layers[1]!.diffId, open: async () => (await l0.open()).pipe(createGunzip()) }];
      await rejects(pushImage(c, `${src.host}/bad:1`, { configBytes: img.source.configBytes, layers, tmpDir: tmp }), /not its diff id/);
    } finally {
      c.close();
    }
  });
});

describe('mirrors and registry transformation', () => {
  let mirror: TestRegistry;
  let origin: TestRegistry;
  before(async () => {
    mirror = await startRegistry();
    origin = await startRegistry();
    // The mirror has library/busybox:latest (OCI); the origin has it as Docker schema 2 and also :only-origin.
    skopeoPush(busyboxImage(), mirror, 'library/busybox:latest');
    skopeoPush(busyboxImage(), origin, 'library/busybox:latest', 'v2s2');
    skopeoPush(busyboxImage(), origin, 'library/busybox:only-origin', 'v2s2');
  });
  after(async () => {
    await mirror.stop();
    await origin.stop();
  });

  it('tries the mirrors in order for docker.io names, then docker.io as transformed', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const c = await client({
      mirrors: [`http://${dead}`, mirror.host],
      insecure: [mirror.host, origin.host, dead],
      constants: { 'default-host': 'docker.io', 'registry-transformation': { 'docker.io': origin.host } },
    });
    try {
      const a = await c.fetchImage('busybox');
      assert.equal(a.servedBy, `http://${mirror.host}`);
      assert.equal(a.source.manifestMediaType, 'application/vnd.oci.image.manifest.v1+json');
      assert.equal(a.registryRef.registry, 'docker.io');
      const b = await c.fetchImage('busybox:only-origin');
      assert.equal(b.servedBy, `http://${origin.host}`);
      assert.equal(b.source.manifestMediaType, 'application/vnd.docker.distribution.manifest.v2+json');
      // A name on another registry never goes to the mirrors.
      await rejects(c.fetchImage(`${origin.host}/library/busybox:nope`), /not found in registry/, 20);
    } finally {
      c.close();
    }
  });

  it('without mirrors, docker.io goes straight to the transformed host', async () => {
    const c = await client({ insecure: [origin.host], constants: { 'registry-transformation': { 'docker.io': origin.host } } });
    try {
      const img = await c.fetchImage('docker.io/library/busybox:latest');
      assert.equal(img.servedBy, `http://${origin.host}`);
      await checkLayers(img, busyboxImage().layout);
    } finally {
      c.close();
    }
  });
});
