import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ResourceSpec, TerminalSize } from '../../api/containers.js';
import { generalError } from '../../api/errors.js';
import { atomicWriteFileSync } from '../../sys/atomic-write.js';
import { readExitRecord } from '../../sys/exit-record.js';
import { readTail } from '../../sys/bounded-read.js';
import { setFrozen } from '../../sys/cgroup/freezer.js';
import { cgroupPids, controllerDir, isCgroupV2Only, writeCgroupFile } from '../../sys/cgroup/tree.js';
import { ensureFifo, FifoPool } from '../../sys/fifo.js';
import type { Logger } from '../../sys/log.js';
import { processAlive } from '../../sys/procfs.js';
import { which } from '../../sys/which.js';
import type { ContainerIo, ExecOptions, ExecProcess, Runtime, RuntimeSpec, StartedContainer } from '../runtime.js';
import { reattachIo } from './attach.js';
import { unknownCaps } from './capabilities.js';
import { cgroupSettings } from './config.js';
import { LxcConfigWriter } from './config-writer.js';
import { execInContainer } from './exec.js';
import { LxcHostResources } from './host.js';
import { startRun } from './launch.js';
import { LxcLayout } from './layout.js';
import { exitCodeOfWaitStatus, LxcMonitor, type MonitorMessage } from './monitor.js';
import { RunTracker } from './runs.js';
import { EXIT_LOG_TAIL_BYTES, exitCodeInLog, REMOUNT_RO_HOOK, renderPostStopHook } from './scripts.js';
import { resizeTerminalOf } from './pty.js';

export { LXC_LOCK_DIR } from './layout.js';

/**
 * The LXC runtime (iSulad's `lcr`), driven through Debian's lxc-* tools. Each container runs
 * under its own `lxc-start -F`, started detached so it outlives the daemon: the one helper
 * process a container has. It holds the container's output FIFOs, and its post-stop hook
 * records the exit code (scripts.ts). `StartedContainer.shimPid` is that process (`script`
 * around it with -t). The jobs live beside: launch.ts starts a run, attach.ts and exec.ts
 * reach a running one (pty.ts: their terminal with -t), host.ts holds and releases what runs
 * take on the host, and config-writer.ts writes the LXC config.
 */
export class LxcRuntime implements Runtime {
  readonly name = 'lcr';
  readonly lxcpath: string;
  readonly exitsDir: string;
  private readonly layout: LxcLayout;
  private readonly config: LxcConfigWriter;
  private readonly host: LxcHostResources;
  private readonly runs: RunTracker;
  private monitor: LxcMonitor | undefined;
  private fifos: FifoPool | undefined;

  constructor(
    graph: string,
    state: string,
    monitorCgroupParent: string,
    private readonly log: Logger,
    /** How long a start may take before it counts as failed (daemon `start-timeout`; iSulad: 2m). */
    private readonly startTimeoutMs = 120_000,
  ) {
    this.layout = new LxcLayout(graph, state, monitorCgroupParent);
    this.lxcpath = this.layout.lxcpath;
    this.exitsDir = this.layout.exitsDir;
    this.config = new LxcConfigWriter(this.layout);
    this.host = new LxcHostResources(this.layout, log);
    this.runs = new RunTracker(this.layout, log);
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
    const { layout } = this;
    layout.makeDirs();
    for (const [file, text] of [
      [layout.hookScript, renderPostStopHook(layout.exitsDir, layout.statePath)],
      [layout.remountHook, REMOUNT_RO_HOOK],
    ] as const) {
      let current = '';
      try {
        current = fs.readFileSync(file, 'utf8');
      } catch {
        // first start
      }
      if (current !== text) atomicWriteFileSync(file, text, 0o755);
    }
    this.fifos = new FifoPool(path.join(layout.statePath, 'fifo-pool'));
    this.fifos.fill().catch((e: Error) => this.log.warn(`making FIFOs ahead: ${e.message}`));
    this.monitor = new LxcMonitor(this.lxcpath);
    fs.mkdirSync(path.dirname(this.monitor.fifoPath), { recursive: true });
    ensureFifo(this.monitor.fifoPath);
    this.monitor.open();
    this.monitor.on('error', (e: Error) => this.log.error(`LXC monitor FIFO: ${e.message}`));
  }

  /** Rendered now, written once the create has answered (config-writer.ts): start, update and cleanup wait for that. */
  create(spec: RuntimeSpec, committed: Promise<unknown>): void {
    this.config.prepare(spec, committed).catch((e: Error) => this.log.warn(`writing the LXC config of ${spec.id}: ${e.message} (its start writes it again)`));
  }

