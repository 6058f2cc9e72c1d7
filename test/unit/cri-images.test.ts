import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { AuthConfigSchema } from '../../src/api/cri/gen/api_pb.js';
import { criUser, pullCredentials } from '../../src/services/cri/images.js';
import { diskUsage } from '../../src/sys/disk-usage.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

describe('CRI image fields', () => {
  it('takes uid or username from the image config User, as containerd', () => {
    assert.deepEqual(criUser(undefined), { username: '' });
    assert.deepEqual(criUser(''), { username: '' });
    assert.deepEqual(criUser('1000'), { uid: { value: 1000n }, username: '' });
    assert.deepEqual(criUser('0:0'), { uid: { value: 0n }, username: '' });
    assert.deepEqual(criUser('nobody'), { username: 'nobody' });
    assert.deepEqual(criUser('www-data:www-data'), { username: 'www-data' });
  });

  it("reads a pull's AuthConfig: username/password, else auth; only for the image's registry", () => {
    const auth = (init: Parameters<typeof create<typeof AuthConfigSchema>>[1]) => create(AuthConfigSchema, init);
    assert.equal(pullCredentials(undefined, 'r:5000'), undefined);
    assert.equal(pullCredentials(auth({}), 'r:5000'), undefined);
    assert.deepEqual(pullCredentials(auth({ username: 'u', password: 'p:x' }), 'r:5000'), { username: 'u', password: 'p:x' });
    const b64 = Buffer.from('u:p:x').toString('base64');
    assert.deepEqual(pullCredentials(auth({ auth: b64 }), 'r:5000'), { username: 'u', password: 'p:x' });
    assert.deepEqual(pullCredentials(auth({ auth: b64, serverAddress: 'https://r:5000/v2/' }), 'r:5000'), { username: 'u', password: 'p:x' });
    assert.equal(pullCredentials(auth({ auth: b64, serverAddress: 'other:5000' }), 'r:5000'), undefined);
    assert.deepEqual(pullCredentials(auth({ username: 'u', serverAddress: 'https://index.docker.io/v1/' }), 'docker.io'), { username: 'u', password: '' });
    assert.throws(() => pullCredentials(auth({ auth: Buffer.from('nocolon').toString('base64') }), 'r'), /invalid auth/);
    assert.throws(() => pullCredentials(auth({ identityToken: 't' }), 'r'), /identity_token is not supported/);
  });

  it('counts blocks and inodes of a folder once per inode', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'du-test-'));
    try {
      fs.writeFileSync(path.join(dir, 'a'), Buffer.alloc(64 * 1024, 1));
      fs.linkSync(path.join(dir, 'a'), path.join(dir, 'b'));
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.symlinkSync('/etc', path.join(dir, 'sub', 'link'));
      const u = await diskUsage(dir);
      assert.equal(u.inodes, 4, 'the folder, a (= b), sub, link');
      assert.ok(u.bytes >= 64 * 1024 && u.bytes < 200 * 1024, String(u.bytes));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
