import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { ResourceSpec, TerminalSize } from '../../api/containers.js';
import { generalError } from '../../api/errors.js';
import { atomicWriteFileSync, replaceFileSync } from '../../sys/atomic-write.js';
import { readExitRecord } from '../../sys/exit-record.js';
import { isFreezingOrFrozen, setFrozen, setFrozenNoWait } from '../../sys/cgroup/freezer.js';
import { cgroupPids, cgroupPresent, controllerDir, isCgroupV2Only, killCgroup, removeCgroup, writeCgroupFile } from '../../sys/cgroup/tree.js';
import { ensureFifo, FifoPool, openFifoReader, openFifoWriter } from '../../sys/fifo.js';
import { shellQuote } from '../../sys/shell.js';
import { attachLoop, detachLoop } from '../../sys/loop.js';
import { isMountPoint, mountDevice, unmount } from '../../sys/mount.js';
import type { Logger } from '../../sys/log.js';
import { processAlive, readProcStat } from '../../sys/procfs.js';
import { settlesWithin } from '../../sys/wait.js';
import { which } from '../../sys/which.js';
import type { ContainerIo, ExecOptions, ExecProcess, Runtime, RuntimeSpec, StartedContainer } from '../runtime.js';
import { unknownCaps } from './capabilities.js';
import { mountEntries, renderLxcConfig, resourceLines } from './config.js';
import { firstLxcFailure, withoutAttachErrors } from './errors.js';
import { prepareMountTargets } from './mount-targets.js';
import { withControllingTerminal } from './terminal.js';
import { renderHookScript } from './hooks.js';
import { HELPER_FILE, helpersOf, holdStdin, killHelper, releaseStdin, STDIN_HOLDER_FILE, stdinHeld, withPidFile } from './helper.js';
import { exitCodeOfWaitStatus, LxcMonitor, type LxcState, type MonitorMessage } from './monitor.js';
import { REMOUNT_RO_HOOK, renderPostStopHook } from './scripts.js';

/** Where liblxc, run as root, keeps its per-container lock files: <dir>/<lxcpath>/.<name>. */
export const LXC_LOCK_DIR = '/run/lxc/lock';

const SECCOMP_PROFILE = '/usr/share/lxc/config/common.seccomp';

/**
 * Copies input into a FIFO and closes it at the end: a FIFO cannot be shut down like a
 * socket, so the container sees EOF only when our descriptor is closed, and `closed` lets
 * the other writer (the stdin holder) go.
 */
function pipeToFifo(source: Readable, fifo: Writable, closed: () => void): void {
  source.pipe(fifo, { end: false });
  source.once('end', () => {
    const close = (): void => {
      fifo.destroy();
      closed();
    };
    if (fifo.writableLength === 0) close();
    else fifo.once('drain', close);
  });
}

/**
 * Runs `argv` on a new pseudo-terminal (util-linux `script`), for -t. The terminal gets the
 * client's size and no CR insertion: LXC's own console pty inside already adds it.
 */
function withTerminal(argv: string[], tty: boolean, size: TerminalSize | undefined): string[] {
  if (!tty) return argv;
  const { rows, cols } = size ?? { rows: 24, cols: 80 };
  return ['script', '-qfec', `stty -onlcr rows ${rows} cols ${cols} 2>/dev/null; exec ${argv.map(shellQuote).join(' ')}`, '/dev/null'];
}

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Sets the size of the terminal `script` (pid) made; the kernel then sends SIGWINCH. */
async function resizeTerminalOf(scriptPid: number, rows: number, cols: number): Promise<void> {
  const child = childrenOf(scriptPid)[0];
  if (child === undefined) return;
  let pty: string;
  try {
    pty = fs.readlinkSync(`/proc/${child}/fd/0`);
  } catch {
    return;
  }
  if (!pty.startsWith('/dev/pts/')) return;
  // -onlcr again: LXC resets its terminal to ONLCR, and its console pty inside adds CRs already.
  await new Promise<void>((resolve) =>
    spawn('stty', ['-F', pty, '-onlcr', 'rows', String(rows), 'cols', String(cols)], { stdio: 'ignore' }).on('close', () => resolve()),
  );
}

