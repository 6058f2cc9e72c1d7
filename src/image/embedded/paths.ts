/** Small path helpers shared by the embedded manifest checks. */

/** A path as shown in an error: verbatim, unless control characters would break the one-line message. */
export function describePath(p: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
  return /[\x00-\x1f\x7f]/.test(p) ? JSON.stringify(p) : p;
}

export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Whether `p` (absolute, normalized) is `dir` itself or lies below it. */
export function isInside(dir: string, p: string): boolean {
  if (dir === '/') return true;
  return p === dir || p.startsWith(`${dir}/`);
}
