import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

/**
 * The modules with a branch for Bun (build.sh --runtime bun), run under the Bun that
 * package.json pins: each test writes a small script that imports the compiled module and
 * prints what it saw as JSON.
 */
const BUN = path.resolve(`node_modules/@oven/bun-linux-${process.arch === 'arm64' ? 'aarch64' : 'x64'}/bin/bun`);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bun-runtime-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const moduleUrl = (file: string): string => new URL(`../../src/${file}`, import.meta.url).href;

function underBun(name: string, script: string): Promise<unknown> {
  const file = path.join(dir, `${name}.mjs`);
  fs.writeFileSync(file, script);
  return new Promise((resolve, reject) => {
    const child = spawn(BUN, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out));
      else reject(new Error(`bun ${name}: ${signal ?? code}: ${out}${err}`));
    });
  });
}

function mkfifo(name: string): string {
  const file = path.join(dir, name);
  assert.equal(spawnSync('mkfifo', [file]).status, 0);
  return file;
}

describe('under Bun', () => {
  it('a FIFO reader gets what each writer writes, and ends when the last writer closes', async () => {
    const fifo = mkfifo('out');
    const result = await underBun(
      'fifo',
      `import fs from 'node:fs';
import { openFifoReader } from ${JSON.stringify(moduleUrl('sys/fifo.js'))};
const writer = fs.openSync(${JSON.stringify(fifo)}, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
const reader = openFifoReader(${JSON.stringify(fifo)});
const chunks = [];
reader.on('data', (d) => chunks.push(d.toString()));
reader.on('end', () => console.log(JSON.stringify({ text: chunks.join(''), ended: true })));
fs.writeSync(writer, 'one,');
setTimeout(() => { fs.writeSync(writer, 'two'); fs.closeSync(writer); }, 50);
`,
    );
    assert.deepEqual(result, { text: 'one,two', ended: true });
  });

  it("LXC's monitor FIFO gives each container's state as lxc-start writes it", async () => {
    const lxcpath = path.join(dir, 'lxcpath');
    fs.mkdirSync(path.join('/run/lxc', lxcpath), { recursive: true });
    try {
      const result = await underBun(
        'monitor',
        `import fs from 'node:fs';
import { ensureFifo } from ${JSON.stringify(moduleUrl('sys/fifo.js'))};
import { LxcMonitor } from ${JSON.stringify(moduleUrl('runtime/lxc/monitor.js'))};
const monitor = new LxcMonitor(${JSON.stringify(lxcpath)});
ensureFifo(monitor.fifoPath);
monitor.open();
const reached = monitor.waitFor('c1', ['RUNNING'], 5000);
// As lxc-start does: open, write one struct lxc_msg { int type; char name[256]; int value; }, close.
const msg = Buffer.alloc(264);
msg.write('c1', 4);
msg.writeInt32LE(2, 260);
const fd = fs.openSync(monitor.fifoPath, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
fs.writeSync(fd, msg);
fs.closeSync(fd);
const state = await reached;
monitor.close();
console.log(JSON.stringify({ state }));
`,
      );
      assert.deepEqual(result, { state: 'RUNNING' });
    } finally {
      fs.rmSync(path.join('/run/lxc', dir), { recursive: true, force: true });
    }
  });

  it('the version a client and a daemon report names Bun', async () => {
    const result = await underBun(
      'version',
      `import { versionInfo } from ${JSON.stringify(moduleUrl('api/version.js'))};
console.log(JSON.stringify({ node: versionInfo().nodeVersion }));
`,
    );
    assert.match((result as { node: string }).node, /^\d+\.\d+\.\d+ \(Bun \d+\.\d+\.\d+\)$/);
  });

  it("the client's unix socket is Bun's own: it sends, half-closes, reads a large reply whole, and names a missing socket", async () => {
    const file = path.join(dir, 'daemon.sock');
    const srv = net.createServer((c) => {
      const parts: Buffer[] = [];
      c.on('error', () => undefined);
      c.on('data', (d: Buffer) => parts.push(d));
      c.on('end', () => {
        const got = Buffer.concat(parts);
        c.end(Buffer.concat([Buffer.from(`got ${got.length} bytes from ${got.subarray(0, 4).toString()}:`), Buffer.alloc(3_000_000, 'r')]));
      });
    });
    await new Promise<void>((resolve) => srv.listen(file, resolve));
    try {
      const result = await underBun(
        'socket',
        `import net from 'node:net';
import { connectUnix } from ${JSON.stringify(moduleUrl('client/unix-socket.js'))};
const talk = (file, write) => new Promise((resolve) => {
  const socket = connectUnix(file);
  const parts = [];
  let error;
  socket.on('data', (d) => parts.push(d));
  socket.on('error', (e) => (error = e.code));
  socket.on('close', () => resolve({ nodeNet: socket instanceof net.Socket, reply: Buffer.concat(parts), error }));
  write(socket);
});
const ok = await talk(${JSON.stringify(file)}, (s) => { s.write(Buffer.from('one,')); s.write(Buffer.alloc(2_000_000, 'w')); s.end(); });
const missing = await talk(${JSON.stringify(path.join(dir, 'missing.sock'))}, () => undefined);
const head = ok.reply.subarray(0, ok.reply.indexOf(':') + 1).toString();
console.log(JSON.stringify({ nodeNet: ok.nodeNet, head, length: ok.reply.length, error: ok.error ?? null, missing: missing.error }));
`,
      );
      const head = 'got 2000004 bytes from one,:';
      assert.deepEqual(result, { nodeNet: false, head, length: head.length + 3_000_000, error: null, missing: 'ENOENT' });
    } finally {
      srv.close();
    }
  });
});
