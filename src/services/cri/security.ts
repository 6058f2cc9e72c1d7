/**
 * CRI's security fields as the engine's: seccomp and AppArmor SecurityProfiles (and their
 * deprecated string forms), user namespaces, sysctls. What the LXC runtime cannot do is
 * refused by name: a field that changes security is never accepted and ignored.
 */
import fs from 'node:fs';
import { NamespaceMode, type NamespaceOption, type SecurityProfile, SecurityProfile_ProfileType as ProfileType } from '../../api/cri/gen/api_pb.js';
import { invalidArgs } from '../../api/errors.js';
import { lxcSeccompOf } from '../../runtime/lxc/seccomp.js';
import { BoundedReadError, readBoundedRegularFileSync } from '../../sys/bounded-read.js';

/** A seccomp profile is a few tens of KiB (Docker's default: 20 KiB). */
const MAX_SECCOMP_PROFILE = 1024 * 1024;

type Profile = { type: 'default' } | { type: 'unconfined' } | { type: 'localhost'; ref: string };

/** The SecurityProfile, else the deprecated string ("runtime/default", "unconfined", "localhost/<ref>", "docker/default"). */
function profileOf(field: string, p: SecurityProfile | undefined, deprecated: string): Profile | undefined {
  if (p) {
    if (p.profileType === ProfileType.Unconfined) return { type: 'unconfined' };
    if (p.profileType === ProfileType.Localhost) {
      if (p.localhostRef === '') throw invalidArgs(`${field}: a Localhost profile needs localhost_ref`);
      return { type: 'localhost', ref: p.localhostRef };
    }
    return { type: 'default' };
  }
  if (deprecated === '') return undefined;
  if (deprecated === 'unconfined') return { type: 'unconfined' };
  if (deprecated === 'runtime/default' || deprecated === 'docker/default') return { type: 'default' };
  if (deprecated.startsWith('localhost/')) return { type: 'localhost', ref: deprecated.slice('localhost/'.length) };
  throw invalidArgs(`${field}: unknown profile "${deprecated}"`);
}

/**
 * The container's seccomp: undefined for the engine's default profile (RuntimeDefault, and no
 * profile given), 'unconfined', or a Localhost profile's JSON, checked now so a profile LXC
 * cannot load is refused at create.
 */
export function seccompOf(field: string, p: SecurityProfile | undefined, deprecated: string): string | undefined {
  const profile = profileOf(field, p, deprecated);
  if (!profile || profile.type === 'default') return undefined;
  if (profile.type === 'unconfined') return 'unconfined';
  if (!profile.ref.startsWith('/')) throw invalidArgs(`${field}: localhost profile "${profile.ref}" must be an absolute path`);
  let text: string;
  try {
    text = readBoundedRegularFileSync(profile.ref, MAX_SECCOMP_PROFILE).toString('utf8');
  } catch (e) {
    if (e instanceof BoundedReadError) throw invalidArgs(`${field}: localhost profile ${profile.ref}: ${e.message}`);
    throw invalidArgs(`${field}: cannot read localhost profile ${profile.ref}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    lxcSeccompOf(text, []);
  } catch (e) {
    throw invalidArgs(`${field}: localhost profile ${profile.ref}: ${(e as Error).message}`);
  }
  return text;
}

const APPARMOR_ENABLED = '/sys/module/apparmor/parameters/enabled';
const APPARMOR_PROFILES = '/sys/kernel/security/apparmor/profiles';

function apparmorEnabled(): boolean {
  try {
    return fs.readFileSync(APPARMOR_ENABLED, 'utf8').trim() === 'Y';
  } catch {
    return false;
  }
}

function apparmorLoaded(name: string): boolean {
  try {
    return fs
      .readFileSync(APPARMOR_PROFILES, 'utf8')
      .split('\n')
      .some((line) => line.replace(/ \([a-z]+\)$/, '') === name);
  } catch {
    return false;
  }
}

/**
 * The container's AppArmor profile for LXC: RuntimeDefault is LXC's generated profile where the
 * host has AppArmor and nothing where it has not (containerd does the same); a Localhost profile
 * must be loaded, on a host with AppArmor, or it is refused.
 */
export function apparmorOf(field: string, p: SecurityProfile | undefined, deprecated: string): string | undefined {
  const profile = profileOf(field, p, deprecated);
  if (!profile) return undefined;
  if (profile.type === 'unconfined') return 'unconfined';
  if (profile.type === 'default') return apparmorEnabled() ? 'generated' : undefined;
  if (!apparmorEnabled()) throw invalidArgs(`${field}: AppArmor is not enabled on this host; localhost profile "${profile.ref}" cannot be applied`);
  if (!/^[^\s\r\n]+$/.test(profile.ref) || !apparmorLoaded(profile.ref)) throw invalidArgs(`${field}: AppArmor profile "${profile.ref}" is not loaded`);
  return profile.ref;
}

/** User namespaces: NODE (the host's ids) is what the engine runs; a pod's own id mappings are not supported. */
export function checkUserns(field: string, ns: NamespaceOption | undefined): void {
  const userns = ns?.usernsOptions;
  if (!userns || userns.mode === NamespaceMode.NODE) return;
  if (userns.mode === NamespaceMode.POD)
    throw invalidArgs(`${field}.userns_options: mode POD (a user namespace with id mappings) is not supported by this engine; only NODE`);
  throw invalidArgs(`${field}.userns_options: mode ${NamespaceMode[userns.mode] ?? userns.mode} is not valid for a user namespace (POD or NODE)`);
}

/** Sysctls of the IPC namespace (Kubernetes' list of namespaced sysctls). */
const IPC_SYSCTLS = new Set([
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
]);

/**
 * A pod's sysctls: only namespaced ones (IPC's and net.*), as Kubernetes allows; none of a
 * namespace the pod shares with the host, which would change the node's. `a/b/c` is `a.b.c`.
 */
export function podSysctls(sysctls: Record<string, string>, hostNetwork: boolean, hostIpc: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [raw, value] of Object.entries(sysctls)) {
    const key = raw.includes('/') ? raw.replaceAll('/', '.') : raw;
    const ipc = IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.');
    const netns = key.startsWith('net.');
    if (!ipc && !netns)
      throw invalidArgs(`sysctl "${raw}" is not namespaced: a pod may set only IPC (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*) and net.* sysctls`);
    if (ipc && hostIpc) throw invalidArgs(`sysctl "${raw}" is refused: the pod uses the host's IPC namespace`);
    if (netns && hostNetwork) throw invalidArgs(`sysctl "${raw}" is refused: the pod uses the host's network namespace`);
    out[key] = value;
  }
  return out;
}
