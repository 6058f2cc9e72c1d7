/** Resolves true if `p` settles within `ms`, false otherwise. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const done = p.then(() => true as const);
  const result = await Promise.race([done, timeout]);
  clearTimeout(timer);
  return result;
}

/** Checks `condition` every `intervalMs` for up to `ms`; resolves whether it came true. */
export async function waitUntil(condition: () => boolean, ms: number, intervalMs: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; !condition(); await new Promise((r) => setTimeout(r, intervalMs))) {
    if (Date.now() >= deadline) return false;
  }
  return true;
}

/**
 * Promise.all that waits for every step, then throws the first failure in the given order:
 * nothing is still running behind an error (the caller undoes what the steps made).
 */
export async function settleAll<T extends readonly unknown[]>(steps: [...T]): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(steps);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}
