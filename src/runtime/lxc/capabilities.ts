/** Docker's default capability set, which iSulad uses too. */
export const DEFAULT_CAPS = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FSETID',
  'FOWNER',
  'MKNOD',
  'NET_RAW',
  'SETGID',
  'SETUID',
  'SETFCAP',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'SYS_CHROOT',
  'KILL',
  'AUDIT_WRITE',
];

/** What iSulad adds for --system-container (specs_security.c). */
export const SYSTEM_CONTAINER_CAPS = ['SYS_BOOT', ...DEFAULT_CAPS];

export const ALL_CAPS = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
];

export function normalizeCap(name: string): string {
  return name.toUpperCase().replace(/^CAP_/, '');
}

/** The capabilities a container keeps, or undefined for "all" (privileged or --cap-add ALL without drops). */
export function effectiveCaps(base: string[], add: string[], drop: string[], privileged: boolean): string[] | undefined {
  const adds = add.map(normalizeCap);
  const drops = drop.map(normalizeCap);
  if (privileged && drops.length === 0) return undefined;
  let caps = new Set(privileged || adds.includes('ALL') ? ALL_CAPS : base);
  for (const c of adds) if (c !== 'ALL') caps.add(c);
  if (drops.includes('ALL')) caps = new Set(adds.filter((c) => c !== 'ALL'));
  for (const c of drops) caps.delete(c);
  if (caps.size === ALL_CAPS.length) return undefined;
  return [...caps];
}

export function unknownCaps(names: string[]): string[] {
  return names.map(normalizeCap).filter((c) => c !== 'ALL' && !ALL_CAPS.includes(c));
}