/** The container's init: the child of the LXC monitor that is pid 1 of its own pid namespace. */
function findInit(monitorPid: number): number | undefined {
  for (const c of childrenOf(monitorPid)) {
    try {
      const status = fs.readFileSync(`/proc/${c}/status`, 'utf8');
      if (/^NSpid:.*\t1$/m.test(status)) return c;
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/**
 * `sh -c` script for exec -w: changes to $0, or fails as a start failure does (one line,
 * 127 for a missing directory, 126 for one that cannot be entered), then runs "$@".
 */
const CHDIR_THEN_EXEC = [
  'cd "$0" 2>/dev/null || {',
  'if [ ! -e "$0" ]; then e="no such file or directory" c=127; elif [ ! -d "$0" ]; then e="not a directory" c=127; else e="permission denied" c=126; fi;',
  'echo "exec failed: chdir to working directory \\"$0\\" failed: $e" >&2; exit $c; }; exec "$@"',
].join(' ');

/** Why LXC's last start failed, as one line for the user (errors.ts). */
function startFailure(logFile: string): string | undefined {
  try {
    return firstLxcFailure(fs.readFileSync(logFile, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The LXC runtime (iSulad's `lcr`), driven through Debian's lxc-* tools. Each container runs
 * under its own `lxc-start -F`, started detached so it outlives the daemon: the one helper
 * process a container has. It holds the container's output FIFOs, and its post-stop hook
 * records the exit code (scripts.ts). `StartedContainer.shimPid` is that process (`script`
 * around it with -t).
 */
export class LxcRuntime implements Runtime {
  readonly name = 'lcr';
  readonly lxcpath: string;
  readonly statePath: string;
  readonly exitsDir: string;
  private readonly hookScript: string;
  private readonly remountHook: string;
  private monitor: LxcMonitor | undefined;
  private fifos: FifoPool | undefined;
  /** The lxc-start of each running container's current run, by container id. */
  private readonly monitorPids = new Map<string, number>();
  /** The LXC config last written per container, by this daemon. */
  private readonly configWritten = new Map<string, string>();
  /** Those of them this daemon did not start (found running at restore): polled, not waited for. */
  private readonly adopted = new Map<string, StartedContainer>();
  private adoptedTimer: NodeJS.Timeout | undefined;
  /** statePath with symlinks resolved, known once init() has created it. */
  private realStatePath: string | undefined;

  constructor(
    graph: string,
    state: string,
    private readonly monitorCgroupParent: string,
    private readonly log: Logger,
    /** How long a start may take before it counts as failed (daemon `start-timeout`; iSulad: 2m). */
    private readonly startTimeoutMs = 120_000,
  ) {
    this.lxcpath = path.join(graph, 'engines', 'lcr');
    this.statePath = path.join(state, 'lcr');
    this.exitsDir = path.join(this.statePath, 'exits');
    this.hookScript = path.join(this.statePath, 'record-exit');
    this.remountHook = path.join(this.statePath, 'remount-ro');
  }

  unknownCaps(names: string[]): string[] {
    return unknownCaps(names);
  }

  async detect(): Promise<string | undefined> {
    for (const tool of ['lxc-start', 'lxc-attach']) if (!which(tool)) return `${tool} not found: install the lxc package`;
    return undefined;
  }

  /** Prepares directories, the hook scripts, and the monitor FIFO reader. */
  init(): void {
    for (const dir of [this.lxcpath, this.statePath, this.exitsDir]) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.realStatePath = fs.realpathSync(this.statePath);
    for (const [file, text] of [
      [this.hookScript, renderPostStopHook(this.exitsDir, this.statePath)],
      [this.remountHook, REMOUNT_RO_HOOK],
    ] as const) {
      let current = '';
      try {
        current = fs.readFileSync(file, 'utf8');
      } catch {
        // first start
      }
      if (current !== text) atomicWriteFileSync(file, text, 0o755);
    }
    this.fifos = new FifoPool(path.join(this.statePath, 'fifo-pool'));
    this.fifos.fill().catch((e: Error) => this.log.warn(`making FIFOs ahead: ${e.message}`));
    this.monitor = new LxcMonitor(this.lxcpath);
    fs.mkdirSync(path.dirname(this.monitor.fifoPath), { recursive: true });
    ensureFifo(this.monitor.fifoPath);
    this.monitor.open();
    this.monitor.on('error', (e: Error) => this.log.error(`LXC monitor FIFO: ${e.message}`));
  }

  containerDir(id: string): string {
    return path.join(this.lxcpath, id);
  }

  stateDir(id: string): string {
    return path.join(this.statePath, id);
  }

  /**
   * `prepareTargets` at start, once the rootfs is a directory on the host: mount targets are
   * then resolved and made inside it (mount-targets.ts); at create they are only cleaned.
   */
  private writeConfig(spec: RuntimeSpec, prepareTargets = false): void {
    const dir = this.containerDir(spec.id);
    const isFile = (p: string): boolean => {
      try {
        return !fs.statSync(p).isDirectory();
      } catch {
        return false;
      }
    };
    const mounts = mountEntries(spec, isFile);
    const text = renderLxcConfig(
      spec,
      {
        containerDir: dir,
        logFile: path.join(dir, 'lxc.log'),
        postStopHook: this.hookScript,
        seccompProfile: fs.existsSync(SECCOMP_PROFILE) ? SECCOMP_PROFILE : undefined,
        hookScript: this.writeHookScript(spec),
        remountReadOnlyHook: this.remountHook,
        monitorCgroup: this.monitorCgroupOf(spec.id),
      },
      isCgroupV2Only(),
      prepareTargets && spec.rootfs.kind === 'dir' ? prepareMountTargets(spec.rootfs.path, mounts) : mounts,
    );
    // Written at create and again at every start (loop devices and resources change it);
    // unchanged, the rewrite is skipped.
    if (this.configWritten.get(spec.id) === text) return;
    replaceFileSync(path.join(dir, 'config'), text, 0o640);
    this.configWritten.set(spec.id, text);
  }

  private hookScriptPath(id: string): string {
    return path.join(this.containerDir(id), 'oci-hooks.sh');
  }

  private writeHookScript(spec: RuntimeSpec): string | undefined {
    if (!spec.hooks) return undefined;
    const file = this.hookScriptPath(spec.id);
    replaceFileSync(file, renderHookScript(spec.id, this.containerDir(spec.id), spec.hooks), 0o700);
    return file;
  }

  /** OCI poststart hooks run once the container runs; a failure is only a warning (runtime spec). */
  private runPoststart(spec: RuntimeSpec, pid: number): void {
    if (!spec.hooks?.poststart?.length) return;
    const child = spawn('/bin/sh', [this.hookScriptPath(spec.id), 'poststart'], { env: { ...process.env, LXC_PID: String(pid) }, stdio: 'ignore' });
    child.on('close', (code) => {
      if (code !== 0) this.log.warn(`poststart hook of ${spec.id} failed with exit code ${code}`);
    });
  }

  async create(spec: RuntimeSpec): Promise<void> {
    fs.mkdirSync(this.containerDir(spec.id), { recursive: true, mode: 0o700 });
    this.writeConfig(spec);
  }

  async start(spec: RuntimeSpec, stdinSource: Readable | undefined, ttySize?: TerminalSize): Promise<{ started: StartedContainer; io: ContainerIo }> {
    if (!this.monitor) throw new Error('LXC runtime not initialised');
    // A stale cgroup from an earlier run makes lxc-start fail when lxc.cgroup.dir.* is set.
    this.removeLeftoverCgroups(spec);
    const loops: string[] = [];
    try {
      fs.mkdirSync(this.stateDir(spec.id), { recursive: true, mode: 0o700 });
      // A run begins, before anything of it exists (see helper.ts): the helper fills in its pid.
      fs.writeFileSync(this.helperFile(spec.id), '');
      this.writeConfig(await this.withLoopDevices(await this.blockRootfsAsDir(spec), loops), true);
      return await this.launch(spec, stdinSource, ttySize);
    } finally {
      // Detaching a mounted loop device only marks it autoclear: it goes away with the
      // container's mount namespace, so none outlives the container, even if we crash.
      for (const dev of loops) await detachLoop(dev).catch((e: Error) => this.log.warn(e.message));
    }
  }

  /**
   * LXC 5 cannot use a raw block device as rootfs (its dir storage bind-mounts the path), so
   * the engine mounts it on the host under the container's state dir and hands LXC that dir.
   */
  private async blockRootfsAsDir(spec: RuntimeSpec): Promise<RuntimeSpec> {
    if (spec.rootfs.kind !== 'block') return spec;
    const dir = this.blockRootfsDir(spec.id);
    if (!isMountPoint(dir)) await mountDevice(spec.rootfs.path, dir, spec.readOnly);
    return { ...spec, rootfs: { kind: 'dir', path: dir } };
  }

  private helperFile(id: string): string {
    return path.join(this.stateDir(id), HELPER_FILE);
  }

  private stdinHolderFile(id: string): string {
    return path.join(this.stateDir(id), STDIN_HOLDER_FILE);
  }

  /** LXC's monitor runs in a cgroup of its own per container, beside the containers'. */
  private monitorCgroupOf(id: string): string {
    return `${this.monitorCgroupParent}/${id}`;
  }

  /**
   * Where a block-device rootfs is mounted. mount(8) records the canonical path, so this must
   * be canonical too, or the mount is not recognised as such: with the default state dir
   * /var/run/isulad, /var/run is a symlink to /run on Debian.
   */
  private blockRootfsDir(id: string): string {
    return path.join(this.realStatePath ?? this.statePath, id, 'rootfs');
  }

  /** squashfs mounts go through read-only loop devices, attached here for this run. */
  private async withLoopDevices(spec: RuntimeSpec, loops: string[]): Promise<RuntimeSpec> {
    const mounts = [];
    for (const m of spec.mounts) {
      if (m.type !== 'squashfs') {
        mounts.push(m);
        continue;
      }
      const dev = await attachLoop(m.source, true);
      loops.push(dev);
      mounts.push({ ...m, source: dev });
    }
    return { ...spec, mounts };
  }

  private async launch(spec: RuntimeSpec, stdinSource: Readable | undefined, ttySize?: TerminalSize): Promise<{ started: StartedContainer; io: ContainerIo }> {
    const monitor = this.monitor!;
    const dir = this.containerDir(spec.id);
    const stateDir = this.stateDir(spec.id);
    fs.writeFileSync(path.join(dir, 'lxc.log'), '');
    fs.rmSync(path.join(this.exitsDir, spec.id), { force: true });
    const withStdin = stdinSource !== undefined;
    const fifo = (name: string): string => path.join(stateDir, name);
    await this.fifos!.place(['stdout', 'stderr', ...(withStdin ? ['stdin'] : [])].map(fifo));

    const reached = monitor.waitFor(spec.id, ['RUNNING', 'STOPPED', 'ABORTING'], this.startTimeoutMs);
    reached.catch(() => undefined);
    // lxc-start gets the FIFOs read-write: never blocked on open, and never SIGPIPE while the
    // daemon is away. Its stdin is the read end of a FIFO our writer and the stdin holder
    // (helper.ts) hold, so the container sees EOF when both close it, not when we die.
    const stdin = withStdin ? openFifoWriter(fifo('stdin')) : undefined;
    const childFds = [fs.openSync(fifo('stdout'), fs.constants.O_RDWR), fs.openSync(fifo('stderr'), fs.constants.O_RDWR)];
    if (withStdin) childFds.push(fs.openSync(fifo('stdin'), fs.constants.O_RDONLY));
    const io: ContainerIo = { stdout: openFifoReader(fifo('stdout')), stderr: openFifoReader(fifo('stderr')), stdin };
    this.claimOutput(spec.id);
    const init = spec.tty ? withControllingTerminal(spec.rootfs.kind === 'block' ? this.blockRootfsDir(spec.id) : spec.rootfs.path, spec.args) : spec.args;
    const [cmd, ...args] = withPidFile(withTerminal(['lxc-start', '-F', '-n', spec.id, '-P', this.lxcpath, '--', ...init], spec.tty, ttySize), this.helperFile(spec.id));
    let child: ChildProcess;
    try {
      child = spawn(cmd!, args, { detached: true, stdio: [withStdin ? childFds[2]! : 'ignore', childFds[0]!, childFds[1]!], cwd: '/' });
    } finally {
      for (const fd of childFds) fs.closeSync(fd);
    }
    child.unref();
    const childPid = child.pid;
    if (childPid !== undefined) {
      this.monitorPids.set(spec.id, childPid);
      this.adopted.delete(spec.id);
    }
    const childGone = new Promise<void>((resolve) => {
      child.once('error', () => resolve());
      child.once('exit', (code, signal) => {
        if (childPid !== undefined) this.monitorExited(spec.id, childPid, signal ? 128 + os.constants.signals[signal] : (code ?? 0));
        resolve();
      });
    });
    if (stdin && stdinSource && childPid !== undefined) {
      holdStdin(fifo('stdin'), spec.id, childPid, this.stdinHolderFile(spec.id));
      pipeToFifo(stdinSource, stdin, () => releaseStdin(this.stdinHolderFile(spec.id)));
    }

    // undefined: the start timed out, and what it launched may still run.
    const state: LxcState | undefined = await reached.catch(() => undefined);
    if (state !== 'RUNNING') {
      this.monitorPids.delete(spec.id);
      io.stdout.destroy();
      io.stderr.destroy();
      stdin?.destroy();
      const killed = state !== undefined || (await killHelper(() => (childPid === undefined ? [] : [childPid]), [spec.cgroupPath, this.monitorCgroupOf(spec.id)], 5000));
      await settlesWithin(childGone, 5000);
      fs.rmSync(path.join(this.exitsDir, spec.id), { force: true });
      if (killed) await this.stopped(spec).catch((e: Error) => this.log.warn(`cleaning up the failed start of ${spec.id}: ${e.message}`));
      const reason = state === undefined ? `the container did not start within the start-timeout (${this.startTimeoutMs / 1000}s)` : startFailure(path.join(dir, 'lxc.log'));
      throw generalError(`Start container error: ${reason || 'the container exited during start'}`);
    }
    const monitorPid = childPid!;
    if (spec.tty) await resizeTerminalOf(monitorPid, ttySize?.rows ?? 24, ttySize?.cols ?? 80);
    // With -t the monitor runs under `script`: one level further down.
    const lxcStart = (): number => (spec.tty ? (childrenOf(monitorPid)[0] ?? monitorPid) : monitorPid);
    let pid = findInit(lxcStart());
    for (let i = 0; pid === undefined && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 5));
      pid = findInit(lxcStart());
    }
    if (pid !== undefined) this.runPoststart(spec, pid);
    if (pid === undefined) this.log.debug(`no init found under ${lxcStart()} (children ${childrenOf(lxcStart()).join(' ')})`);
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

  /** Tells the post-stop hook that this daemon reads the container's output (see scripts.ts). */
  private claimOutput(id: string): void {
    fs.writeFileSync(path.join(this.stateDir(id), 'reader'), `${process.pid}\n`);
  }

  reattach(id: string, started: StartedContainer, stdinSource?: Readable): ContainerIo {
    const stateDir = this.stateDir(id);
    const io: ContainerIo = { stdout: openFifoReader(path.join(stateDir, 'stdout')), stderr: openFifoReader(path.join(stateDir, 'stderr')) };
    // The holder kept the container's stdin open while no daemon was there: write to it again.
    if (stdinSource && stdinHeld(this.stdinHolderFile(id))) {
      io.stdin = openFifoWriter(path.join(stateDir, 'stdin'));
      pipeToFifo(stdinSource, io.stdin, () => releaseStdin(this.stdinHolderFile(id)));
    }
    this.claimOutput(id);
    this.monitorPids.set(id, started.shimPid);
    this.adopted.set(id, started);
    this.adoptedTimer ??= setInterval(() => {
      for (const [cid, s] of this.adopted) if (!processAlive(s.shimPid, s.shimStartTime)) this.monitorExited(cid, s.shimPid, 137);
      if (this.adopted.size === 0) {
        clearInterval(this.adoptedTimer);
        this.adoptedTimer = undefined;
      }
    }, 1000).unref();
    return io;
  }

  /**
   * lxc-start ended. Normally its post-stop hook has recorded the exit; killed from outside it
   * ran no hook, and the exit is recorded here (128 + signal, as a shell reports it), unless
   * a newer run has replaced it meanwhile.
   */
  private monitorExited(id: string, pid: number, code: number): void {
    if (this.monitorPids.get(id) !== pid) return;
    this.monitorPids.delete(id);
    this.adopted.delete(id);
    const file = path.join(this.exitsDir, id);
    try {
      if (!fs.existsSync(file)) atomicWriteFileSync(file, `${code}\n`, 0o600);
    } catch (e) {
      // Disk full: the exit is found at restore anyway (the helper is gone).
      this.log.error(`recording the exit of ${id}: ${(e as Error).message}`);
    }
  }

  /**
   * LXC's monitor publishes the init's wait status once it has reaped it: about 20 ms before
   * its post-stop hook has run and recorded the exit, while it tears the container down.
   */
  onInitExit(listener: (id: string, code: number) => void): void {
    this.monitor?.on('message', (m: MonitorMessage) => {
      if (m.waitStatus !== undefined) listener(m.name, exitCodeOfWaitStatus(m.waitStatus));
    });
  }

  /** The exit code recorded for `id`, if the container has exited. */
  recordedExit(id: string): number | undefined {
    const text = readExitRecord(path.join(this.exitsDir, id));
    return text === undefined || text === '' ? undefined : Number(text);
  }

  kill(started: StartedContainer, signal: NodeJS.Signals | number): void {
    if (!processAlive(started.pid, started.pidStartTime)) return;
    try {
      process.kill(started.pid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }

  async killAll(spec: RuntimeSpec): Promise<void> {
    killCgroup(spec.cgroupPath);
    // A frozen task keeps a SIGKILL pending until thawed; whoever froze the container's
    // own cgroup (us, or someone writing freezer.state), it must thaw for the kill to land.
    // Without waiting: under a parent frozen by someone else it stays frozen, and a kill must
    // never hang on that (the garbage collector takes over).
    if (isFreezingOrFrozen(spec.cgroupPath)) setFrozenNoWait(spec.cgroupPath, false);
  }

  async pause(spec: RuntimeSpec): Promise<void> {
    await setFrozen(spec.cgroupPath, true);
  }

  async resume(spec: RuntimeSpec): Promise<void> {
    await setFrozen(spec.cgroupPath, false);
  }

  exec(spec: RuntimeSpec, o: ExecOptions): ExecProcess {
    // lxc-attach reports a failed exec only in its log; keep one per exec to tell the user.
    const logFile = path.join(this.stateDir(spec.id), `exec-${o.execId}.log`);
    const args = ['-n', spec.id, '-P', this.lxcpath, '--clear-env', '-q', '-o', logFile, '-l', 'ERROR'];
    for (const e of o.env) args.push('-v', e);
    if (o.user) args.push('-u', String(o.user.uid), '-g', String(o.user.gid));
    args.push('--');
    // lxc-attach 5.0 has no --cwd; a shell in the container changes directory first.
    if (o.workdir) args.push('/bin/sh', '-c', CHDIR_THEN_EXEC, o.workdir);
    args.push(...o.args);
    const [cmd, ...cmdArgs] = withTerminal(['lxc-attach', ...args], o.tty, o.ttySize);
    const child = spawn(cmd!, cmdArgs, { cwd: '/', stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let startError: string | undefined;
    const exited = new Promise<number>((resolve) => {
      child.on('error', (e) => {
        startError = `exec failed: ${e.message}`;
        resolve(126);
      });
      child.on('close', (code, signal) => {
        try {
          const failure = code === 0 ? undefined : firstLxcFailure(fs.readFileSync(logFile, 'utf8'));
          if (failure) startError = `exec failed: ${failure}`;
        } catch {
          // no log: nothing went wrong in lxc-attach itself
        }
        fs.rmSync(logFile, { force: true });
        resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0));
      });
    });
    return {
      pid: child.pid ?? 0,
      stdin: child.stdin,
      // lxc-attach's own error lines come on its stderr, or with -t on the terminal.
      stdout: o.tty ? withoutAttachErrors(child.stdout!) : child.stdout,
      stderr: o.tty ? child.stderr : withoutAttachErrors(child.stderr!),
      exited,
      startError: () => startError,
      resize: (rows: number, cols: number) => {
        if (o.tty && child.pid) void resizeTerminalOf(child.pid, rows, cols);
      },
      kill: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
    };
  }

  listPids(spec: RuntimeSpec): number[] {
    return cgroupPids(spec.cgroupPath);
  }

  async update(spec: RuntimeSpec, resources: ResourceSpec): Promise<void> {
    const v2 = isCgroupV2Only();
    for (const line of resourceLines(resources, v2)) {
      const m = /^lxc\.cgroup2?\.([a-z_]+)\.([a-z_.]+) = (.*)$/.exec(line);
      if (!m) continue;
      const [, controller, key, value] = m as unknown as [string, string, string, string];
      const dir = controllerDir(spec.cgroupPath, controller);
      if (!dir) throw generalError(`cannot update ${controller}.${key}: no ${controller} cgroup on this host`);
      writeCgroupFile(dir, `${controller}.${key}`, value);
    }
    this.writeConfig(spec);
  }

  async resize(started: StartedContainer, rows: number, cols: number): Promise<void> {
    // script → lxc-start: the terminal is script's, lxc-start's stdin.
    await resizeTerminalOf(started.shimPid, rows, cols);
  }

  async stopped(spec: RuntimeSpec): Promise<void> {
    // A block-device rootfs is mounted per run; the image's device must not stay busy.
    await unmount(this.blockRootfsDir(spec.id));
    this.removeLeftoverCgroups(spec);
    // The run is over: nothing of it is left for a restarted daemon to find.
    releaseStdin(this.stdinHolderFile(spec.id));
    fs.rmSync(this.helperFile(spec.id), { force: true });
  }

  /**
   * A container whose record is not running may still have a run: the daemon was killed
   * during its start (the record says running only once it runs) or before the end of its
   * run was released. What that run left is killed and released, so no process of a
   * container runs unless its record says so. Returns true if processes were found.
   */
  async reclaim(spec: RuntimeSpec): Promise<boolean> {
    if (!fs.existsSync(this.helperFile(spec.id))) return false;
    // The run is abandoned: its end is not recorded as an exit.
    this.monitorPids.delete(spec.id);
    this.adopted.delete(spec.id);
    const helpers = (): number[] => helpersOf(this.helperFile(spec.id), spec.id, this.lxcpath);
    const cgroups = [spec.cgroupPath, this.monitorCgroupOf(spec.id)];
    const found = helpers().length > 0 || cgroups.some((cg) => cgroupPids(cg).length > 0);
    if (found) {
      if (isFreezingOrFrozen(spec.cgroupPath)) setFrozenNoWait(spec.cgroupPath, false);
      if (!(await killHelper(helpers, cgroups, 5000))) throw generalError(`processes of the unfinished run of ${spec.id} do not die`);
    }
    await this.stopped(spec);
    fs.rmSync(path.join(this.exitsDir, spec.id), { force: true });
    return found;
  }

  /**
   * State and exit records of containers that have no record any more (`known` says which
   * do): a daemon killed while removing one. Whatever runs of them is killed (`cgroupOf`:
   * where such a container's processes are), then their files go.
   */
  async sweepOrphans(known: (id: string) => boolean, cgroupOf: (id: string) => string): Promise<string[]> {
    const orphans = new Set<string>();
    for (const dir of [this.statePath, this.exitsDir]) {
      for (const e of fs.readdirSync(dir)) if (/^[0-9a-f]{64}$/.test(e) && !known(e)) orphans.add(e);
    }
    for (const id of orphans) {
      const cgroups = [cgroupOf(id), this.monitorCgroupOf(id)];
      if (!(await killHelper(() => helpersOf(this.helperFile(id), id, this.lxcpath), cgroups, 5000))) {
        this.log.warn(`processes of removed container ${id} do not die; its files stay`);
        continue;
      }
      releaseStdin(this.stdinHolderFile(id));
      await unmount(this.blockRootfsDir(id));
      for (const rel of cgroups) if (cgroupPresent(rel)) removeCgroup(rel);
      if (isMountPoint(this.blockRootfsDir(id))) continue;
      for (const p of [this.stateDir(id), path.join(this.exitsDir, id), path.join(LXC_LOCK_DIR, this.lxcpath, `.${id}`)]) fs.rmSync(p, { recursive: true, force: true });
    }
    return [...orphans];
  }

  /** LXC removes its cgroups itself, unless its monitor was killed: then they are left here. */
  private removeLeftoverCgroups(spec: RuntimeSpec): void {
    for (const rel of [spec.cgroupPath, this.monitorCgroupOf(spec.id)]) if (cgroupPresent(rel)) removeCgroup(rel);
  }

  hostResources(spec: RuntimeSpec): { cgroupPath: string; monitorCgroupPath: string; mounts: string[]; stateDirs: string[] } {
    return {
      cgroupPath: spec.cgroupPath,
      monitorCgroupPath: this.monitorCgroupOf(spec.id),
      mounts: [this.blockRootfsDir(spec.id)],
      stateDirs: [this.stateDir(spec.id), path.join(this.exitsDir, spec.id)],
    };
  }

  async cleanup(spec: RuntimeSpec): Promise<void> {
    // The container goes: an end of its helper seen from now on records no exit for it.
    this.monitorPids.delete(spec.id);
    this.adopted.delete(spec.id);
    await this.stopped(spec);
    this.configWritten.delete(spec.id);
    const gone = [
      this.stateDir(spec.id),
      path.join(this.exitsDir, spec.id),
      path.join(this.containerDir(spec.id), 'config'),
      path.join(this.containerDir(spec.id), 'lxc.log'),
      // liblxc takes a lock file per container and never deletes it.
      path.join(LXC_LOCK_DIR, this.lxcpath, `.${spec.id}`),
    ];
    await Promise.all(gone.map((p) => fsp.rm(p, { recursive: true, force: true })));
  }

  close(): void {
    this.monitor?.close();
  }
}
