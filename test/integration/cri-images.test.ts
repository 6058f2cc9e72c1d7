/**
 * CRI's ImageService against the real daemon and Debian's docker-registry (images pushed by
 * skopeo): crictl (grpc-go) and a grpc-js client typed from the project's proto pull, list,
 * inspect, remove and measure the same store `isula images` shows; a pull's AuthConfig is
 * used for that pull only, never stored or logged.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ImageService } from '../../src/api/cri/gen/api_pb.js';
import { show } from '../helpers/cli.js';
import { criCall, criClient, criFailure, crictl, findCrictl } from '../helpers/cri.js';
import type { RunResult } from '../helpers/engine.js';
import { TestEngine } from '../helpers/engine.js';
import { busyboxImage, pushImage } from '../helpers/oci-images.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const CRICTL = findCrictl();
if (!CRICTL) console.log('# crictl not found at ../shared/tools/crictl (or $CRICTL): the crictl image tests are skipped');
const noCrictl = CRICTL ? false : 'crictl not found at ../shared/tools/crictl (set CRICTL to run these)';
const im = ImageService.method;

const ok = (r: RunResult, what: string): string => {
  assert.equal(r.code, 0, `${what}: ${show(r)}`);
  return r.stdout;
};

describe('CRI ImageService', { timeout: 10 * 60_000 }, () => {
  let reg: TestRegistry;
  let authReg: TestRegistry;
  let engine: TestEngine;
  let client: grpc.Client;
  let home: string;
  const savedHome = process.env.HOME;
  let bb: string;
  let pause: string;
  let secret: string;

  before(async () => {
    [reg, authReg] = await Promise.all([startRegistry(), startRegistry({ auth: 'basic', user: 'kube', password: 'cri-S3cret-pass' })]);
    pushImage(busyboxImage(), reg, 'busybox:latest');
    pushImage(busyboxImage(), reg, 'pause:3.0');
    pushImage(busyboxImage(), authReg, 'private:1');
    bb = `${reg.host}/busybox:latest`;
    pause = `${reg.host}/pause:3.0`;
    secret = `${authReg.host}/private:1`;
    // Where the daemon would keep `isula login` credentials: a CRI pull must write nothing there.
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-test-home-'));
    process.env.HOME = home;
    engine = await TestEngine.start(['--log-driver', 'stdout', '--log-level', 'DEBUG'], {
      'enable-cri-v1': true,
      'pod-sandbox-image': pause,
      'insecure-registries': [reg.host, authReg.host],
    });
    client = criClient(engine.sock);
  });

  after(async () => {
    client?.close();
    await engine?.cleanup();
    process.env.HOME = savedHome;
    if (home) fs.rmSync(home, { recursive: true, force: true });
    await Promise.all([reg?.stop(), authReg?.stop()]);
  });

  it('pulls, answers the image id as image_ref, and shows the image in ImageStatus, ListImages and isula images', async () => {
    const pulled = await criCall(client, im.pullImage, { image: { image: bb } });
    assert.match(pulled.imageRef, /^sha256:[0-9a-f]{64}$/);
    const status = await criCall(client, im.imageStatus, { image: { image: bb } });
    const image = status.image;
    assert.ok(image, 'ImageStatus has the image');
    assert.equal(image.id, pulled.imageRef);
    assert.deepEqual(image.repoTags, [bb]);
    assert.equal(image.repoDigests.length, 1);
    assert.match(image.repoDigests[0]!, new RegExp(`^${reg.host.replace(/\./g, '\\.')}/busybox@sha256:[0-9a-f]{64}$`));
    assert.ok(image.size > 0n);
    assert.equal(image.spec?.image, pulled.imageRef);
    assert.equal(image.pinned, false);
    assert.deepEqual(status.info, {}, 'info only when verbose');
    // By id and by id prefix too.
    assert.equal((await criCall(client, im.imageStatus, { image: { image: pulled.imageRef } })).image?.id, pulled.imageRef);
    assert.equal((await criCall(client, im.imageStatus, { image: { image: pulled.imageRef.slice(7, 19) } })).image?.id, pulled.imageRef);

    const list = await criCall(client, im.listImages, {});
    assert.deepEqual(
      list.images.map((i) => i.id),
      [pulled.imageRef],
    );
    const filtered = await criCall(client, im.listImages, { filter: { image: { image: bb } } });
    assert.deepEqual(
      filtered.images.map((i) => i.repoTags),
      [[bb]],
    );
    assert.deepEqual((await criCall(client, im.listImages, { filter: { image: { image: `${reg.host}/nothing:1` } } })).images, []);
    const isula = ok(await engine.isula(['images']), 'isula images');
    assert.match(isula, new RegExp(`${reg.host}/busybox +latest +${pulled.imageRef.slice(7, 19)}`));
  });

  it('answers ImageStatus of a missing image with no image, not an error; verbose adds the image config', async () => {
    const missing = await criCall(client, im.imageStatus, { image: { image: `${reg.host}/missing:1` } });
    assert.equal(missing.image, undefined);
    assert.deepEqual(missing.info, {});
    assert.equal((await criCall(client, im.imageStatus, { image: { image: 'sha256:'.padEnd(71, 'e') } })).image, undefined);
    const verbose = await criCall(client, im.imageStatus, { image: { image: bb }, verbose: true });
    const info = JSON.parse(verbose.info.info ?? '{}') as { imageSpec: { rootfs: { diff_ids: string[] } }; chainID: string };
    assert.equal(info.imageSpec.rootfs.diff_ids.length, 3);
    assert.match(info.chainID, /^[0-9a-f]{64}$|^sha256:/);
  });

  it('refuses an invalid reference with INVALID_ARGUMENT, and an image the registry lacks with NOT_FOUND', async () => {
    for (const call of [
      criCall(client, im.pullImage, { image: { image: 'Bad//Name:' } }),
      criCall(client, im.pullImage, { image: { image: '' } }),
      criCall(client, im.imageStatus, { image: { image: 'Bad//Name:' } }),
      criCall(client, im.removeImage, { image: { image: '' } }),
    ]) {
      const e = await criFailure(call);
      assert.equal(e.code, grpc.status.INVALID_ARGUMENT, e.details);
    }
    const absent = await criFailure(criCall(client, im.pullImage, { image: { image: `${reg.host}/absent:1` } }));
    assert.equal(absent.code, grpc.status.NOT_FOUND, absent.details);
  });

  it('pulls from an htpasswd registry with the AuthConfig of the call only, storing and logging nothing of it', async () => {
    const anonymous = await criFailure(criCall(client, im.pullImage, { image: { image: secret } }));
    assert.equal(anonymous.code, grpc.status.UNKNOWN);
    assert.match(anonymous.details, /unauthorized/);
    const wrong = await criFailure(criCall(client, im.pullImage, { image: { image: secret }, auth: { username: authReg.user!, password: 'wrong' } }));
    assert.match(wrong.details, /unauthorized/);
    // Credentials for another registry are not sent to this one.
    const elsewhere = await criFailure(
      criCall(client, im.pullImage, {
        image: { image: secret },
        auth: { username: authReg.user!, password: authReg.password!, serverAddress: 'https://registry.example.com' },
      }),
    );
    assert.match(elsewhere.details, /unauthorized/);

    const pulled = await criCall(client, im.pullImage, {
      image: { image: secret },
      auth: { username: authReg.user!, password: authReg.password!, serverAddress: authReg.host },
    });
    assert.match(pulled.imageRef, /^sha256:/);
    ok(await engine.isula(['rmi', secret]), 'rmi');
    // `auth` is the base64 of user:password, as kubelet sends it from a docker config.
    const auth = Buffer.from(`${authReg.user}:${authReg.password}`).toString('base64');
    assert.equal((await criCall(client, im.pullImage, { image: { image: secret }, auth: { auth } })).imageRef, pulled.imageRef);
    const token = await criFailure(criCall(client, im.pullImage, { image: { image: secret }, auth: { registryToken: 'abc' } }));
    assert.equal(token.code, grpc.status.INVALID_ARGUMENT);
    assert.match(token.details, /registry_token is not supported/);

    // Used for that pull only: a later pull without them is refused again, nothing was saved.
    ok(await engine.isula(['rmi', secret]), 'rmi');
    assert.match((await criFailure(criCall(client, im.pullImage, { image: { image: secret } }))).details, /unauthorized/);
    assert.equal(fs.existsSync(path.join(home, '.isulad', 'auths.json')), false, 'no credentials stored');
    assert.equal(engine.stdout.includes(authReg.password!), false, 'the password is not in the log');
    assert.equal(engine.stdout.includes(auth), false, 'the auth is not in the log');
  });

  it('reports the sandbox image pinned', async () => {
    await criCall(client, im.pullImage, { image: { image: pause } });
    const status = await criCall(client, im.imageStatus, { image: { image: pause } });
    assert.equal(status.image?.pinned, true);
    // busybox and the pause image are one image here (skopeo pushed the same layout): pinned by its pause name.
    const listed = await criCall(client, im.listImages, {});
    assert.deepEqual(
      listed.images.filter((i) => i.pinned).map((i) => i.id),
      [status.image?.id],
    );
  });

  it('removes an image by name or id, every name of it; removing one not present succeeds', async () => {
    const { imageRef } = await criCall(client, im.pullImage, { image: { image: bb } });
    ok(await engine.isula(['tag', bb, 'extra:1']), 'tag');
    await criCall(client, im.removeImage, { image: { image: bb } });
    assert.equal((await criCall(client, im.imageStatus, { image: { image: imageRef } })).image, undefined);
    assert.doesNotMatch(ok(await engine.isula(['images']), 'images'), /extra/);
    await criCall(client, im.removeImage, { image: { image: bb } });
    await criCall(client, im.removeImage, { image: { image: `${reg.host}/never:1` } });
    await criCall(client, im.removeImage, { image: { image: imageRef } });
    // An image pulled by isula is there for CRI too.
    ok(await engine.isula(['pull', bb], { timeoutMs: 120_000 }), 'isula pull');
    const again = await criCall(client, im.listImages, { filter: { image: { image: bb } } });
    assert.equal(again.images[0]?.id, imageRef);
  });

  it('refuses to remove an image a running container uses, with FAILED_PRECONDITION', async () => {
    await criCall(client, im.pullImage, { image: { image: bb } });
    ok(await engine.isula(['run', '-d', '--name', 'user', bb, 'sleep', '1000'], { timeoutMs: 60_000 }), 'run');
    const busy = await criFailure(criCall(client, im.removeImage, { image: { image: bb } }));
    assert.equal(busy.code, grpc.status.FAILED_PRECONDITION, busy.details);
    assert.match(busy.details, /is using it/);
    ok(await engine.isula(['rm', '-f', 'user'], { timeoutMs: 60_000 }), 'rm');
    assert.ok((await criCall(client, im.imageStatus, { image: { image: bb } })).image, 'still there');
  });

  it('measures the image filesystem at <graph>/storage', async () => {
    const fsInfo = await criCall(client, im.imageFsInfo, {});
    assert.equal(fsInfo.imageFilesystems.length, 1);
    const usage = fsInfo.imageFilesystems[0]!;
    assert.equal(usage.fsId?.mountpoint, path.join(engine.root, 'storage'));
    assert.ok((usage.usedBytes?.value ?? 0n) > 1_000_000n, 'busybox is in the store');
    assert.ok((usage.inodesUsed?.value ?? 0n) > 10n);
    const now = BigInt(Date.now()) * 1_000_000n;
    assert.ok(usage.timestamp <= now && usage.timestamp > now - 60_000_000_000n);
  });

  describe('with crictl', { skip: noCrictl }, () => {
    const cc = (args: string[]): Promise<RunResult> => crictl(CRICTL!, engine.sock, args);

    it('pull, images, inspecti, rmi and imagefsinfo', async () => {
      const pulled = ok(await cc(['pull', bb]), 'crictl pull');
      const id = /Image is up to date for (sha256:[0-9a-f]{64})/.exec(pulled)?.[1];
      assert.ok(id, pulled);
      const images = ok(await cc(['images']), 'crictl images');
      assert.match(images, new RegExp(`${reg.host}/busybox +latest +${id.slice(7, 20)}`));
      const inspected = JSON.parse(ok(await cc(['inspecti', bb]), 'crictl inspecti')) as {
        status: { id: string; repoTags: string[]; pinned: boolean };
        info: { imageSpec: { os: string } };
      };
      assert.equal(inspected.status.id, id);
      assert.deepEqual(inspected.status.repoTags, [bb]);
      assert.equal(inspected.info.imageSpec.os, 'linux');
      const fsInfo = JSON.parse(ok(await cc(['imagefsinfo']), 'crictl imagefsinfo')) as { status: { fsId: { mountpoint: string } } };
      assert.equal(fsInfo.status.fsId.mountpoint, path.join(engine.root, 'storage'));
      ok(await cc(['rmi', bb]), 'crictl rmi');
      assert.doesNotMatch(ok(await cc(['images']), 'crictl images'), /busybox/);
      const missing = await cc(['inspecti', bb]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /no such image/i);
    });

    it('pull with --creds against the htpasswd registry', async () => {
      const refused = await cc(['pull', secret]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /unauthorized/);
      ok(await cc(['pull', '--creds', `${authReg.user}:${authReg.password}`, secret]), 'crictl pull --creds');
      ok(await cc(['rmi', secret]), 'crictl rmi');
    });
  });
});
