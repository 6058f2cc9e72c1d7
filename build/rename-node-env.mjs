// Renames the environment variable NODE_EXTRA_CA_CERTS in a Node binary (ELF64, x86_64 or
// aarch64) to ISULAD_NODE_CA_FILE, in place.
//   node build/rename-node-env.mjs BINARY
// Why: Node reads and parses that file before any JavaScript runs, at every start. Hosts that
// set it system-wide (CI machines, corporate images) pay 70-90 ms of CPU per `isula` call,
// more than the rest of the call. The engine makes no TLS connection, so the executable
// reads its own variable and a host's Node settings neither slow nor change it.
// The name is patched in .rodata where it is a C string; the copy inside V8's snapshot (the
// text of `node --help`, stored with a 4-byte length prefix) is left alone.
import fs from 'node:fs';

const FROM = 'NODE_EXTRA_CA_CERTS';
const TO = 'ISULAD_NODE_CA_FILE';
if (FROM.length !== TO.length) throw new Error('the new name must be as long as the old one');

const file = process.argv[2];
if (!file) {
  console.error('usage: node build/rename-node-env.mjs BINARY');
  process.exit(2);
}
const data = fs.readFileSync(file);

function rodata(elf) {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error(`${file}: not a little-endian ELF64 file`);
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const header = (i) => shoff + i * shentsize;
  const names = Number(elf.readBigUInt64LE(header(shstrndx) + 0x18));
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    const nameAt = names + elf.readUInt32LE(h);
    const name = elf.subarray(nameAt, elf.indexOf(0, nameAt)).toString('latin1');
    if (name === '.rodata') return { start: Number(elf.readBigUInt64LE(h + 0x18)), size: Number(elf.readBigUInt64LE(h + 0x20)) };
  }
  throw new Error(`${file}: no .rodata section`);
}

const { start, size } = rodata(data);
const needle = Buffer.from(`\0${FROM}\0`, 'latin1');
const hits = [];
for (let at = data.indexOf(needle, start); at !== -1 && at < start + size; at = data.indexOf(needle, at + 1)) {
  const snapshotLength = at >= 3 && data.readUInt32LE(at - 3) === FROM.length;
  if (!snapshotLength) hits.push(at + 1);
}
if (hits.length !== 1) {
  console.error(`${file}: expected one C string ${FROM} in .rodata, found ${hits.length}; is this the pinned Node version?`);
  process.exit(1);
}
data.write(TO, hits[0], 'latin1');
fs.writeFileSync(file, data);
