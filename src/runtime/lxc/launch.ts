import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { TerminalSize } from '../../api/containers.js';
import { generalError } from '../../api/errors.js';
import { daemonEnv } from '../../sys/env.js';
import { type FifoPool, openFifoReader, openFifoWriter } from '../../sys/fifo.js';
import type { Logger } from '../../sys/log.js';
import { detachLoop } from '../../sys/loop.js';
import { readProcStat } from '../../sys/procfs.js';
import { settlesWithin } from '../../sys/wait.js';
import type { ContainerIo, RuntimeSpec, StartedContainer } from '../runtime.js';
import { claimOutput, pipeToFifo } from './attach.js';
import type { LxcConfigWriter } from './config-writer.js';
import { firstLxcFailure } from './errors.js';
import { holdStdin, killHelper, releaseStdin } from './helper.js';
import type { LxcHostResources } from './host.js';
import type { LxcLayout } from './layout.js';
import type { LxcMonitor, LxcState } from './monitor.js';
import type { RunTracker } from './runs.js';
import { childrenOf, resizeTerminalOf, withTerminal } from './pty.js';
import { withControllingTerminal } from './terminal.js';

/** What a start uses of the LXC back-end. */
export interface Launcher {
  layout: LxcLayout;
  config: LxcConfigWriter;
  host: LxcHostResources;
  runs: RunTracker;
  monitor: LxcMonitor;
  fifos: FifoPool;
  log: Logger;
  /** How long a start may take before it counts as failed (daemon `start-timeout`; iSulad: 2m). */
  startTimeoutMs: number;
}

/**
 * The container's init: the child of the LXC monitor that is pid 1 of its own pid namespace,
 * or, when the container joins another pid namespace (a pod's, the host's), the child in that
 * namespace (`sharedPidNs`: the namespace's link, `pid:[inode]`).
 */
