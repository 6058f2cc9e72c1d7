/** `-f key=value` flags as the daemon takes them: values by key. */
export function filtersOf(list: string[]): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const f of list) {
    const eq = f.indexOf('=');
    (filters[eq < 0 ? f : f.slice(0, eq)] ??= []).push(eq < 0 ? '' : f.slice(eq + 1));
  }
  return filters;
}
