/**
 * Paths inside a container's root (a rootfs, a bind source, a manifest's directory), read and
 * written as the kernel would with that directory as '/': a symlink inside is followed but
 * re-rooted, so '..' and absolute targets can never climb out (Docker's FollowSymlinkInScope,
 * Go's securejoin). The root itself is trusted (the engine or the user on the host chose it);
 * everything below it is hostile: it may hold symlinks, FIFOs and device nodes, and may
 * change while we look.
 *
 * Creating and writing walk the resolved path one directory descriptor at a time through
 * /proc/self/fd/N/<name> (Node has no openat), opening each step with O_NOFOLLOW, so a
 * symlink swapped in after the resolution is refused instead of followed.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Linux's MAXSYMLINKS: more hops than this is ELOOP for the kernel too. */
const MAX_SYMLINK_HOPS = 40;

const { O_RDONLY, O_WRONLY, O_DIRECTORY, O_NOFOLLOW, O_CREAT, O_EXCL, O_NOCTTY, O_NONBLOCK } = fs.constants;

/** A path that cannot be used inside its root; `code` is the errno the kernel would give. */
export class InRootError extends Error {
  constructor(
    readonly code: 'ELOOP' | 'ENOTDIR' | 'ENOENT' | 'EFBIG' | 'EINVAL',
    message: string,
  ) {
    super(message);
    this.name = 'InRootError';
  }
}

/**
 * `p` as an absolute, clean path inside a container: '.' and '..' are folded lexically and
 * '..' stops at '/', so `/../../x` is `/x` (iSulad's util_clean_path, Go's filepath.Clean).
 */
export function cleanInRoot(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/**
 * Where a path of the container lies on the host: the file to lstat for it, or undefined when
 * it lies in a filesystem the container gets fresh (a tmpfs), which holds no symlinks yet.
 */
export type HostPathOf = (inRoot: string) => string | undefined;

/**
 * Resolves `p` inside `root` component by component; returns the resolved path inside the
 * root (absolute, no symlinks left in the components that exist). Missing components are
 * kept as they are: they are what a caller will create. `hostOf` maps paths of the container
 * to the host (by default `root` joined with the path); callers with mounts stacked on the
 * root pass their own.
 */
export function resolveInRoot(root: string, p: string, hostOf: HostPathOf = (inRoot) => path.join(root, inRoot)): string {
  const done: string[] = [];
  let todo = cleanInRoot(p).split('/').filter(Boolean);
  let hops = 0;
  while (todo.length > 0) {
    const name = todo.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      done.pop();
      continue;
    }
    const host = hostOf(`/${[...done, name].join('/')}`);
    if (host === undefined) {
      done.push(name);
      continue;
    }
    let st: fs.Stats;
    try {
      st = fs.lstatSync(host);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      // Nothing below a missing component exists either; the rest is folded lexically.
      return cleanInRoot([...done, name, ...todo].join('/'));
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINK_HOPS) throw new InRootError('ELOOP', `${p}: too many levels of symbolic links`);
      const target = fs.readlinkSync(host);
      if (target.startsWith('/')) done.length = 0;
      todo = [...target.split('/').filter(Boolean), ...todo];
      continue;
    }
    if (todo.length > 0 && !st.isDirectory()) throw new InRootError('ENOTDIR', `${p}: /${[...done, name].join('/')} is not a directory`);
    done.push(name);
  }
  return `/${done.join('/')}`;
}

const at = (dirFd: number, name: string): string => `/proc/self/fd/${dirFd}/${name}`;

function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException).code === code;
}

/** What a failed open of directory `name` under `dirFd` means, in the root's terms. */
function openError(e: unknown, dirFd: number, name: string, shown: string): unknown {
  // With O_DIRECTORY, Linux reports a symlink as ENOTDIR rather than ELOOP.
  if (isErrno(e, 'ELOOP') || (isErrno(e, 'ENOTDIR') && lstatAt(dirFd, name)?.isSymbolicLink())) {
    return new InRootError('ELOOP', `${shown}: ${name} is a symbolic link`);
  }
  if (isErrno(e, 'ENOTDIR')) return new InRootError('ENOTDIR', `${shown}: ${name} is not a directory`);
  return e;
}

/**
 * Opens directory `name` under `dirFd` without following a symlink, creating it (0755)
 * when `create` is set and it is missing. Returns its descriptor, or undefined when it is
 * missing and not to be created.
 */
