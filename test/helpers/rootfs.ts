import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SAMPLES = path.resolve('rootfs-samples');

/**
 * A busybox rootfs from rootfs-samples/, built once per test process and shared by its
 * tests (read-mostly: tests that write into a rootfs make their own with freshRootfs).
 * It goes when the test process exits, so no test file has to remember it.
 */
function built(script: string, name: string): string {
  const dir = path.join(os.tmpdir(), `isulad-test-${name}-${process.pid}`);
  if (!fs.existsSync(path.join(dir, 'bin', 'busybox'))) {
    execFileSync(path.join(SAMPLES, script), [dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return dir;
}

export const busyboxRootfs = (): string => built('busybox-rootfs.sh', 'bb');
export const systemRootfs = (): string => built('system-rootfs.sh', 'sysroot');

/** A private rootfs for a test that changes files in it. */
export function freshRootfs(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `isulad-test-${label}-`));
  fs.rmdirSync(dir);
  execFileSync(path.join(SAMPLES, 'busybox-rootfs.sh'), [dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  return dir;
}
