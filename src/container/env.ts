const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** User env wins over image env for the same key (iSulad's merge). */
export function mergeEnv(imageEnv: string[], userEnv: string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...imageEnv, ...userEnv]) {
    const eq = e.indexOf('=');
    out.set(eq < 0 ? e : e.slice(0, eq), e);
  }
  if (![...out.keys()].includes('PATH')) out.set('PATH', DEFAULT_PATH);
  return [...out.values()];
}
