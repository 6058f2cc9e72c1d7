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
