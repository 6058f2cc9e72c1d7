/** Docker's HumanDuration: "Less than a second", "5 seconds", "About a minute", "3 hours", ... */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(ms / 60_000);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(ms / 3_600_000);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.round(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.round(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.round(h / 24 / 30)} months`;
  return `${Math.round(h / 24 / 365)} years`;
}

export function ago(iso: string, now = Date.now()): string {
  return `${humanDuration(now - Date.parse(iso))} ago`;
}

/**
 * --since/--until values: RFC3339 times, Unix seconds (with fraction), or durations
 * before now such as 10m. Returns nanoseconds since the epoch as a decimal string.
 */
export function parseTimeArg(text: string, now = Date.now()): string | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) {
    const [sec = '0', frac = ''] = text.split('.');
    return (BigInt(sec) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9) || '0')).toString();
  }
  const rel = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (rel) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[rel[2] as 'ms' | 's' | 'm' | 'h'];
    return (BigInt(Math.round(now - Number(rel[1]) * unit)) * 1_000_000n).toString();
  }
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : (BigInt(t) * 1_000_000n).toString();
}
