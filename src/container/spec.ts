import path from 'node:path';
import type { NamespaceKind } from '../api/containers.js';
import { failedPrecondition } from '../api/errors.js';
import type { ContainerStore } from './store.js';
import type { Runtime, RuntimeSpec } from '../runtime/runtime.js';
import type { RuntimeTable } from '../runtime/table.js';
import type { ContainerDefaults } from './defaults.js';
import type { Container } from './container.js';
import type { HostConfig } from './record.js';
import { resolveUser } from './user.js';

/** The runtime the container's record names. */
export function runtimeOf(runtimes: RuntimeTable, c: Container): Runtime {
  return runtimes.get(c.record.host.Runtime);
}

/** Cgroup of a container relative to each hierarchy's root: <parent>/<id>. */
export function cgroupPathOf(c: Container, defaults: ContainerDefaults): string {
  const parent = (c.record.host.CgroupParent || defaults.cgroupParent).replace(/^\/+|\/+$/g, '');
  return parent ? `${parent}/${c.id}` : c.id;
}

/**
 * The namespace files a start joins: a `container:<id>` share names that container's running
 * init (a pod's pause), looked up now since its pid changes with every run.
 */
export function sharedNamespaces(store: ContainerStore, c: Container): RuntimeSpec['namespaces'] {
  const shares = c.record.host.Namespaces;
  if (!shares) return undefined;
  const out: NonNullable<RuntimeSpec['namespaces']> = {};
  for (const [kind, value] of Object.entries(shares) as [NamespaceKind, string][]) {
    // The node's: the daemon's own (pid 1's may be unreadable in a sandbox), by its pid now.
    if (value === 'host') {
      out[kind] = `/proc/${process.pid}/ns/${kind}`;
      continue;
    }
    if (!value.startsWith('container:')) {
      out[kind] = value;
      continue;
    }
    const target = store.find(value.slice('container:'.length));
    if (!target?.state.Running) throw failedPrecondition(`cannot join the ${kind} namespace of container ${value.slice(10, 22)}: it is not running`);
    out[kind] = `/proc/${target.state.Pid}/ns/${kind}`;
  }
  return out;
}

/**
 * Whether the engine writes /etc/`name` (hostname, hosts, resolv.conf) for the container, in
 * its directory: not when a mount of the container's covers it (a pod's container binds its
 * pod's), which would hide it, as Docker skips its own. A system container gets them written
 * into its rootfs at start, always.
 */
export function ownEtcFile(host: HostConfig, name: string): boolean {
  return host.SystemContainer || !host.Mounts.some((m) => m.destination === `/etc/${name}`);
}

/** The file the container sees at /etc/`name`: its own, or the source of the mount that covers it. */
export function etcFilePath(c: Container, name: string): string {
  const own = path.join(c.dir, name);
  if (ownEtcFile(c.record.host, name)) return own;
  return c.record.host.Mounts.find((m) => m.destination === `/etc/${name}`)?.source ?? own;
}

/** Derives what the runtime needs from the container's records. */
export function runtimeSpecOf(c: Container, defaults: ContainerDefaults): RuntimeSpec {
  const { config: cfg, host } = c.record;
  const rootfsIsDir = cfg.BaseFs !== '' && !cfg.BaseFs.startsWith('/dev/');
  const resolved = resolveUser(cfg.Config.User, rootfsIsDir ? cfg.BaseFs : '/');
  const added = host.GroupAdd ?? [];
  const user =
    added.length > 0 || host.GroupsStrict ? { ...resolved, groups: [...new Set([...(host.GroupsStrict ? [] : resolved.groups), ...added])] } : resolved;
  return {
    id: c.id,
    hostname: cfg.Config.Hostname,
    rootfs: { kind: rootfsIsDir ? 'dir' : 'block', path: cfg.BaseFs },
    readOnly: host.ReadonlyRootfs,
    args: [cfg.Path, ...cfg.Args],
    env: cfg.Config.Env,
    workdir: cfg.Config.WorkingDir,
    user,
    tty: cfg.Config.Tty,
    openStdin: cfg.Config.OpenStdin,
    mounts: [...host.ImageMounts, ...host.Mounts],
    resources: host.Resources,
    capAdd: host.CapAdd,
    capDrop: host.CapDrop,
    privileged: host.Privileged,
    devices: host.Devices,
    ulimits: host.Ulimits,
    systemContainer: host.SystemContainer,
    cgroupPath: cgroupPathOf(c, defaults),
    networkMode: host.NetworkMode,
    hooks: host.Hooks,
    ...(host.Sysctls ? { sysctls: host.Sysctls } : {}),
    ...(host.SeccompProfile !== undefined ? { seccompProfile: host.SeccompProfile } : {}),
    ...(host.AppArmorProfile !== undefined ? { apparmorProfile: host.AppArmorProfile } : {}),
    ...(host.NoNewPrivileges ? { noNewPrivileges: true } : {}),
    ...(host.MaskedPaths?.length ? { maskedPaths: host.MaskedPaths } : {}),
    ...(host.ReadonlyPaths?.length ? { readonlyPaths: host.ReadonlyPaths } : {}),
    etcFiles: {
      ...(ownEtcFile(host, 'hostname') ? { hostname: path.join(c.dir, 'hostname') } : {}),
      ...(ownEtcFile(host, 'hosts') ? { hosts: path.join(c.dir, 'hosts') } : {}),
      ...(ownEtcFile(host, 'resolv.conf') ? { resolvConf: path.join(c.dir, 'resolv.conf') } : {}),
    },
  };
}
