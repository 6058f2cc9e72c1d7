import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LXC_LOCK_DIR } from '../../src/runtime/lxc/lxc.js';

/** The built executable under test; tests always drive the packed single executable. */
export const DIST = path.resolve(process.env.ISULAD_DIST ?? 'dist');
export const ISULAD = path.join(DIST, 'isulad');
export const ISULA = path.join(DIST, 'isula');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} timed out; stdout=${stdout} stderr=${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128 + (signal ? os.constants.signals[signal] : 0), stdout, stderr });
    });
    // A client that exits at once (its daemon killed under it) closes its stdin first.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

function waitForSocket(file: string, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const s = net.connect(file);
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`daemon socket ${file} did not come up`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * The engine's parent cgroups (`isulad`, `isulad.monitor`) outlive its containers; once
 * empty they go too. rmdir refuses a cgroup still in use, so another engine is safe.
 */
function removeEmptyEngineCgroups(): void {
  let hierarchies: string[] = [];
  try {
    hierarchies = fs.readdirSync('/sys/fs/cgroup');
  } catch {
    return;
  }
  // '' is the unified (v2) root; the other entries are v1 hierarchies.
  for (const h of ['', ...hierarchies]) {
    for (const parent of ['isulad', 'isulad.monitor']) {
      try {
        fs.rmdirSync(path.join('/sys/fs/cgroup', h, parent));
      } catch {
        // absent, still in use, or not a hierarchy
      }
    }
  }
}

/** A daemon from the built executable on a private root, state dir, socket and pidfile. */
export class TestEngine {
  readonly dir: string;
  readonly root: string;
  readonly state: string;
  readonly sock: string;
  readonly pidfile: string;
  readonly host: string;
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  /** What the daemons of this engine wrote to stdout (their log, with --log-driver stdout). */
  stdout = '';

  private constructor(
    dir: string,
    private readonly extraArgs: string[],
    private readonly config: unknown = {},
  ) {
    this.dir = dir;
    this.root = path.join(dir, 'root');
    this.state = path.join(dir, 'state');
    this.sock = path.join(dir, 'isulad.sock');
    this.pidfile = path.join(dir, 'isulad.pid');
    this.host = `unix://${this.sock}`;
  }

  /** `config` is the daemon.json to start with (default: empty). */
  static async start(extraArgs: string[] = [], config?: unknown): Promise<TestEngine> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-test-'));
    const engine = new TestEngine(dir, extraArgs, config);
    await engine.startDaemon();
    return engine;
  }

  daemonArgs(): string[] {
    return ['-g', this.root, '-S', this.state, '-H', this.host, '-p', this.pidfile, '--config-file', this.configFile(), ...this.extraArgs];
  }

  /** The test's own daemon.json, so a host's /etc/isulad/daemon.json never leaks into a test. */
  configFile(): string {
    const file = path.join(this.dir, 'daemon.json');
    if (!fs.existsSync(file)) fs.writeFileSync(file, `${JSON.stringify(this.config, null, 4)}\n`);
    return file;
  }

  async startDaemon(): Promise<void> {
    const child = spawn(ISULAD, this.daemonArgs(), { stdio: ['ignore', 'pipe', 'pipe'], detached: false });
    child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    this.child = child;
    const early = this.exited.then((code) => {
      throw new Error(`isulad exited early with ${code}: ${stderr}`);
    });
    await Promise.race([waitForSocket(this.sock, 15_000), early]);
  }

  /** Throws rather than give 0, which process.kill would take as this test's process group. */
  get pid(): number {
    const pid = this.child?.pid;
    if (!pid) throw new Error('the test daemon is not running');
    return pid;
  }

  isula(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return run(ISULA, ['-H', this.host, ...args], opts);
  }

  /** Graceful stop: SIGTERM and wait for the exit. */
  async stop(): Promise<number | null> {
    if (!this.child || this.child.exitCode !== null) return this.child?.exitCode ?? null;
    this.child.kill('SIGTERM');
    return this.exited!;
  }

  async kill9(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async restart(): Promise<void> {
    await this.kill9();
    await this.startDaemon();
  }

  /** Removes every container the test made, stops the daemon and deletes its directories. */
  async cleanup(): Promise<void> {
    // A test that failed while its daemon was stopped may leave containers running (their
    // rootfs mounted under the directory): a daemon, if one starts, removes them first.
    if (!this.child || this.child.exitCode !== null) await this.startDaemon().catch(() => undefined);
    if (this.child && this.child.exitCode === null) {
      const ps = await this.isula(['ps', '-a', '-q', '--no-trunc']).catch(() => undefined);
      const ids = ps?.code === 0 ? ps.stdout.split('\n').filter(Boolean) : [];
      if (ids.length > 0) await this.isula(['rm', '-f', ...ids], { timeoutMs: 120_000 });
      await this.stop();
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    // liblxc's lock directories mirror the test's lxcpath under /run/lxc/lock.
    fs.rmSync(path.join(LXC_LOCK_DIR, this.dir), { recursive: true, force: true });
    removeEmptyEngineCgroups();
  }
}
