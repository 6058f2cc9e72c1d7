import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { ISULA, type RunResult, type TestEngine } from './engine.js';

/** Shared by the container test files: polling, failure messages, and client calls on one engine. */

export const sleepMs = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

/** Polls `check` until it returns a value other than undefined, or fails at the deadline. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, deadlineMs = 10_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleepMs(50);
  }
}

export const show = (r: RunResult): string => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** Client calls on one engine, with the rootfs given as `--external-rootfs DIR none`. */
export class Cli {
  constructor(
    readonly engine: TestEngine,
    readonly rootfs: string,
  ) {}

  /** A hung client fails its test after 20 s instead of the helper's 60 s, to keep the file's runtime bounded. */
  isula(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return this.engine.isula(args, { timeoutMs: 20_000, ...opts });
  }

  /** `isula VERB [flags] --external-rootfs ROOTFS none CMD...` */
  withRootfs(verb: 'run' | 'create', flags: string[], cmd: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return this.isula([verb, ...flags, '--external-rootfs', this.rootfs, 'none', ...cmd], opts);
  }

  /** Runs a command and requires exit 0; returns its stdout. */
  async ok(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.isula(args, opts);
    assert.equal(r.code, 0, `isula ${args.join(' ')}: ${show(r)}`);
    return r.stdout;
  }

  /** `run -d`, returns the full id. */
  async runDetached(flags: string[], cmd: string[]): Promise<string> {
    const r = await this.withRootfs('run', ['-d', ...flags], cmd);
    assert.equal(r.code, 0, show(r));
    const id = r.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    return id;
  }

  async status(ref: string): Promise<string> {
    return (await this.ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', ref])).trim();
  }

  /** Waits until the container's inspect status starts with `state`. */
  waitState(ref: string, state: string, deadlineMs = 10_000): Promise<string> {
    return eventually(
      `${ref} to be ${state}`,
      async () => {
        const s = await this.status(ref);
        return s.startsWith(`${state} `) ? s : undefined;
      },
      deadlineMs,
    );
  }

  async names(): Promise<string[]> {
    return (await this.ok(['ps', '-a', '--format', '{{.Names}}'])).split('\n').filter(Boolean).sort();
  }

  /** Runs a one-shot container with --rm and returns its stdout (exit 0 required). */
  async inside(flags: string[], script: string): Promise<string> {
    const r = await this.withRootfs('run', ['--rm', ...flags], ['sh', '-c', script]);
    assert.equal(r.code, 0, show(r));
    return r.stdout;
  }

  async create(flags: string[], cmd: string[]): Promise<string> {
    const r = await this.withRootfs('create', flags, cmd);
    assert.equal(r.code, 0, show(r));
    return r.stdout.trim();
  }

  /** A long-running client (events, logs -f, attach) whose output can be awaited piecewise. */
  spawn(args: string[]): Streaming {
    return new Streaming(spawn(ISULA, ['-H', this.engine.host, ...args], { stdio: ['pipe', 'pipe', 'pipe'] }));
  }
}

export class Streaming {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number>;

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  }

  write(text: string): void {
    this.child.stdin.write(text);
  }

  waitFor(re: RegExp, deadlineMs = 10_000): Promise<string> {
    return eventually(
      `${re} in output (so far: ${JSON.stringify(this.stdout)} / ${JSON.stringify(this.stderr)})`,
      async () => (re.test(this.stdout) ? this.stdout : undefined),
      deadlineMs,
    );
  }

  /** Resolves with the exit code, or fails if the client is still running after the deadline. */
  async exit(deadlineMs = 10_000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`client still running after ${deadlineMs} ms; stdout=${this.stdout} stderr=${this.stderr}`)), deadlineMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
