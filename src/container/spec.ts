import path from 'node:path';
import type { Runtime, RuntimeSpec } from '../runtime/runtime.js';
import type { RuntimeTable } from '../runtime/table.js';
import type { ContainerDefaults } from './defaults.js';
import type { Container } from './container.js';
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

/** Derives what the runtime needs from the container's records. */
export function runtimeSpecOf(c: Container, defaults: ContainerDefaults): RuntimeSpec {
  const { config: cfg, host } = c.record;
  const rootfsIsDir = cfg.BaseFs !== '' && !cfg.BaseFs.startsWith('/dev/');
  const user = resolveUser(cfg.Config.User, rootfsIsDir ? cfg.BaseFs : '/');
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
    etcFiles: {
      hostname: path.join(c.dir, 'hostname'),
      hosts: path.join(c.dir, 'hosts'),
      resolvConf: path.join(c.dir, 'resolv.conf'),
    },
  };
}
