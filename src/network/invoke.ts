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
  config: unknown;
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

/** Runs one plugin; resolves to its parsed stdout (undefined when empty, as DEL and CHECK may print). */
export function invokePlugin(inv: Invocation): Promise<unknown> {
  return new Promise((resolve, reject) => {
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
    const kill = (why: string): void => {
      failure ??= new CniPluginError(`plugin type=${JSON.stringify(inv.type)} (${inv.command.toLowerCase()}): ${why}`);
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(`no answer in ${inv.timeoutMs / 1000} s, killed`), inv.timeoutMs);
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
    child.stdin.end(JSON.stringify(inv.config));
  });
}
