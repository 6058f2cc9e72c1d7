import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { ResourceSpec } from '../../src/api/containers.js';
import type { ContainerIo, ExecProcess, Runtime, RuntimeSpec, StartedContainer } from '../../src/runtime/runtime.js';
import { readProcStat } from '../../src/sys/procfs.js';

/** How a fake run answers signals; set per container id before its start. */
export interface FakeBehaviour {
  /** Exit code recorded before start() returns (a very short-lived container). */
  exitAtStart?: number;
  /** Whether the stop signal ends the run (after `exitDelayMs`); SIGKILL always does. */
  obeysStopSignal: boolean;
  exitDelayMs: number;
}

interface Run {
  id: string;
  stdout: PassThrough;
  stderr: PassThrough;
  alive: boolean;
}

/**
 * A Runtime that runs nothing: each run is two output streams and an exit the test or a
 * signal decides, recorded as the LXC runtime does (a file named by the container id in
 * `exitsDir`, which the daemon's supervisor watches). Every run's init is this test process,
 * alive throughout, so the engine learns of an exit only from the runtime; the run's serial
 * in `shimStartTime` lets kill() find the run the engine means.
 */
export class FakeRuntime implements Runtime {
  readonly name = 'fake';
  readonly exitsDir: string;
  readonly behaviour = new Map<string, FakeBehaviour>();
  /** Every start, by container id, in order. */
  readonly starts: string[] = [];
  /** Signals the engine sent, as `<id> <signal>`. */
  readonly signals: string[] = [];
  private readonly runs: Run[] = [];
  private readonly selfStartTime = readProcStat(process.pid)!.startTime;

  constructor(root: string) {
    this.exitsDir = path.join(root, 'exits');
  }

  init(): void {
    fs.mkdirSync(this.exitsDir, { recursive: true });
  }

  close(): void {}

  async sweepOrphans(): Promise<string[]> {
    return [];
  }

  unknownCaps(names: string[]): string[] {
    return names.filter((n) => n.toUpperCase() !== 'ALL' && !/^(CAP_)?(CHOWN|KILL|NET_ADMIN)$/i.test(n));
  }

  async detect(): Promise<string | undefined> {
    return undefined;
  }

  recordedExit(id: string): number | undefined {
    try {
      return Number(fs.readFileSync(path.join(this.exitsDir, id), 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** Its helper is this test process: never ends. */
  async helperEnded(): Promise<boolean> {
    return false;
  }

  /** Exits are told by their records only. */
  onInitExit(): void {}

  /** The container's current run ends with `code`: its output ends, then the exit is recorded. */
  exit(id: string, code: number): void {
    const run = this.live(id);
    if (!run) return;
    run.alive = false;
    run.stdout.end();
    run.stderr.end();
    const tmp = path.join(this.exitsDir, `.${id}.tmp`);
    fs.writeFileSync(tmp, `${code}\n`);
    fs.renameSync(tmp, path.join(this.exitsDir, id));
  }

  live(id: string): Run | undefined {
    return this.runs.find((r) => r.id === id && r.alive);
  }

  create(): void {}

  async start(spec: RuntimeSpec, _stdin: Readable | undefined): Promise<{ started: StartedContainer; io: ContainerIo }> {
    fs.rmSync(path.join(this.exitsDir, spec.id), { force: true });
    const run: Run = { id: spec.id, stdout: new PassThrough(), stderr: new PassThrough(), alive: true };
    this.runs.push(run);
    this.starts.push(spec.id);
    const started = { pid: process.pid, pidStartTime: this.selfStartTime, shimPid: process.pid, shimStartTime: this.runs.length - 1 };
    const atStart = this.behaviour.get(spec.id)?.exitAtStart;
    if (atStart !== undefined) this.exit(spec.id, atStart);
    return { started, io: { stdout: run.stdout, stderr: run.stderr } };
  }

  reattach(): ContainerIo {
    throw new Error('the fake runtime does not restore');
  }

  kill(started: StartedContainer, signal: NodeJS.Signals | number): void {
    const run = this.runs[started.shimStartTime];
    if (!run?.alive) return;
    const n = signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : Number(signal);
    this.signals.push(`${run.id} ${n}`);
    const b = this.behaviour.get(run.id) ?? { obeysStopSignal: true, exitDelayMs: 0 };
    if (n === 9) this.exit(run.id, 137);
    else if (b.obeysStopSignal) setTimeout(() => run.alive && this.exit(run.id, 128 + n), b.exitDelayMs);
  }

  async killAll(spec: RuntimeSpec): Promise<void> {
    if (this.live(spec.id)) this.exit(spec.id, 137);
  }

  async pause(): Promise<void> {}
  async resume(): Promise<void> {}

  exec(): ExecProcess {
    throw new Error('the fake runtime does not exec');
  }

  listPids(spec: RuntimeSpec): number[] {
    return this.live(spec.id) ? [process.pid] : [];
  }

  async update(_spec: RuntimeSpec, _resources: ResourceSpec): Promise<void> {}
  async resize(): Promise<void> {}
  async stopped(): Promise<void> {}

  async reclaim(spec: RuntimeSpec): Promise<boolean> {
    if (!this.live(spec.id)) return false;
    this.exit(spec.id, 137);
    return true;
  }

  hostResources(spec: RuntimeSpec): { cgroupPath: string; monitorCgroupPath: string; mounts: string[]; stateDirs: string[] } {
    return { cgroupPath: spec.cgroupPath, monitorCgroupPath: '', mounts: [], stateDirs: [] };
  }

  /** A fake run leaves nothing behind for the collector. */
  killLeftovers(): void {}

  async cleanup(): Promise<void> {}
}
