import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BACKOFF_MAX_MS, BACKOFF_START_MS, nextDelay, shouldRestart } from '../../src/container/restart-manager.js';
import { checkOperation, statusOf } from '../../src/container/state.js';
import { emptyState } from '../../src/container/record.js';
import { mergeEnv } from '../../src/container/env.js';
import { effectiveCaps } from '../../src/runtime/lxc/capabilities.js';
import { judgeProbe } from '../../src/container/health.js';

describe('status derivation', () => {
  it('follows iSulad: inited, running, paused, restarting, exited', () => {
    const s = emptyState();
    assert.equal(statusOf(s), 'inited');
    s.Running = true;
    s.StartedAt = '2026-01-01T00:00:00Z';
    assert.equal(statusOf(s), 'running');
    s.Paused = true;
    assert.equal(statusOf(s), 'paused');
    s.Paused = false;
    s.Running = false;
    s.FinishedAt = '2026-01-01T00:00:01Z';
    assert.equal(statusOf(s), 'exited');
    s.Restarting = true;
    assert.equal(statusOf(s), 'restarting');
  });
});

describe('which command each status accepts', () => {
  const id = 'a'.repeat(64);
  it('start of a running container is a no-op, of a paused one an error', () => {
    assert.equal(checkOperation('start', 'running', id), 'noop');
    assert.match(checkOperation('start', 'paused', id), /cannot start a paused container, try unpause instead/);
  });
  it('pause and unpause refuse the wrong states', () => {
    assert.match(checkOperation('pause', 'paused', id), /already paused/);
    assert.match(checkOperation('pause', 'exited', id), /is not running/);
    assert.match(checkOperation('unpause', 'running', id), /is not paused/);
  });
  it('rm of a running container needs force', () => {
    assert.match(checkOperation('rm', 'running', id), /Stop the container before attempting removal or use -f/);
    assert.equal(checkOperation('rm', 'running', id, true), 'ok');
    assert.equal(checkOperation('rm', 'exited', id), 'ok');
  });
  it('exec needs a running, unpaused container', () => {
    assert.match(checkOperation('exec', 'paused', id), /is paused/);
    assert.match(checkOperation('exec', 'inited', id), /is not running/);
    assert.equal(checkOperation('exec', 'running', id), 'ok');
  });
});

describe('restart policies', () => {
  const p = (name: 'no' | 'always' | 'on-failure' | 'unless-stopped' | 'on-reboot', max = 0) => ({ name, maximumRetryCount: max });
  it('decide as iSulad does', () => {
    assert.equal(shouldRestart(p('no'), 1, false, 0), false);
    assert.equal(shouldRestart(p('always'), 0, false, 0), true);
    assert.equal(shouldRestart(p('always'), 0, true, 0), false);
    assert.equal(shouldRestart(p('unless-stopped'), 0, false, 9), true);
    assert.equal(shouldRestart(p('on-failure'), 0, false, 0), false);
    assert.equal(shouldRestart(p('on-failure', 3), 1, false, 2), true);
    assert.equal(shouldRestart(p('on-failure', 3), 1, false, 3), false);
    assert.equal(shouldRestart(p('on-failure'), 1, false, 100), true);
    assert.equal(shouldRestart(p('on-reboot'), 129, false, 0), true);
    assert.equal(shouldRestart(p('on-reboot'), 1, false, 0), false);
  });
  it('back off from 100 ms doubling to a minute, reset after a run of 10 s', () => {
    let d = nextDelay(0, 0);
    assert.equal(d, BACKOFF_START_MS);
    d = nextDelay(d, 50);
    assert.equal(d, 200);
    for (let i = 0; i < 20; i++) d = nextDelay(d, 50);
    assert.equal(d, BACKOFF_MAX_MS);
    assert.equal(nextDelay(d, 10_000), BACKOFF_START_MS);
  });
});

describe('environment merge', () => {
  it('user env wins for the same key; PATH is added when missing', () => {
    const env = mergeEnv(['c=d e', 'A=1'], ['c=x']);
    assert.ok(env.includes('c=x') && env.includes('A=1') && !env.includes('c=d e'));
    assert.ok(env.some((e) => e.startsWith('PATH=')));
  });
});

describe('capabilities', () => {
  it('drop ALL then add one keeps just that one; privileged keeps all', () => {
    assert.deepEqual(effectiveCaps(['CHOWN', 'KILL'], ['NET_ADMIN'], ['ALL'], false), ['NET_ADMIN']);
    assert.equal(effectiveCaps(['CHOWN'], [], [], true), undefined);
    assert.deepEqual(effectiveCaps(['CHOWN', 'KILL'], [], ['kill'], false), ['CHOWN']);
  });
});

describe('health check verdicts', () => {
  const cfg = { Test: ['CMD-SHELL', 'true'], IntervalMs: 1000, TimeoutMs: 1000, StartPeriodMs: 5000, Retries: 3, ExitOnUnhealthy: false };
  it('a pass is healthy and resets the streak; failures count up to retries', () => {
    assert.deepEqual(judgeProbe({ Status: 'unhealthy', FailingStreak: 4, Log: [] }, 0, cfg, 10_000), { status: 'healthy', streak: 0 });
    assert.deepEqual(judgeProbe({ Status: 'healthy', FailingStreak: 1, Log: [] }, 1, cfg, 10_000), { status: 'healthy', streak: 2 });
    assert.deepEqual(judgeProbe({ Status: 'healthy', FailingStreak: 2, Log: [] }, 1, cfg, 10_000), { status: 'unhealthy', streak: 3 });
  });
  it('failures in the start period do not count while starting', () => {
    assert.deepEqual(judgeProbe({ Status: 'starting', FailingStreak: 0, Log: [] }, 1, cfg, 1000), { status: 'starting', streak: 0 });
    assert.deepEqual(judgeProbe({ Status: 'starting', FailingStreak: 0, Log: [] }, 1, cfg, 6000), { status: 'starting', streak: 1 });
  });
});
