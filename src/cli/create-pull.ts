import tty from 'node:tty';
import type { CreateRequest } from '../api/containers.js';
import { ExitCode, invalidArgs } from '../api/errors.js';
import { DaemonError } from '../client/transport.js';
import { type Args, str } from './command.js';
import type { CliContext } from './context.js';
import { pullWithProgress } from './pull.js';
import { writeErr } from './stdio.js';

const POLICIES = new Set(['missing', 'always', 'never']);

/**
 * `create`/`run` with `--pull`: as Docker's client, a create that finds no image pulls it
 * (output on stderr, so that `run`'s stdout stays the container's) and creates again.
 */
export async function createWithPull(ctx: CliContext, args: Args, request: CreateRequest): Promise<string> {
  const policy = str(args.pull) ?? 'missing';
  if (!POLICIES.has(policy)) throw invalidArgs(`invalid --pull "${policy}": want missing, always or never`);
  const client = ctx.client();
  const canPull = request.externalRootfs === undefined && request.image !== 'none' && request.image !== 'none:latest';
  const pull = (): Promise<unknown> => pullWithProgress(client, request.image, request.platform, writeErr, tty.isatty(2));
  const create = async (): Promise<string> => {
    const r = await client.unary('ContainerService/Create', request);
    for (const w of r.warnings ?? []) ctx.err(`WARNING: ${w}`);
    return r.id;
  };
  if (policy === 'always' && canPull) await pull();
  try {
    return await create();
  } catch (e) {
    if (policy !== 'missing' || !canPull || !(e instanceof DaemonError) || e.exitCode !== ExitCode.imageNotFound) throw e;
    ctx.err(`Unable to find image '${request.image}' locally`);
    await pull();
    return await create();
  }
}
