/**
 * OCI (Docker) JSON seccomp profiles in LXC's own format (lxc.container.conf(5), "SECCOMP
 * CONFIGURATION", version 2): LXC 5 loads only its format, Kubernetes' Localhost profiles and
 * Docker's default profile are JSON.
 */
import os from 'node:os';

interface JsonArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

interface JsonConditions {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

interface JsonRule {
  names?: string[];
  name?: string;
  action: string;
  errnoRet?: number;
  args?: JsonArg[] | null;
  includes?: JsonConditions;
  excludes?: JsonConditions;
}

interface JsonProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  syscalls?: JsonRule[] | null;
}

const OPS = new Set(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']);
const NAME_RE = /^[a-z0-9_]+$/;
/** Docker's names of architectures (Go's), as `includes.arches` uses them. */
const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', s390x: 's390x', ppc64: 'ppc64le', riscv64: 'riscv64' };

function action(name: string, errno: number | undefined, where: string): string {
  switch (name) {
    case 'SCMP_ACT_ALLOW':
    // Allowed and logged: LXC has no log action; what the process may do is the same.
    case 'SCMP_ACT_LOG':
      return 'allow';
    case 'SCMP_ACT_ERRNO':
      return `errno ${errno ?? 1}`;
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
    case 'SCMP_ACT_KILL_PROCESS':
      return 'kill';
    case 'SCMP_ACT_TRAP':
      return 'trap';
    default:
      throw new Error(`${where}: action ${name} is not supported by the LXC runtime`);
  }
}

const kernelAtLeast = (min: string): boolean => {
  const have = os.release().split(/[.-]/).map(Number);
  const want = min.split('.').map(Number);
  for (let i = 0; i < want.length; i++) {
    const h = have[i] ?? 0;
    const w = want[i] ?? 0;
    if (h !== w) return h > w;
  }
  return true;
};

/** Whether a rule's includes/excludes hold for this host and the container's capabilities. */
function applies(rule: JsonRule, caps: Set<string>): boolean {
  const arch = GOARCH[process.arch] ?? process.arch;
  const inc = rule.includes ?? {};
  const exc = rule.excludes ?? {};
  if (inc.arches?.length && !inc.arches.includes(arch)) return false;
  if (inc.caps?.length && !inc.caps.every((c) => caps.has(c.replace(/^CAP_/, '')))) return false;
  if (inc.minKernel && !kernelAtLeast(inc.minKernel)) return false;
  if (exc.arches?.includes(arch)) return false;
  if (exc.caps?.some((c) => caps.has(c.replace(/^CAP_/, '')))) return false;
  if (exc.minKernel && kernelAtLeast(exc.minKernel)) return false;
  return true;
}

/**
 * The profile as LXC's text; `caps` (without CAP_, upper case) decide Docker's per-capability
 * rules. Throws a one-line error naming what cannot be expressed.
 */
export function lxcSeccompOf(json: string, caps: readonly string[]): string {
  let p: JsonProfile;
  try {
    p = JSON.parse(json) as JsonProfile;
  } catch (e) {
    throw new Error(`seccomp profile is not JSON: ${(e as Error).message}`);
  }
  if (typeof p !== 'object' || p === null || typeof p.defaultAction !== 'string') throw new Error('seccomp profile has no defaultAction');
  const capSet = new Set(caps.map((c) => c.toUpperCase()));
  const lines = ['2', p.defaultAction === 'SCMP_ACT_ALLOW' ? 'denylist' : `allowlist ${action(p.defaultAction, p.defaultErrnoRet, 'defaultAction')}`, '[all]'];
  for (const [i, rule] of (p.syscalls ?? []).entries()) {
    const where = `seccomp profile rule ${i}`;
    if (typeof rule !== 'object' || rule === null || typeof rule.action !== 'string') throw new Error(`${where}: no action`);
    const names = [...(rule.names ?? []), ...(rule.name ? [rule.name] : [])];
    const act = action(rule.action, rule.errnoRet, where);
    const args = (rule.args ?? []).map((a) => {
      if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5 || !OPS.has(a.op) || !Number.isSafeInteger(a.value) || a.value < 0)
        throw new Error(`${where}: invalid argument condition ${JSON.stringify(a)}`);
      return `[${a.index},${a.value},${a.op},${a.valueTwo ?? 0}]`;
    });
    for (const name of names) if (!NAME_RE.test(name)) throw new Error(`${where}: invalid syscall name ${JSON.stringify(name)}`);
    if (!applies(rule, capSet)) continue;
    for (const name of names) lines.push([name, act, ...args].join(' '));
  }
  return `${lines.join('\n')}\n`;
}
