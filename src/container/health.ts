import crypto from 'node:crypto';
import type { RuntimeTable } from '../runtime/table.js';
import type { Logger } from '../sys/log.js';
import type { Container } from './container.js';
import type { ContainerDefaults } from './defaults.js';
import type { EventLog } from './events.js';
import type { HealthConfig, HealthState } from './record.js';
import { runtimeOf, runtimeSpecOf } from './spec.js';

/** iSulad's health check numbers (health_check.c). */
export const HEALTH_DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, retries: 3 };
export const HEALTH_MAX_TIMEOUT_MS = 10 * 60_000;
const LOG_ENTRIES = 5;
const OUTPUT_MAX = 4096;

/** The next health status after a probe (iSulad's rules), and the new failing streak. */
export function judgeProbe(state: HealthState, exitCode: number, cfg: HealthConfig, sinceStartMs: number): { status: HealthState['Status']; streak: number } {
  if (exitCode === 0) return { status: 'healthy', streak: 0 };
  // Failures in the start period do not count while the container is still starting.
  if (state.Status === 'starting' && sinceStartMs < cfg.StartPeriodMs) return { status: 'starting', streak: state.FailingStreak };
  const streak = state.FailingStreak + 1;
  return { status: streak >= cfg.Retries ? 'unhealthy' : state.Status, streak };
}

/** The health of a container whose checks have not run yet in this run. */
export function startingHealth(): HealthState {
  return { Status: 'starting', FailingStreak: 0, Log: [] };
}

/** One probe loop per running container with a health check; probes are execs in it. */
export class HealthChecks {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly deps: {
      runtimes: RuntimeTable;
      defaults: ContainerDefaults;
      events: EventLog;
      log: Logger;
      onUnhealthy: (c: Container) => Promise<void>;
    },
  ) {}

  start(c: Container): void {
    const cfg = c.record.config.Config.Healthcheck;
    if (!cfg || cfg.Test[0] === 'NONE' || this.timers.has(c.id)) return;
    c.state.Health ??= startingHealth();
    this.schedule(c, cfg);
  }

  stop(c: Container): void {
    const t = this.timers.get(c.id);
    if (t) clearTimeout(t);
    this.timers.delete(c.id);
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private schedule(c: Container, cfg: HealthConfig): void {
    this.timers.set(
      c.id,
      setTimeout(() => {
        void this.probe(c, cfg).finally(() => {
          if (this.timers.has(c.id) && c.state.Running && !c.state.Paused) this.schedule(c, cfg);
        });
      }, cfg.IntervalMs),
    );
  }

  private async probe(c: Container, cfg: HealthConfig): Promise<void> {
    const { deps } = this;
    if (!c.state.Running || c.state.Paused) return;
    const start = new Date();
    const args = cfg.Test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', cfg.Test.slice(1).join(' ')] : cfg.Test.slice(1);
    const spec = runtimeSpecOf(c, deps.defaults);
    const proc = runtimeOf(deps.runtimes, c).exec(spec, {
      execId: crypto.randomBytes(32).toString('hex'),
      args,
      env: c.record.config.Config.Env,
      user: spec.user,
      tty: false,
      stdin: false,
    });
    let output = '';
    const collect = (d: Buffer): void => {
      if (output.length < OUTPUT_MAX) output += d.toString('utf8');
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill();
    }, cfg.TimeoutMs);
    let exitCode = await proc.exited;
    clearTimeout(timer);
    if (timedOut) {
      exitCode = -1;
      output = `Health check exceeded timeout (${cfg.TimeoutMs / 1000}s)`;
    }
    if (output.length > OUTPUT_MAX) output = `${output.slice(0, OUTPUT_MAX - 3)}...`;
    if (!c.state.Running || !c.state.Health) return;
    const health = c.state.Health;
    const verdict = judgeProbe(health, exitCode, cfg, start.getTime() - Date.parse(c.state.StartedAt));
    health.Log = [...health.Log, { Start: start.toISOString(), End: new Date().toISOString(), ExitCode: exitCode, Output: output }].slice(-LOG_ENTRIES);
    health.FailingStreak = verdict.streak;
    const changed = verdict.status !== health.Status;
    health.Status = verdict.status;
    await c.save();
    if (changed) deps.events.emit('container', `health_status: ${verdict.status}`, c.id, { name: c.name });
    if (verdict.status === 'unhealthy' && cfg.ExitOnUnhealthy) {
      this.stop(c);
      await deps.onUnhealthy(c).catch((e: Error) => deps.log.warn(`stopping unhealthy ${c.id}: ${e.message}`));
    }
  }
}
