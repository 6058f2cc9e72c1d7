import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError } from '../../src/api/errors.js';
import { familiarName, familiarReference, formatReference, parseReference } from '../../src/image/oci/reference.js';
import { parseChallenges } from '../../src/image/oci/registry/auth.js';
import { hostOf } from '../../src/image/oci/registry/config.js';
import { normalizeRegistry } from '../../src/image/oci/registry/client.js';
import { MediaType, parseConfig, parseManifest, parsePlatform, pickPlatform } from '../../src/image/oci/registry/manifest.js';

const D = (c: string): string => `sha256:${c.repeat(64)}`;

describe('image references', () => {
  const cases: [string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['user/app', 'docker.io/user/app:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/user/app:v1', 'docker.io/user/app:v1'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['127.0.0.1:5000/a/b/c:t', '127.0.0.1:5000/a/b/c:t'],
    ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9'],
    [`busybox@${D('a')}`, `docker.io/library/busybox@${D('a')}`],
    [`busybox:1@${D('b')}`, `docker.io/library/busybox:1@${D('b')}`],
    ['Host/app', 'Host/app:latest'],
    ['a__b-c/e_f.g', 'docker.io/a__b-c/e_f.g:latest'],
  ];
  for (const [input, want] of cases) {
    it(`${input} → ${want}`, () => assert.equal(formatReference(parseReference(input)), want));
  }

  it('refuses what distribution refuses, with a clear message', () => {
    const bad: [string, RegExp][] = [
      ['', /empty name/],
      ['Busybox', /must be lowercase/],
      ['busybox:', /invalid tag/],
      [`busybox:${'t'.repeat(129)}`, /invalid tag/],
      ['busy..box', /invalid repository name/],
      ['busybox@sha256:abc', /invalid digest/],
      [`busybox@sha512:${'a'.repeat(128)}`, /unsupported digest algorithm/],
      ['-x/app', /invalid repository name/],
      ['host:99999/app', /invalid registry host/],
      [`${'a'.repeat(250)}/${'b'.repeat(10)}`, /longer than 255/],
      ['a b', /invalid repository name/],
    ];
    for (const [input, re] of bad) {
      assert.throws(
        () => parseReference(input),
        (e: unknown) => e instanceof EngineError && e.kind === 'InvalidArgument' && re.test(e.message),
        input,
      );
    }
  });

  it('formats the familiar short form as isula images shows it', () => {
    assert.equal(familiarName(parseReference('busybox')), 'busybox');
    assert.equal(familiarName(parseReference('user/app')), 'user/app');
    assert.equal(familiarReference(parseReference('docker.io/library/busybox:1')), 'busybox:1');
    assert.equal(familiarName(parseReference('127.0.0.1:5000/busybox')), '127.0.0.1:5000/busybox');
  });

  it('uses the configured default registry, adding library/ only on docker.io', () => {
    assert.equal(formatReference(parseReference('busybox', 'hub.example.com')), 'hub.example.com/busybox:latest');
  });

  it('normalizes registry names for login', () => {
    assert.equal(normalizeRegistry('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(normalizeRegistry('127.0.0.1:5000'), '127.0.0.1:5000');
    assert.equal(hostOf('http://Mirror.Example:5000/'), 'mirror.example:5000');
  });
});

describe('registry challenges', () => {
  it('parses Bearer with quoted params and Basic', () => {
    const c = parseChallenges(['Bearer realm="https://auth.example/token",service="reg, ok",scope="repository:a/b:pull,push"', 'Basic realm="r"']);
    assert.deepEqual(c, [
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'reg, ok', scope: 'repository:a/b:pull,push' } },
      { scheme: 'basic', params: { realm: 'r' } },
    ]);
  });
});

describe('manifests and platforms', () => {
  const layer = { mediaType: MediaType.ociLayerGzip, digest: D('1'), size: 10 };
  const config = { mediaType: MediaType.ociConfig, digest: D('2'), size: 5 };
  const manifest = (extra: object = {}): Buffer =>
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer], ...extra }));

  it('parses an OCI manifest and a Docker one by Content-Type', () => {
    const m = parseManifest(manifest(), MediaType.ociManifest, 'x');
    assert.equal(m.kind, 'manifest');
    const docker = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        config: { ...config, mediaType: MediaType.dockerConfig },
        layers: [{ ...layer, mediaType: MediaType.dockerLayerGzip }],
      }),
    );
    assert.equal(parseManifest(docker, `${MediaType.dockerManifest}; charset=utf-8`, 'x').mediaType, MediaType.dockerManifest);
  });

  it('refuses schema 1 clearly, and bad descriptors', () => {
    assert.throws(
      () => parseManifest(Buffer.from('{"schemaVersion":1,"fsLayers":[]}'), MediaType.dockerSchema1Signed, 'old:1'),
      /schema 1, which is deprecated and not supported/,
    );
    assert.throws(() => parseManifest(manifest({ layers: [{ ...layer, digest: 'sha256:../../etc' }] }), undefined, 'x'), /not sha256/);
    assert.throws(() => parseManifest(manifest({ layers: [{ ...layer, size: -1 }] }), undefined, 'x'), /non-negative/);
    assert.throws(() => parseManifest(manifest({ layers: [{ ...layer, mediaType: 'text/plain' }] }), undefined, 'x'), /unknown media type/);
    assert.throws(() => parseManifest(manifest({ config: { ...config, mediaType: 'application/vnd.example+json' } }), undefined, 'x'), /not an image config/);
    assert.throws(() => parseManifest(Buffer.from('nope'), undefined, 'x'), /not JSON/);
  });

  it('checks the config against the layers', () => {
    const cfg = (ids: string[]): Buffer => Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ids } }));
    assert.equal(parseConfig(cfg([D('3')]), 1, 'x').rootfs.diff_ids.length, 1);
    assert.throws(() => parseConfig(cfg([D('3')]), 2, 'x'), /1 diff ids for 2 layers/);
  });

  it('picks the platform from an index, arm64 meaning v8', () => {
    const mt = MediaType.ociManifest;
    const list = [
      { mediaType: mt, digest: D('a'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: mt, digest: D('b'), size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { mediaType: mt, digest: D('c'), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      { mediaType: mt, digest: D('d'), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
    ];
    assert.equal(pickPlatform(list, parsePlatform('linux/amd64'), 'm').digest, D('a'));
    assert.equal(pickPlatform(list, parsePlatform('linux/arm64'), 'm').digest, D('b'));
    assert.equal(pickPlatform(list, parsePlatform('linux/aarch64'), 'm').digest, D('b'));
    assert.equal(pickPlatform(list, parsePlatform('linux/arm/v7'), 'm').digest, D('c'));
    assert.throws(
      () => pickPlatform(list, parsePlatform('linux/riscv64'), 'm:1'),
      (e: unknown) =>
        e instanceof EngineError &&
        e.exitCode === 20 &&
        /no matching manifest for linux\/riscv64 .*linux\/amd64, linux\/arm64\/v8, linux\/arm\/v7$/.test(e.message),
    );
    assert.throws(() => parsePlatform('linux'), /expected os\/arch/);
  });
});
