import { invalidArgs, toEngineError } from '../../api/errors.js';
import { ConnectError } from '../../client/transport.js';
import type { CliContext } from '../context.js';

/**
 * Runs a verb on each named container, printing each name that succeeded and one error
 * line for each that did not; the exit code is the last failure's, as iSulad's client.
 */
export async function eachContainer(
  ctx: CliContext,
  refs: string[],
  verb: string,
  action: (ref: string) => Promise<unknown>,
  printRef = true,
): Promise<number> {
  if (refs.length === 0) throw invalidArgs(`"${verb}" requires at least 1 argument`);
  let code = 0;
  for (const ref of refs) {
    try {
      await action(ref);
      if (printRef) ctx.out(ref);
    } catch (e) {
      if (e instanceof ConnectError) throw e;
      const err = toEngineError(e);
      ctx.err(`Error response from daemon: ${err.message}`);
      code = err.exitCode;
    }
  }
  return code;
}
