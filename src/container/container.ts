import path from 'node:path';
import type { PassThrough } from 'node:stream';
import type { RuntimeSpec } from '../runtime/runtime.js';
import { DurableFile } from '../sys/durable-file.js';
import { writeNewFilesDurably } from '../sys/atomic-write.js';
import type { OutputPump } from './io.js';
import type { ContainerRecord } from './record.js';
import { statusOf, type Status } from './state.js';

/** Serializes the verbs on one container: a start never races a stop or a remove. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** One container: its persisted record plus what exists only while the daemon runs. */
export class Container {
  readonly lock = new Mutex();
  /** Output of the current run, while the container runs. */
  pump: OutputPump | undefined;
  /** The container's stdin while it runs with -i and this daemon started it. */
  stdin: PassThrough | undefined;
  /**
   * The runtime spec the current run was started with, when this daemon started it: derived
   * once per start (it reads the rootfs's user database) and used again by the run's stop
   * and exit, which need only what a run cannot change (its id, cgroup, rootfs).
   */
  runSpec: RuntimeSpec | undefined;
  /** Waiters for the end of the current run: its exit recorded, then everything after (--rm). */
  private exitWaiters: ((code: number) => void)[] = [];
  private finishWaiters: ((code: number) => void)[] = [];
  /** True while the exit of the current run is being recorded. */
  exiting = false;
  /** Part of that: no longer running, but the exit (and its die) not yet told. */
  tellingExit = false;
  /**
   * The last run's host resources (cgroups, a mounted rootfs) being released, when its exit
   * was known before the runtime's helper had finished: a new start or a remove waits for it.
   */
  releasing: Promise<void> = Promise.resolve();
  removed = false;
  private readonly configFile: DurableFile;
  private readonly hostFile: DurableFile;

  constructor(
    public record: ContainerRecord,
    readonly dir: string,
  ) {
    this.configFile = new DurableFile(path.join(dir, 'config.v2.json'), () => JSON.stringify(this.record.config, null, 2));
    this.hostFile = new DurableFile(path.join(dir, 'hostconfig.json'), () => JSON.stringify(this.record.host, null, 2));
  }

  get id(): string {
    return this.record.config.ID;
  }

  get name(): string {
    return this.record.config.Name;
  }

  get status(): Status {
    return statusOf(this.record.config.State);
  }

  get state() {
    return this.record.config.State;
  }

  /** config.v2.json: written on every state change, atomically; a reply waits for it. */
  save(): Promise<void> {
    return this.configFile.save();
  }

  /**
   * config.v2.json and hostconfig.json of a create, in its new directory: written as new files
   * and fsynced beside the directory (writeNewFilesDurably). A crash before both are whole
   * leaves a file that does not parse or none, which the next start takes for a create that
   * never finished; every later save replaces them atomically.
   */
  createFiles(): Promise<void> {
    return writeNewFilesDurably(this.dir, [
      ['config.v2.json', this.configFile.render(), this.configFile.mode],
      ['hostconfig.json', this.hostFile.render(), this.hostFile.mode],
    ]);
  }

  /** hostconfig.json: written at create and update. */
  saveHost(): Promise<void> {
    return this.hostFile.save();
  }

  /** Every write asked for so far is done (at daemon shutdown). */
  async filesSettled(): Promise<void> {
    await Promise.all([this.configFile.settled(), this.hostFile.settled()]);
  }

  /** Before the directory goes: no more writes, and the one under way finished. */
  async closeFiles(): Promise<void> {
    await Promise.all([this.configFile.close(), this.hostFile.close()]);
  }

  /** The exit code of the current run once it is recorded; at once when not running. */
  waitExit(): Promise<number> {
    if (!this.state.Running && !this.tellingExit) return Promise.resolve(this.state.ExitCode);
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  /** Like waitExit, but also waits for what follows an exit (auto-remove). */
  waitFinished(): Promise<number> {
    if (!this.state.Running && !this.exiting) return Promise.resolve(this.state.ExitCode);
    return new Promise((resolve) => this.finishWaiters.push(resolve));
  }

  notifyExit(code: number): void {
    const waiters = this.exitWaiters;
    this.exitWaiters = [];
    for (const w of waiters) w(code);
  }

  notifyFinished(code: number): void {
    const waiters = this.finishWaiters;
    this.finishWaiters = [];
    for (const w of waiters) w(code);
  }
}
