import os from 'node:os';

/** SIGTERM, TERM, term or 15 → 15; undefined when unknown. */
export function signalNumber(text: string): number | undefined {
  const t = text.trim().toUpperCase();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return n > 0 && n < 65 ? n : undefined;
  }
  const name = (t.startsWith('SIG') ? t : `SIG${t}`) as NodeJS.Signals;
  const n = (os.constants.signals as Record<string, number>)[name];
  if (n !== undefined) return n;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name);
  if (rt) return 34 + Number(rt[1] ?? 0);
  return undefined;
}