function findInit(monitorPid: number, sharedPidNs: string | undefined): number | undefined {
  for (const c of childrenOf(monitorPid)) {
    try {
      if (sharedPidNs !== undefined) {
        if (fs.readlinkSync(`/proc/${c}/ns/pid`) === sharedPidNs) return c;
        continue;
      }
      const status = fs.readFileSync(`/proc/${c}/status`, 'utf8');
      if (/^NSpid:.*\t1$/m.test(status)) return c;
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Why LXC's last start failed, as one line for the user (errors.ts). */
function startFailure(logFile: string): string | undefined {
  try {
    return firstLxcFailure(fs.readFileSync(logFile, 'utf8'));
  } catch {
    return undefined;
  }
}

/** OCI poststart hooks run once the container runs; a failure is only a warning (runtime spec). */
function runPoststart(l: Launcher, spec: RuntimeSpec, pid: number): void {
  if (!spec.hooks?.poststart?.length) return;
  const child = spawn('/bin/sh', [l.layout.hookScriptPath(spec.id), 'poststart'], { env: { ...process.env, LXC_PID: String(pid) }, stdio: 'ignore' });
  child.on('close', (code) => {
    if (code !== 0) l.log.warn(`poststart hook of ${spec.id} failed with exit code ${code}`);
  });
}

/** Runtime.start: the host resources of the run, its config, then lxc-start. */
export async function startRun(
  l: Launcher,
  spec: RuntimeSpec,
  stdinSource: Readable | undefined,
  ttySize?: TerminalSize,
): Promise<{ started: StartedContainer; io: ContainerIo }> {
  // A stale cgroup from an earlier run makes lxc-start fail when lxc.cgroup.dir.* is set.
  l.host.removeLeftoverCgroups(spec);
  const loops: string[] = [];
  try {
    fs.mkdirSync(l.layout.stateDir(spec.id), { recursive: true, mode: 0o700 });
    // A run begins, before anything of it exists (see helper.ts): the helper fills in its pid.
    fs.writeFileSync(l.layout.helperFile(spec.id), '');
    l.config.write(await l.host.withLoopDevices(await l.host.blockRootfsAsDir(spec), loops), true);
    return await launch(l, spec, stdinSource, ttySize);
  } finally {
    // Detaching a mounted loop device only marks it autoclear: it goes away with the
    // container's mount namespace, so none outlives the container, even if we crash.
    for (const dev of loops) await detachLoop(dev).catch((e: Error) => l.log.warn(e.message));
  }
}

async function launch(
  l: Launcher,
  spec: RuntimeSpec,
  stdinSource: Readable | undefined,
  ttySize?: TerminalSize,
): Promise<{ started: StartedContainer; io: ContainerIo }> {
  const { layout, monitor, runs } = l;
  const stateDir = layout.stateDir(spec.id);
  fs.writeFileSync(layout.logFile(spec.id), '');
  fs.rmSync(layout.exitFile(spec.id), { force: true });
  const withStdin = stdinSource !== undefined;
  const fifo = (name: string): string => path.join(stateDir, name);
  await l.fifos.place(['stdout', 'stderr', ...(withStdin ? ['stdin'] : [])].map(fifo));

  const reached = monitor.waitFor(spec.id, ['RUNNING', 'STOPPED', 'ABORTING'], l.startTimeoutMs);
  reached.catch(() => undefined);
  // lxc-start gets the FIFOs read-write: never blocked on open, and never SIGPIPE while the
  // daemon is away. Its stdin is the read end of a FIFO our writer and the stdin holder
  // (helper.ts) hold, so the container sees EOF when both close it, not when we die.
  const stdin = withStdin ? openFifoWriter(fifo('stdin')) : undefined;
  const childFds = [fs.openSync(fifo('stdout'), fs.constants.O_RDWR), fs.openSync(fifo('stderr'), fs.constants.O_RDWR)];
  if (withStdin) childFds.push(fs.openSync(fifo('stdin'), fs.constants.O_RDONLY));
  const io: ContainerIo = { stdout: openFifoReader(fifo('stdout')), stderr: openFifoReader(fifo('stderr')), stdin };
  claimOutput(layout, spec.id);
  const init = spec.tty ? withControllingTerminal(spec.rootfs.kind === 'block' ? layout.blockRootfsDir(spec.id) : spec.rootfs.path, spec.args) : spec.args;
  const [cmd, ...args] = withTerminal(['lxc-start', '-F', '-n', spec.id, '-P', layout.lxcpath, '--', ...init], spec.tty, ttySize);
  let child: ChildProcess;
  try {
    child = spawn(cmd!, args, { detached: true, stdio: [withStdin ? childFds[2]! : 'ignore', childFds[0]!, childFds[1]!], cwd: '/', env: daemonEnv() });
  } finally {
    for (const fd of childFds) fs.closeSync(fd);
  }
  child.unref();
  const childPid = child.pid;
  // The run's record (helper.ts), written as soon as spawn returns: the helper has exec'd by
  // then, so a daemon killed before this write finds it by its command line.
  let failure: string | undefined;
  if (childPid !== undefined) {
    try {
      fs.writeFileSync(layout.helperFile(spec.id), `${childPid}\n`);
    } catch (e) {
      failure = `cannot record the run's helper: ${(e as Error).message}`;
    }
  }
  let spawnError: Error | undefined;
  const childGone = new Promise<void>((resolve) => {
    child.once('error', (e) => {
      spawnError = e;
      resolve();
    });
    child.once('exit', (code, signal) => {
      if (childPid !== undefined) runs.exited(spec.id, childPid, signal ? 128 + os.constants.signals[signal] : (code ?? 0));
      resolve();
    });
  });
  if (childPid !== undefined) runs.launched(spec.id, childPid, childGone);
  if (stdin && stdinSource && childPid !== undefined) {
    holdStdin(fifo('stdin'), spec.id, childPid, layout.stdinHolderFile(spec.id));
    pipeToFifo(stdinSource, stdin, () => releaseStdin(layout.stdinHolderFile(spec.id)));
  }

  if (childPid === undefined) {
    await childGone;
    failure = `cannot run ${cmd}: ${spawnError?.message}`;
  }
  // undefined: the start failed or timed out, and what it launched may still run.
  const state: LxcState | undefined = failure === undefined ? await reached.catch(() => undefined) : undefined;
  if (state !== 'RUNNING') {
    runs.forget(spec.id);
    io.stdout.destroy();
    io.stderr.destroy();
    stdin?.destroy();
    const killed =
      state !== undefined || (await killHelper(() => (childPid === undefined ? [] : [childPid]), [spec.cgroupPath, layout.monitorCgroupOf(spec.id)], 5000));
    await settlesWithin(childGone, 5000);
    fs.rmSync(layout.exitFile(spec.id), { force: true });
    if (killed) await l.host.stopped(spec).catch((e: Error) => l.log.warn(`cleaning up the failed start of ${spec.id}: ${e.message}`));
    const reason =
      failure ??
      (state === undefined ? `the container did not start within the start-timeout (${l.startTimeoutMs / 1000}s)` : startFailure(layout.logFile(spec.id)));
    throw generalError(`Start container error: ${reason || 'the container exited during start'}`);
  }
  const monitorPid = childPid!;
  if (spec.tty) await resizeTerminalOf(monitorPid, ttySize?.rows ?? 24, ttySize?.cols ?? 80);
  // With -t the monitor runs under `script`: one level further down.
  const lxcStart = (): number => (spec.tty ? (childrenOf(monitorPid)[0] ?? monitorPid) : monitorPid);
  const sharedPidNs = ((): string | undefined => {
    if (!spec.namespaces?.pid) return undefined;
    try {
      return fs.readlinkSync(spec.namespaces.pid);
    } catch {
      return undefined;
    }
  })();
  let pid = findInit(lxcStart(), sharedPidNs);
  for (let i = 0; pid === undefined && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 5));
    pid = findInit(lxcStart(), sharedPidNs);
  }
  if (pid !== undefined) runPoststart(l, spec, pid);
  if (pid === undefined) l.log.debug(`no init found under ${lxcStart()} (children ${childrenOf(lxcStart()).join(' ')})`);
  // No init left to find: it already exited, and the post-stop hook is recording how.
  return {
    started: {
      pid: pid ?? 0,
      pidStartTime: pid === undefined ? 0 : (readProcStat(pid)?.startTime ?? 0),
      shimPid: monitorPid,
      shimStartTime: readProcStat(monitorPid)?.startTime ?? 0,
    },
    io,
  };
}
