import type { RestartPolicySpec } from '../api/containers.js';
import type { Logger } from '../sys/log.js';
import type { Container } from './container.js';

/** iSulad's back-off: 100 ms doubling to 1 min, reset after a run of 10 s or more. */
export const BACKOFF_START_MS = 100;
export const BACKOFF_MAX_MS = 60_000;
export const STABLE_RUN_MS = 10_000;
/** The fixed delay for containers the daemon finds stopped when it starts. */
export const RESTORE_DELAY_MS = 5_000;

/** Whether a policy restarts a container that exited with `exitCode` (restartmanager.c). */
export function shouldRestart(policy: RestartPolicySpec, exitCode: number, manuallyStopped: boolean, restartCount: number): boolean {
  if (manuallyStopped) return false;
  switch (policy.name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return exitCode !== 0 && (policy.maximumRetryCount === 0 || restartCount < policy.maximumRetryCount);
    case 'on-reboot':
      return exitCode === 129;
    default:
      return false;
  }
}

export function nextDelay(previousMs: number, ranMs: number): number {
  if (ranMs >= STABLE_RUN_MS || previousMs <= 0) return BACKOFF_START_MS;
  return Math.min(previousMs * 2, BACKOFF_MAX_MS);
}

/** Pending restarts and their back-off, per container; all in memory, re-derived at daemon start. */
export class RestartManager {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly delays = new Map<string, number>();

  constructor(
    private readonly start: (c: Container) => Promise<void>,
    private readonly log: Logger,
  ) {}

  /** Called once an exit is recorded; returns true when a restart was scheduled. */
  onExit(c: Container, exitCode: number, fixedDelayMs?: number): boolean {
    const s = c.state;
    if (c.removed || !shouldRestart(c.record.host.RestartPolicy, exitCode, s.ManuallyStopped, c.record.config.RestartCount)) {
      this.delays.delete(c.id);
      return false;
    }
    const ranMs = Date.parse(s.FinishedAt) - Date.parse(s.StartedAt);
    const delay = fixedDelayMs ?? nextDelay(this.delays.get(c.id) ?? 0, Number.isNaN(ranMs) ? 0 : ranMs);
    this.delays.set(c.id, delay);
    s.Restarting = true;
    void c.save().catch((e: Error) => this.log.error(`saving ${c.id}: ${e.message}`));
    this.timers.set(
      c.id,
      setTimeout(() => {
        this.timers.delete(c.id);
        if (c.removed || !c.state.Restarting) return;
        c.record.config.RestartCount++;
        this.start(c).catch((e: Error) => {
          c.state.Restarting = false;
          c.state.Error = e.message;
          void c.save().catch((err: Error) => this.log.error(`saving ${c.id}: ${err.message}`));
          this.log.warn(`restart of ${c.id} failed: ${e.message}`);
        });
      }, delay),
    );
    this.log.debug(`restarting ${c.id} in ${delay} ms (policy ${c.record.host.RestartPolicy.name})`);
    return true;
  }

  /**
   * At daemon start, for a container found not running: iSulad applies its policy with a
   * fixed 5 s delay; `always` applies even after a manual stop, as Docker does.
   */
  onRestore(c: Container): boolean {
    const policy = c.record.host.RestartPolicy;
    if (policy.name === 'no') return false;
    if (policy.name === 'always') c.state.ManuallyStopped = false;
    return this.onExit(c, c.state.ExitCode, RESTORE_DELAY_MS);
  }

  /** A stop, kill or rm cancels a pending restart. */
  async cancel(c: Container): Promise<void> {
    const timer = this.timers.get(c.id);
    if (timer) clearTimeout(timer);
    this.timers.delete(c.id);
    this.delays.delete(c.id);
    if (c.state.Restarting) {
      c.state.Restarting = false;
      await c.save();
    }
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
