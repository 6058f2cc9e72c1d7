/**
 * Loop devices through util-linux `losetup`, which already handles the LOOP_CTL_GET_FREE race
 * between finding a free device and configuring it.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** A stuck losetup (e.g. on a hung backing store) must not hang its caller for ever. */
const TIMEOUT_MS = 30_000;

/** Attaches `file` to a free loop device and returns its path, e.g. `/dev/loop5`. */
export async function attachLoop(file: string, readOnly: boolean): Promise<string> {
  const args = ['--find', '--show', ...(readOnly ? ['--read-only'] : []), file];
  const { stdout } = await losetup(args);
  const device = stdout.trim();
  if (!/^\/dev\/\S+$/.test(device)) throw new Error(`losetup ${args.join(' ')} printed no device: ${oneLine(stdout)}`);
  return device;
}

/** Detaches a loop device; one already detached is not an error. */
export async function detachLoop(device: string): Promise<void> {
  try {
    await losetup(['-d', device]);
  } catch (err) {
    if (!isDetached(device)) throw err;
  }
}

/** The loop devices backed by `file` (matched by device and inode, so any path to it works). */
export async function loopDevicesOf(file: string): Promise<string[]> {
  // Older losetup fails on a missing file where newer ones print nothing; nothing can be backed by it.
  if (!fs.existsSync(file)) return [];
  const { stdout } = await losetup(['-j', file]);
  const devices: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\/dev\/[^:\s]+):/.exec(line);
    if (m) devices.push(m[1]);
  }
  return devices;
}

/** sysfs shows a loop device's `loop/` directory only while it is bound to a file. */
function isDetached(device: string): boolean {
  const sys = path.join('/sys/block', path.basename(device));
  return fs.existsSync(sys) && !fs.existsSync(path.join(sys, 'loop'));
}

function losetup(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // LC_ALL=C keeps losetup's messages in English for the error text.
    const env = { ...process.env, LC_ALL: 'C' };
    execFile('losetup', args, { env, timeout: TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr });
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'losetup not found in PATH (install util-linux)'
          : err.killed
            ? `no answer within ${TIMEOUT_MS / 1000} s`
            : oneLine(stderr).replace(/^losetup: /, '') || oneLine(err.message);
      reject(new Error(`losetup ${args.join(' ')} failed: ${why}`));
    });
  });
}

/** The first non-empty line, so a multi-line tool message stays one line in ours. */
function oneLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? ''
  );
}
