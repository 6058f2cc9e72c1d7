import { spawn } from 'node:child_process';
import { daemonEnv } from '../sys/env.js';

/*
 * One CNI plugin run (the CNI spec's execution protocol): the network config on stdin, the
 * parameters in CNI_* environment variables, a result or a JSON error {code,msg,details} on
 * stdout. The plugin is somebody else's binary: its stdout is bounded, its stderr kept only
 * in part, and a run past the timeout is killed.
 */

export type CniCommand = 'ADD' | 'DEL' | 'CHECK';

export const MAX_PLUGIN_STDOUT = 1024 * 1024;
const MAX_PLUGIN_STDERR = 16 * 1024;

/** A plugin's failure: its own error code and message when it printed one. */
export class CniPluginError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

export interface Invocation {
  binary: string;
  type: string;
  command: CniCommand;
  containerId: string;
  netns: string;
  ifName: string;
  args: string;
  path: string;
  timeoutMs: number;
}

function pluginError(inv: Invocation, stdout: string, stderr: string, status: string): CniPluginError {
  const what = `plugin type=${JSON.stringify(inv.type)} failed (${inv.command.toLowerCase()})`;
  try {
    const e = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof e.msg === 'string') {
      const details = typeof e.details === 'string' && e.details ? `; ${e.details}` : '';
      return new CniPluginError(`${what}: ${e.msg}${details}`.slice(0, 4096), typeof e.code === 'number' ? e.code : undefined);
    }
  } catch {
    // not a JSON error: say what the process said on stderr
  }
  const line = stderr.trim().split('\n')[0] ?? '';
  return new CniPluginError(`${what}: ${line ? line.slice(0, 1024) : status}`);
}

/**
 * A plugin process started before its turn: it has its CNI_* environment and waits for its
 * config on stdin, which a plugin reads before it does anything (libcni's skel). `run` gives
 * it the config (its timeout counts from there) and resolves to its parsed stdout (undefined
 * when empty, as DEL and CHECK may print); `cancel` kills one never run.
 */
export interface StartedPlugin {
  run(config: unknown): Promise<unknown>;
  cancel(): void;
}

/**
 * Starts the plugin's process now. The spawn (a fork of the daemon: ~1–2 ms of the event loop)
 * is paid while the plugin before it runs, and the next plugin's exec and start-up overlap
 * that run; the plugins still act one after the other, each once its config arrives.
 */
export function startPlugin(inv: Invocation): StartedPlugin {
  const env = {
    ...daemonEnv(),
    CNI_COMMAND: inv.command,
    CNI_CONTAINERID: inv.containerId,
    CNI_NETNS: inv.netns,
    CNI_IFNAME: inv.ifName,
    CNI_ARGS: inv.args,
    CNI_PATH: inv.path,
  };
  const child = spawn(inv.binary, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let outBytes = 0;
  let err = '';
  let failure: CniPluginError | undefined;
  let timer: NodeJS.Timeout | undefined;
  const kill = (why: string): void => {
    failure ??= new CniPluginError(`plugin type=${JSON.stringify(inv.type)} (${inv.command.toLowerCase()}): ${why}`);
    child.kill('SIGKILL');
  };
  const done = new Promise<unknown>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      outBytes += d.length;
      if (outBytes > MAX_PLUGIN_STDOUT) return kill(`output over the limit of ${MAX_PLUGIN_STDOUT / 1048576} MiB, killed`);
      out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < MAX_PLUGIN_STDERR) err += d.toString('utf8', 0, MAX_PLUGIN_STDERR - err.length);
    });
    // A plugin that exits without reading its config closes the pipe under us.
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new CniPluginError(`plugin type=${JSON.stringify(inv.type)}: cannot run ${inv.binary}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      const stdout = Buffer.concat(out).toString('utf8');
      if (code !== 0) return reject(pluginError(inv, stdout, err, signal ? `killed by ${signal}` : `exit status ${code}`));
      if (stdout.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new CniPluginError(`plugin type=${JSON.stringify(inv.type)} (${inv.command.toLowerCase()}): its output is not JSON`));
      }
    });
  });
  // Seen by run, or by nobody once cancelled.
  done.catch(() => undefined);
  let fed = false;
  return {
    run(config: unknown): Promise<unknown> {
      if (!fed) {
        fed = true;
        timer = setTimeout(() => kill(`no answer in ${inv.timeoutMs / 1000} s, killed`), inv.timeoutMs);
        child.stdin.end(JSON.stringify(config));
      }
      return done;
    },
    cancel(): void {
      if (fed) return;
      fed = true;
      kill('not run');
      child.stdin.destroy();
    },
  };
}
