// The cost of the OCI store's unpacking (docs/design.md, "OCI layer store and unpacking"):
// one gzipped layer of about SIZE MB, made by GNU tar from real files (node_modules: many
// small files, as in an application image), unpacked RUNS times each way, alternating:
//   plain   `tar -xzf` (GNU tar with gzip, what a naive store would run)
//   store   OciStore.putLayer: Node's gunzip, the validating JS pass, sha256 (diff_id), the
//           skeleton, GNU tar writing the files from rebuilt headers, and syncfs before commit
//   rebuild layerTar: the original tar rebuilt from skeleton + files, sha256 checked
// Wall time and CPU time (user+sys of this process and its children) per run; medians shown.
// Needs the compiled store: `npx tsc -p tsconfig.json` (out/). As root.
// Usage: node bench/oci-unpack.mjs [--size 100] [--runs 3] [--source DIR]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values: opts } = parseArgs({
  options: { size: { type: 'string', default: '100' }, runs: { type: 'string', default: '3' }, source: { type: 'string' } },
});
const { OciStore } = await import(path.join(ROOT, 'out/src/image/oci/storage/store.js'));
const { silentLogger } = await import(path.join(ROOT, 'out/src/sys/log.js'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-bench-unpack-'));
const sha256 = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Files from `source` (sorted walk) until `limit` bytes, as a list for tar -T. */
function pickFiles(source, limit) {
  const out = [];
  let total = 0;
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (total >= limit) return;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() || e.isSymbolicLink()) {
        out.push(path.relative(source, p));
        total += fs.lstatSync(p).size;
      }
    }
  };
  walk(source);
  return { files: out, total };
}

function childrenCpu() {
  // Fields 16 and 17 of /proc/self/stat: cutime and cstime of waited-for children, in clock ticks.
  const f = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}

async function measure(fn) {
  const before = { self: process.cpuUsage(), kids: childrenCpu() };
  const t0 = performance.now();
  await fn();
  const wall = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(before.self);
  return { wall, cpu: (self.user + self.system) / 1e6 + childrenCpu() - before.kids };
}

const source = opts.source ?? path.join(ROOT, 'node_modules');
const { files, total } = pickFiles(source, Number(opts.size) * 1e6);
fs.writeFileSync(path.join(tmp, 'list'), `${files.join('\n')}\n`);
const tar = execFileSync('tar', ['--numeric-owner', '-C', source, '-cf', '-', '-T', path.join(tmp, 'list')], { maxBuffer: 4 << 30 });
const blob = execFileSync('gzip', ['-6'], { input: tar, maxBuffer: 4 << 30 });
fs.writeFileSync(path.join(tmp, 'layer.tar.gz'), blob);
console.log(
  `layer: ${files.length} files, ${(total / 1e6).toFixed(1)} MB of content, tar ${(tar.length / 1e6).toFixed(1)} MB, gzip ${(blob.length / 1e6).toFixed(1)} MB`,
);

const source_ = {
  descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(blob), size: blob.length },
  diffId: sha256(tar),
  open: async () => fs.createReadStream(path.join(tmp, 'layer.tar.gz'), { highWaterMark: 256 * 1024 }),
};

const results = { plain: [], store: [], rebuild: [] };
for (let i = 0; i < Number(opts.runs); i++) {
  const dir = path.join(tmp, `plain${i}`);
  fs.mkdirSync(dir);
  results.plain.push(
    await measure(async () => {
      execFileSync('tar', ['-xzf', path.join(tmp, 'layer.tar.gz'), '-C', dir, '--numeric-owner', '--same-owner', '-p', '--xattrs', '--xattrs-include=*']);
      execFileSync('sync', ['-f', dir]);
    }),
  );
  const store = await OciStore.open({ graph: path.join(tmp, `graph${i}`), driver: 'overlay2', storageOpts: [], log: silentLogger });
  results.store.push(await measure(() => store.putLayer(undefined, source_)));
  results.rebuild.push(
    await measure(async () => {
      for await (const _ of Readable.from(store.layerTar(source_.diffId)));
    }),
  );
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(path.join(tmp, `graph${i}`), { recursive: true, force: true });
}
for (const [name, rs] of Object.entries(results)) {
  console.log(
    `${name.padEnd(8)} wall ${median(rs.map((r) => r.wall)).toFixed(2)} s   cpu ${median(rs.map((r) => r.cpu)).toFixed(2)} s   (runs: ${rs.map((r) => r.wall.toFixed(2)).join(', ')})`,
  );
}
fs.rmSync(tmp, { recursive: true, force: true });