function openChildDir(dirFd: number, name: string, create: boolean, shown: string): number | undefined {
  const open = (): number => fs.openSync(at(dirFd, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  try {
    return open();
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw openError(e, dirFd, name, shown);
    if (!create) return undefined;
  }
  try {
    fs.mkdirSync(at(dirFd, name), 0o755);
  } catch (e) {
    // made meanwhile: what it is, the open below tells
    if (!isErrno(e, 'EEXIST')) throw e;
  }
  try {
    return open();
  } catch (e) {
    throw openError(e, dirFd, name, shown);
  }
}

/**
 * Opens the directory `dir` (a resolved path inside the root, see resolveInRoot) of `root`,
 * one component at a time, creating missing ones when `create` is set. Undefined when a
 * component is missing and not to be created.
 */
function openDirIn(root: string, dir: string, create: boolean): number | undefined {
  let fd = fs.openSync(root, O_RDONLY | O_DIRECTORY);
  for (const name of dir.split('/').filter(Boolean)) {
    let next: number | undefined;
    try {
      next = openChildDir(fd, name, create, dir);
    } finally {
      fs.closeSync(fd);
    }
    if (next === undefined) return undefined;
    fd = next;
  }
  return fd;
}

function lstatAt(dirFd: number, name: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(at(dirFd, name));
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}

function splitResolved(resolved: string, p: string): { dir: string; name: string } {
  if (resolved === '/') throw new InRootError('EINVAL', `${p}: is the root itself`);
  return { dir: path.posix.dirname(resolved), name: path.posix.basename(resolved) };
}

/** Makes directory `resolved` (a path resolveInRoot gave) and its missing parents inside `root`. */
export function mkdirInRoot(root: string, resolved: string): void {
  fs.closeSync(openDirIn(root, resolved, true)!);
}

/**
 * Makes `resolved` (a path resolveInRoot gave) an existing entry inside `root`, creating its
 * parents and an empty file when it is missing: the target of a bind mount of a file. An
 * existing entry of any kind but a symlink is left as it is.
 */
export function ensureFileInRoot(root: string, resolved: string): void {
  const { dir, name } = splitResolved(resolved, resolved);
  const dirFd = openDirIn(root, dir, true)!;
  try {
    const st = lstatAt(dirFd, name);
    if (st?.isSymbolicLink()) throw new InRootError('ELOOP', `${resolved} is a symbolic link`);
    if (st) return;
    try {
      // O_EXCL: only ever a new file, never an open of something that appeared meanwhile.
      fs.closeSync(fs.openSync(at(dirFd, name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY, 0o644));
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e;
      if (lstatAt(dirFd, name)?.isSymbolicLink()) throw new InRootError('ELOOP', `${resolved} is a symbolic link`);
    }
  } finally {
    fs.closeSync(dirFd);
  }
}

/**
 * Writes `data` to `p` resolved inside `root`, replacing a regular file or creating one
 * (mode `mode`) in an existing directory. Refuses anything else there (a FIFO, a device
 * node, a directory). The data goes into a new file renamed over the old one: a hard link
 * the rootfs holds to a host file is replaced, never written through.
 */
export function writeFileInRoot(root: string, p: string, data: string | Uint8Array, mode = 0o644): void {
  const resolved = resolveInRoot(root, p);
  const { dir, name } = splitResolved(resolved, p);
  const dirFd = openDirIn(root, dir, false);
  if (dirFd === undefined) throw new InRootError('ENOENT', `${p}: directory ${dir} does not exist in ${root}`);
  try {
    const st = lstatAt(dirFd, name);
    if (st && !st.isFile()) throw new InRootError('EINVAL', `${p}: ${resolved} is not a regular file`);
    const temp = `.${name}.isulad-${process.pid}`;
    // unlink never follows a symlink: a leftover (or planted) entry of that name just goes.
    fs.rmSync(at(dirFd, temp), { force: true });
    const fd = fs.openSync(at(dirFd, temp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY, mode);
    try {
      fs.writeFileSync(fd, data);
      fs.fchmodSync(fd, mode);
    } catch (e) {
      fs.rmSync(at(dirFd, temp), { force: true });
      throw e;
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(at(dirFd, temp), at(dirFd, name));
  } finally {
    fs.closeSync(dirFd);
  }
}

/**
 * Reads `p` resolved inside `root` if it is a regular file of at most `maxBytes`; undefined
 * when it does not exist. Anything else (too big, not a regular file) is an InRootError.
 */
export function readFileInRoot(root: string, p: string, maxBytes: number): string | undefined {
  let resolved: string;
  try {
    resolved = resolveInRoot(root, p);
  } catch (e) {
    if (e instanceof InRootError && e.code === 'ENOTDIR') return undefined;
    throw e;
  }
  const { dir, name } = splitResolved(resolved, p);
  const dirFd = openDirIn(root, dir, false);
  if (dirFd === undefined) return undefined;
  try {
    const st = lstatAt(dirFd, name);
    if (!st) return undefined;
    if (!st.isFile()) throw new InRootError('EINVAL', `${p}: ${resolved} is not a regular file`);
    const fd = fs.openSync(at(dirFd, name), O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
    try {
      const now = fs.fstatSync(fd);
      if (!now.isFile()) throw new InRootError('EINVAL', `${p}: ${resolved} is not a regular file`);
      if (now.size > maxBytes) throw new InRootError('EFBIG', `${p}: larger than ${maxBytes} bytes`);
      // One byte past the size stat gave (at most past the limit): a file growing meanwhile is still caught.
      const buf = Buffer.alloc(Math.min(now.size, maxBytes) + 1);
      let length = 0;
      for (let n: number; length < buf.length && (n = fs.readSync(fd, buf, length, buf.length - length, null)) > 0; ) length += n;
      if (length > maxBytes) throw new InRootError('EFBIG', `${p}: larger than ${maxBytes} bytes`);
      return buf.subarray(0, length).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    fs.closeSync(dirFd);
  }
}
