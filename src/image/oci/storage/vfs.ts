/**
 * The vfs driver's container root: a full copy of the image's layers, bottom to top, with
 * the whiteouts applied as overlay would show them. Each layer is copied by `cp -a` (which
 * keeps owners, modes, hard links, device nodes and xattrs, none of which Node can make)
 * after a pass that makes the target agree with the layer: a whited-out path is removed, an
 * opaque directory emptied, and anything that is not a directory on both sides removed
 * first, so cp never writes through a file, hard link or symlink of a lower layer.
 */
import { execFile } from 'node:child_process';
import type fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

export interface VfsLayer {
  /** The unpacked layer (whiteouts as 0/0 character devices). */
  diff: string;
  opaqueDirs: readonly string[];
  whiteouts: readonly string[];
}

async function lstatOrUndefined(p: string): Promise<fs.Stats | undefined> {
  try {
    return await fsp.lstat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** Walks `dir` of the layer (relative `rel`), clearing in `root` whatever the copy would collide with. */
async function clearCollisions(diff: string, root: string, rel: string): Promise<void> {
  for (const ent of await fsp.readdir(path.join(diff, rel), { withFileTypes: true })) {
    const r = path.join(rel, ent.name);
    const target = path.join(root, r);
    const st = await lstatOrUndefined(target);
    if (ent.isDirectory()) {
      if (st && !st.isDirectory()) await fsp.rm(target, { force: true });
      if (st?.isDirectory()) await clearCollisions(diff, root, r);
    } else if (st) {
      await fsp.rm(target, { recursive: true, force: true });
    }
  }
}

function cp(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('cp', ['-a', `${from}/.`, `${to}/`], { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 1024 * 1024 }, (err, _o, stderr) => {
      if (err) reject(new Error(`copying layer ${from}: ${stderr.toString().trim().split('\n')[0] || err.message}`));
      else resolve();
    });
  });
}

/** Fills the empty directory `root` from `layers` (bottom first). */
export async function buildVfsRoot(root: string, layers: readonly VfsLayer[]): Promise<void> {
  for (const layer of layers) {
    // First, so that every parent of what follows is a real directory of this layer's, never
    // a lower layer's symlink; a whiteout (a non-directory in the layer) removes its path here.
    await clearCollisions(layer.diff, root, '.');
    for (const dir of layer.opaqueDirs) {
      const target = path.join(root, dir);
      const st = await lstatOrUndefined(target);
      if (st?.isDirectory()) for (const name of await fsp.readdir(target)) await fsp.rm(path.join(target, name), { recursive: true, force: true });
    }
    await cp(layer.diff, root);
    // cp copied the whiteout markers themselves.
    for (const w of layer.whiteouts) await fsp.rm(path.join(root, w), { force: true });
  }
}
