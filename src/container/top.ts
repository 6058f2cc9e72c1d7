import { spawn } from 'node:child_process';
import type { TopResponse } from '../api/containers.js';
import { generalError } from '../api/errors.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { runtimeOf, runtimeSpecOf } from './spec.js';
import { requireOperation } from './state.js';

/** `isula top CONTAINER [ps OPTIONS]`: host `ps`, rows kept for the container's pids, as Docker does. */
export async function topContainer(ctx: EngineContext, c: Container, psArgs: string[]): Promise<TopResponse> {
  requireOperation('exec', c.status === 'paused' ? 'running' : c.status, c.id);
  const pids = new Set(runtimeOf(ctx.runtimes, c).listPids(runtimeSpecOf(c, ctx.defaults)));
  const args = psArgs.length > 0 ? psArgs : ['-ef'];
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('ps', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(generalError(`ps ${args.join(' ')} failed: ${stderr.trim()}`))));
  });
  const lines = out.split('\n').filter(Boolean);
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidColumn = titles.indexOf('PID');
  if (pidColumn < 0) throw generalError(`Couldn't find PID field in ps output`);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    // The last column (command) may contain spaces: keep it whole.
    const row = [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')];
    if (pids.has(Number(fields[pidColumn]))) processes.push(row);
  }
  return { titles, processes };
}
