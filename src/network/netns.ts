import fs from 'node:fs';
import path from 'node:path';
import { fault } from '../api/errors.js';
import { isMountPoint, unmount } from '../sys/mount.js';
import { runCommand } from '../sys/spawner.js';

/*
 * A pod's network namespace lives as long as its sandbox, not as long as a process: the
 * namespace is pinned by bind-mounting its nsfs file on <state>/netns/<id> (as `ip netns add`
 * does under /run/netns). Node cannot unshare(2) itself, so util-linux's `unshare --net=FILE`
 * makes the namespace and the bind mount in one step and runs `ip` in it to set lo up.
 * The mount outlives the daemon: after a restart the same path still names the namespace.
 */

const TIMEOUT_MS = 10_000;
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** The directory of the pinned namespaces under the daemon's state directory. */
export const netnsDir = (stateDir: string): string => path.join(stateDir, 'netns');

async function run(cmd: string, args: string[]): Promise<void> {
  const r = await runCommand(cmd, args, { timeoutMs: TIMEOUT_MS }).catch((e: Error) => {
    throw new Error(`${cmd} ${args.join(' ')}: ${e.message}`);
  });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim() || `exit status ${r.code}`}`);
}

/**
 * Makes a new network namespace with lo up, pinned at <stateDir>/netns/<id>; returns that path.
 * A file left by a crash between touch and mount is reused; a pinned one is AlreadyExists.
 * The (empty) file exists when this returns its promise: callers may name it meanwhile.
 */
export async function createNetns(id: string, stateDir: string): Promise<string> {
  if (!SAFE_ID.test(id)) throw fault('InvalidArgument', `invalid network namespace name ${JSON.stringify(id)}`);
  const dir = netnsDir(stateDir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o711 });
  const file = path.join(dir, id);
  if (isMountPoint(file)) throw fault('AlreadyExists', `network namespace ${id} already exists`);
  // O_NOFOLLOW: the name must be our own empty file, never a link placed there.
  fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o444));
  try {
    // One process: unshare pins the new namespace on FILE, then runs `ip` inside it.
    await run('unshare', [`--net=${file}`, 'ip', 'link', 'set', 'lo', 'up']);
  } catch (e) {
    await removeNetns(file).catch(() => undefined);
    throw fault('Internal', `create network namespace ${id}: ${(e as Error).message}`);
  }
  return file;
}

/** Unpins and deletes a namespace file; a missing one is fine (teardown is idempotent). */
export async function removeNetns(file: string): Promise<void> {
  await unmount(file);
  fs.rmSync(file, { force: true });
}