  async start(spec: RuntimeSpec, stdinSource: Readable | undefined, ttySize?: TerminalSize): Promise<{ started: StartedContainer; io: ContainerIo }> {
    if (!this.monitor || !this.fifos) throw new Error('LXC runtime not initialised');
    await this.config.settled(spec.id);
    const { layout, config, host, runs, monitor, fifos, log, startTimeoutMs } = this;
    return startRun({ layout, config, host, runs, monitor, fifos, log, startTimeoutMs }, spec, stdinSource, ttySize);
  }

  reattach(id: string, started: StartedContainer, stdinSource?: Readable): ContainerIo {
    const io = reattachIo(this.layout, id, stdinSource);
    this.runs.adopt(id, started);
    return io;
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

  helperEnded(started: { pid: number; startTime: number }, timeoutMs: number): Promise<boolean> {
    return this.runs.helperEnded(started.pid, started.startTime, timeoutMs);
  }

  /**
   * The exit code recorded for `id`, if the container has exited: the code itself (an end the
   * daemon saw), or `pid <init>` from the post-stop hook, whose code is in lxc.log (scripts.ts).
   */
  recordedExit(id: string): number | undefined {
    const text = readExitRecord(this.layout.exitFile(id));
    if (text === undefined || text === '') return undefined;
    const hook = /^pid (\d*)$/.exec(text);
    if (hook) return exitCodeInLog(readTail(this.layout.logFile(id), EXIT_LOG_TAIL_BYTES), hook[1]!);
    const code = Number(text);
    if (Number.isInteger(code)) return code;
    this.log.warn(`ignoring unreadable exit record of ${id}: ${JSON.stringify(text)}`);
    return undefined;
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
    this.host.killAll(spec.cgroupPath);
  }

  killLeftovers(res: { cgroupPath: string; monitorCgroupPath: string }, shim: { pid: number; startTime: number }): void {
    this.host.killLeftovers(res, shim);
  }

  async pause(spec: RuntimeSpec): Promise<void> {
    await setFrozen(spec.cgroupPath, true);
  }

  async resume(spec: RuntimeSpec): Promise<void> {
    await setFrozen(spec.cgroupPath, false);
  }

  exec(spec: RuntimeSpec, o: ExecOptions): ExecProcess {
    return execInContainer(this.layout, spec, o);
  }

  listPids(spec: RuntimeSpec): number[] {
    return cgroupPids(spec.cgroupPath);
  }

  async update(spec: RuntimeSpec, resources: ResourceSpec): Promise<void> {
    await this.config.settled(spec.id);
    for (const { controller, key, value } of cgroupSettings(resources, isCgroupV2Only())) {
      const dir = controllerDir(spec.cgroupPath, controller);
      if (!dir) throw generalError(`cannot update ${controller}.${key}: no ${controller} cgroup on this host`);
      writeCgroupFile(dir, `${controller}.${key}`, value);
    }
    this.config.write(spec);
  }

  async resize(started: StartedContainer, rows: number, cols: number): Promise<void> {
    // script → lxc-start: the terminal is script's, lxc-start's stdin.
    await resizeTerminalOf(started.shimPid, rows, cols);
  }

  async stopped(spec: RuntimeSpec): Promise<void> {
    await this.host.stopped(spec);
  }

  async reclaim(spec: RuntimeSpec): Promise<boolean> {
    if (!fs.existsSync(this.layout.helperFile(spec.id))) return false;
    // The run is abandoned: its end is not recorded as an exit.
    this.runs.forget(spec.id);
    return this.host.reclaim(spec);
  }

  sweepOrphans(known: (id: string) => boolean, cgroupOf: (id: string) => string): Promise<string[]> {
    return this.host.sweepOrphans(known, cgroupOf);
  }

  hostResources(spec: RuntimeSpec): { cgroupPath: string; monitorCgroupPath: string; mounts: string[]; stateDirs: string[] } {
    return this.host.hostResources(spec);
  }

  async cleanup(spec: RuntimeSpec): Promise<void> {
    await this.config.settled(spec.id);
    // The container goes: an end of its helper seen from now on records no exit for it.
    this.runs.forget(spec.id);
    await this.host.stopped(spec);
    this.config.forget(spec.id);
    await this.host.removeFiles(spec.id);
  }

  close(): void {
    this.monitor?.close();
  }
}
